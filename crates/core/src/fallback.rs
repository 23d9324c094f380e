//! The gateway's fallback chain across providers: its entries (another Claude model, or a model
//! of OpenAI, of Gemini's OpenAI-compatible endpoint or of any OpenAI-compatible server), and
//! the gate that decides, per requested model, when traffic may leave Claude and when it comes
//! back.
//!
//! The gate is pure: the engine tells it the model's verdict (from the monitor's snapshot, or
//! from the gateway's own traffic when no monitor runs) and what each attempt gave, and it
//! answers where the next request goes. Other providers are used only after the requested
//! model's verdict has been overloaded or in outage for the configured time (the seed's "529s
//! persist > 5 minutes"); while traffic is elsewhere, one request every 30 seconds still tries
//! Claude first, and traffic returns once the verdict is operational again.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::level::Level;

/// How long a model's verdict must have been overloaded or in outage before another provider is
/// used, unless configured otherwise: the seed's five minutes.
pub const DEFAULT_FALLBACK_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

/// While traffic for a model is on another provider, one request this often tries Claude first.
pub const RECOVERY_TRY_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// OpenAI's API, unless `OPENAI_BASE_URL` says otherwise.
pub const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Gemini's OpenAI-compatible endpoint, unless `GEMINI_BASE_URL` says otherwise.
pub const GEMINI_DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta/openai";

/// The most entries one chain may have.
pub const MAX_CHAIN: usize = 8;

/// The most models the gate keeps state for; a stream of odd model ids cannot grow it further.
const MAX_GATED_MODELS: usize = 64;

/// A provider other than Anthropic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// OpenAI's Chat Completions API.
    OpenAi,
    /// Gemini through its OpenAI-compatible endpoint.
    Gemini,
    /// Any server that speaks Chat Completions, declared by name with its base URL (a local
    /// server, a company's own deployment).
    Compatible(String),
}

impl Provider {
    /// The name a chain entry starts with: `openai`, `gemini`, `openai-compatible:NAME`.
    pub fn label(&self) -> String {
        match self {
            Provider::OpenAi => "openai".to_owned(),
            Provider::Gemini => "gemini".to_owned(),
            Provider::Compatible(name) => format!("openai-compatible:{name}"),
        }
    }

    /// The environment variable that holds its key: `OPENAI_API_KEY`, `GEMINI_API_KEY`, or
    /// `NAME_API_KEY` (upper case, `-` as `_`).
    pub fn key_env(&self) -> String {
        match self {
            Provider::OpenAi => "OPENAI_API_KEY".to_owned(),
            Provider::Gemini => "GEMINI_API_KEY".to_owned(),
            Provider::Compatible(name) => format!("{}_API_KEY", env_name(name)),
        }
    }

    /// The environment variable that overrides its base URL, for OpenAI and Gemini.
    pub fn base_url_env(&self) -> Option<&'static str> {
        match self {
            Provider::OpenAi => Some("OPENAI_BASE_URL"),
            Provider::Gemini => Some("GEMINI_BASE_URL"),
            Provider::Compatible(_) => None,
        }
    }

    /// The base URL used when nothing overrides it; an OpenAI-compatible server has none.
    pub fn default_base_url(&self) -> Option<&'static str> {
        match self {
            Provider::OpenAi => Some(OPENAI_DEFAULT_BASE_URL),
            Provider::Gemini => Some(GEMINI_DEFAULT_BASE_URL),
            Provider::Compatible(_) => None,
        }
    }

    /// OpenAI and Gemini refuse a request without a key; a local server often needs none.
    pub fn key_required(&self) -> bool {
        !matches!(self, Provider::Compatible(_))
    }

    /// The keychain account its key is kept under (`provider:openai`).
    pub fn keychain_account(&self) -> String {
        match self {
            Provider::OpenAi => "provider:openai".to_owned(),
            Provider::Gemini => "provider:gemini".to_owned(),
            Provider::Compatible(name) => format!("provider:{name}"),
        }
    }

    /// The key of the model's row in LiteLLM's price table: OpenAI's rows are keyed by the bare
    /// model, Gemini's by `gemini/<model>`. An OpenAI-compatible server's models have no price.
    pub fn price_key(&self, model: &str) -> Option<String> {
        match self {
            Provider::OpenAi => Some(model.to_owned()),
            Provider::Gemini => Some(format!("gemini/{model}")),
            Provider::Compatible(_) => None,
        }
    }
}

/// `my-server` as an environment variable's stem: `MY_SERVER`.
fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `name` can name an OpenAI-compatible provider: 1–32 of `a-z`, `0-9`, `-`, `_`,
/// starting with a letter, so that it makes a clean environment variable and keychain account.
pub fn is_provider_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
        && !matches!(name, "openai" | "gemini" | "anthropic" | "claude")
}

/// One entry of the fallback chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Another Claude model, used per request after the retries (the behaviour before other
    /// providers existed).
    Claude { model: String },
    /// A model of another provider, behind the gate.
    Provider { provider: Provider, model: String },
}

impl Target {
    /// Reads a chain entry: `claude-sonnet-5-5`, `openai:gpt-4o`, `gemini:gemini-2.5-flash` or
    /// `openai-compatible:NAME:MODEL` (the model may itself hold `:` and `/`, as Ollama's and
    /// vLLM's do).
    pub fn parse(entry: &str) -> Result<Target, String> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err("an empty fallback entry".to_owned());
        }
        if entry.len() > 200 {
            return Err("a fallback entry longer than 200 characters".to_owned());
        }
        let model_ok = |model: &str| {
            !model.is_empty()
                && model.len() <= 128
                && model.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '/' | '@')
                })
        };
        let (provider, model) = if let Some(model) = entry.strip_prefix("openai:") {
            (Provider::OpenAi, model)
        } else if let Some(model) = entry.strip_prefix("gemini:") {
            (Provider::Gemini, model)
        } else if let Some(rest) = entry.strip_prefix("openai-compatible:") {
            let Some((name, model)) = rest.split_once(':') else {
                return Err(format!(
                    "{entry:?} names no model: write openai-compatible:NAME:MODEL"
                ));
            };
            if !is_provider_name(name) {
                return Err(format!(
                    "{name:?} is not a provider name (lower-case letters, digits, - and _)"
                ));
            }
            (Provider::Compatible(name.to_owned()), model)
        } else if entry.contains(':') {
            return Err(format!(
                "{entry:?} is not a fallback target: write a Claude model, openai:MODEL, \
                 gemini:MODEL or openai-compatible:NAME:MODEL"
            ));
        } else {
            let claude_ok = entry.len() <= 100
                && entry
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if !claude_ok {
                return Err(format!(
                    "{entry:?} is not a model id such as claude-sonnet-5-5"
                ));
            }
            return Ok(Target::Claude {
                model: entry.to_owned(),
            });
        };
        if !model_ok(model) {
            return Err(format!("{entry:?} names no model, or an odd one"));
        }
        Ok(Target::Provider {
            provider,
            model: model.to_owned(),
        })
    }

    /// The provider, for another provider's target.
    pub fn provider(&self) -> Option<&Provider> {
        match self {
            Target::Claude { .. } => None,
            Target::Provider { provider, .. } => Some(provider),
        }
    }

    /// The model the target asks for.
    pub fn model(&self) -> &str {
        match self {
            Target::Claude { model } | Target::Provider { model, .. } => model,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Claude { model } => f.write_str(model),
            Target::Provider { provider, model } => write!(f, "{}:{model}", provider.label()),
        }
    }
}

/// Reads a whole chain, best first. It must start with a Claude model (the chain begins at the
/// model a request asks for), name no entry twice, have a second entry to move to, and hold at
/// most [`MAX_CHAIN`] entries.
pub fn parse_chain(entries: &[String]) -> Result<Vec<Target>, String> {
    let entries: Vec<&str> = entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    if entries.len() > MAX_CHAIN {
        return Err(format!("at most {MAX_CHAIN} fallback entries"));
    }
    let mut chain = Vec::with_capacity(entries.len());
    for entry in entries {
        let target = Target::parse(entry)?;
        if chain.contains(&target) {
            return Err(format!("{entry:?} is named twice"));
        }
        chain.push(target);
    }
    if !matches!(chain[0], Target::Claude { .. }) {
        return Err(format!(
            "the chain starts at the Claude model a request asks for, not at {}",
            chain[0]
        ));
    }
    if chain.len() == 1 {
        return Err(format!("{} has no second entry to fall back to", chain[0]));
    }
    // Claude models come first and other providers after them: a request moves down Claude's
    // models per request, and only then, behind the gate, to another provider.
    if let Some(window) = chain
        .windows(2)
        .find(|w| w[0].provider().is_some() && w[1].provider().is_none())
    {
        return Err(format!(
            "{} comes after {}: list the Claude models first, then the other providers",
            window[1], window[0]
        ));
    }
    Ok(chain)
}

/// Whether `model` (as a request names it) is the chain's Claude `entry`: the same id, or a
/// dated id of that alias (`claude-sonnet-4-5-20250929` is `claude-sonnet-4-5`).
pub fn names_model(entry: &str, model: &str) -> bool {
    model == entry
        || model.strip_prefix(entry).is_some_and(|rest| {
            rest.len() > 1 && rest.starts_with('-') && rest[1..].bytes().all(|b| b.is_ascii_digit())
        })
}

/// The entries after `model`'s place in the chain, in order. A model outside the chain has none:
/// a request for Haiku is never sent to Opus, or to another provider, because the chain was
/// written for Opus.
pub fn after_model<'a>(chain: &'a [Target], model: &str) -> &'a [Target] {
    let position = chain.iter().position(|target| match target {
        Target::Claude { model: entry } => names_model(entry, model),
        Target::Provider { .. } => false,
    });
    match position {
        Some(position) => &chain[position + 1..],
        None => &[],
    }
}

/// Where the next request for a model goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// To Claude, as usual.
    Claude,
    /// Traffic is on another provider, and this request is the one of its 30 seconds that tries
    /// Claude first, once and without retries.
    RecoveryTry,
    /// Traffic is on another provider: straight there.
    Provider,
}

/// A move of a model's traffic to another provider, or back: a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "move", rename_all = "snake_case")]
pub enum GateNotice {
    /// Requests for `model` are now served by `target`.
    Moved {
        model: String,
        target: String,
        at: DateTime<Utc>,
        /// Why, with the numbers ("overloaded for 6 min").
        reason: String,
    },
    /// Requests for `model` go to Claude again.
    Back {
        model: String,
        /// Where they were.
        target: String,
        at: DateTime<Utc>,
        /// How long traffic was elsewhere.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        away_secs: u64,
    },
}

#[derive(Debug, Clone, Default)]
struct GateEntry {
    level: Option<Level>,
    /// When the model's verdict became overloaded or outage (the start of this run of trouble).
    trouble_since: Option<DateTime<Utc>>,
    /// The target serving it now, and since when.
    on: Option<(String, DateTime<Utc>)>,
    /// The verdict was seen other than operational since traffic moved: only then is an
    /// operational verdict a recovery. A move on a single failure (a zero wait) happens while
    /// the verdict is still operational, and that verdict must not bring traffic back at once.
    troubled_since_move: bool,
    last_claude_try: Option<DateTime<Utc>>,
    touched: Option<DateTime<Utc>>,
}

impl GateEntry {
    /// Ends the move: traffic goes to Claude again.
    fn back(&mut self, model: String, now: DateTime<Utc>) -> Option<GateNotice> {
        let (target, since) = self.on.take()?;
        self.last_claude_try = None;
        self.troubled_since_move = false;
        Some(GateNotice::Back {
            model,
            target,
            at: now,
            away_secs: u64::try_from((now - since).num_seconds()).unwrap_or(0),
        })
    }
}

/// The per-model switch between Claude and other providers.
#[derive(Debug, Clone)]
pub struct FallbackGate {
    after: Duration,
    recovery_every: Duration,
    models: BTreeMap<String, GateEntry>,
}

/// Whether a level is one that lets traffic leave Claude.
fn is_trouble(level: Level) -> bool {
    matches!(level, Level::Overloaded | Level::Outage)
}

impl FallbackGate {
    /// A gate that opens after `after` of trouble (zero: on the first failure that survives the
    /// retries).
    pub fn new(after: std::time::Duration) -> FallbackGate {
        FallbackGate {
            after: Duration::from_std(after).unwrap_or(Duration::MAX),
            recovery_every: Duration::from_std(RECOVERY_TRY_EVERY).unwrap_or(Duration::MAX),
            models: BTreeMap::new(),
        }
    }

    /// The configured wait.
    pub fn after(&self) -> std::time::Duration {
        self.after.to_std().unwrap_or_default()
    }

    fn entry(&mut self, model: &str, now: DateTime<Utc>) -> Option<&mut GateEntry> {
        let key = crate::pricing::normalize_model(model);
        if !self.models.contains_key(&key) && self.models.len() >= MAX_GATED_MODELS {
            // Forget the model touched longest ago that is not on another provider.
            let oldest = self
                .models
                .iter()
                .filter(|(_, e)| e.on.is_none())
                .min_by_key(|(_, e)| e.touched)
                .map(|(k, _)| k.clone())?;
            self.models.remove(&oldest);
        }
        let entry = self.models.entry(key).or_default();
        entry.touched = Some(now);
        Some(entry)
    }

    /// The model's verdict now. Trouble starts its clock; a verdict that turns operational
    /// while traffic is elsewhere brings it back (a notice). Other levels (degraded, unknown,
    /// offline) stop the clock but move nothing back: only an operational verdict is evidence
    /// that Claude serves the model again.
    pub fn observe(&mut self, model: &str, level: Level, now: DateTime<Utc>) -> Option<GateNotice> {
        let key = crate::pricing::normalize_model(model);
        let entry = self.entry(model, now)?;
        entry.level = Some(level);
        if level != Level::Operational && entry.on.is_some() {
            entry.troubled_since_move = true;
        }
        if is_trouble(level) {
            entry.trouble_since.get_or_insert(now);
            return None;
        }
        entry.trouble_since = None;
        if level != Level::Operational || !entry.troubled_since_move {
            return None;
        }
        entry.back(key, now)
    }

    /// Claude answered a request for `model` well (the recovery try of its 30 seconds). With the
    /// verdict operational, traffic comes back even if the verdict never left operational (a
    /// move on a brief failure).
    pub fn claude_served(&mut self, model: &str, now: DateTime<Utc>) -> Option<GateNotice> {
        let key = crate::pricing::normalize_model(model);
        let entry = self.entry(model, now)?;
        if entry.level != Some(Level::Operational) {
            return None;
        }
        entry.back(key, now)
    }

    /// Where the next request for `model` goes first. A recovery try is counted when it is
    /// handed out, so two requests at once do not both try Claude.
    pub fn route(&mut self, model: &str, now: DateTime<Utc>) -> Route {
        let every = self.recovery_every;
        let Some(entry) = self.entry(model, now) else {
            return Route::Claude;
        };
        if entry.on.is_none() {
            return Route::Claude;
        }
        let due = entry
            .last_claude_try
            .is_none_or(|last| now - last >= every || now < last);
        if due {
            entry.last_claude_try = Some(now);
            Route::RecoveryTry
        } else {
            Route::Provider
        }
    }

    /// Whether another provider may serve `model` now that Claude's answer still failed after
    /// the retries: `Err` says why not, for the record.
    pub fn provider_allowed(&self, model: &str, now: DateTime<Utc>) -> Result<String, String> {
        let key = crate::pricing::normalize_model(model);
        let entry = self.models.get(&key);
        if entry.is_some_and(|e| e.on.is_some()) {
            return Ok(format!("{key} is served elsewhere until Claude recovers"));
        }
        if self.after <= Duration::zero() {
            return Ok(format!(
                "{key} failed after the retries (fallback after 0 s)"
            ));
        }
        let since = entry.and_then(|e| e.trouble_since);
        match since {
            Some(since) if now - since >= self.after => Ok(format!(
                "{key} has been {} for {}",
                entry
                    .and_then(|e| e.level)
                    .map_or("in trouble", |l| l.as_str()),
                minutes(now - since)
            )),
            Some(since) => Err(format!(
                "{key} has been in trouble for {} only; other providers are used after {}",
                minutes(now - since),
                minutes(self.after)
            )),
            None => Err(format!(
                "{key}'s verdict is {}, not overloaded or outage; other providers are used \
                 after {} of trouble",
                entry
                    .and_then(|e| e.level)
                    .map_or("not known yet", |l| l.as_str()),
                minutes(self.after)
            )),
        }
    }

    /// Another provider served a request for `model`; the first such request moves its traffic
    /// there (a notice).
    pub fn served(
        &mut self,
        model: &str,
        target: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Option<GateNotice> {
        let key = crate::pricing::normalize_model(model);
        let entry = self.entry(model, now)?;
        if let Some((current, _)) = &mut entry.on {
            if current != target {
                // The chain moved further down (the first provider failed too); the user was
                // told traffic left Claude, and the record names each target.
                target.clone_into(current);
            }
            return None;
        }
        entry.on = Some((target.to_owned(), now));
        entry.troubled_since_move = entry.level.is_some_and(|l| l != Level::Operational);
        entry.last_claude_try = Some(now);
        Some(GateNotice::Moved {
            model: key,
            target: target.to_owned(),
            at: now,
            reason: reason.to_owned(),
        })
    }

    /// The target serving `model` now, if it is not Claude.
    pub fn serving(&self, model: &str) -> Option<&str> {
        self.serving_since(model).map(|(target, _)| target)
    }

    /// The target serving `model` now and since when, if it is not Claude.
    pub fn serving_since(&self, model: &str) -> Option<(&str, DateTime<Utc>)> {
        self.models
            .get(&crate::pricing::normalize_model(model))
            .and_then(|e| e.on.as_ref())
            .map(|(target, since)| (target.as_str(), *since))
    }
}

/// "6 min", "45 s": a duration as a notice says it.
fn minutes(duration: Duration) -> String {
    let secs = duration.num_seconds().max(0);
    if secs < 120 {
        format!("{secs} s")
    } else {
        format!("{} min", secs / 60)
    }
}

/// The notification of a move, as the tray, `watch` and the alert channels show it.
pub fn notification(notice: &GateNotice) -> crate::alerts::Notification {
    use crate::alerts::{AlertKind, Notification};
    match notice {
        GateNotice::Moved {
            model,
            target,
            reason,
            at,
        } => Notification {
            kind: AlertKind::ProviderFallback,
            level: Level::Overloaded,
            title: format!(
                "{} requests moved to {target}",
                crate::models::display_name(model)
            ),
            body: format!(
                "The gateway now sends {model} requests to {target}: {reason}. Claude is tried \
                 again every {} s.",
                RECOVERY_TRY_EVERY.as_secs()
            ),
            incident_id: None,
            key: format!("fallback:{model}:moved:{}", at.timestamp()),
            model: Some(model.clone()),
        },
        GateNotice::Back {
            model,
            target,
            away_secs,
            at,
        } => Notification {
            kind: AlertKind::ProviderBack,
            level: Level::Operational,
            title: format!(
                "{} requests are back on Claude",
                crate::models::display_name(model)
            ),
            body: format!(
                "{model} is operational again; the gateway stopped sending its requests to \
                 {target} after {}.",
                minutes(Duration::seconds(
                    i64::try_from(*away_secs).unwrap_or(i64::MAX)
                ))
            ),
            incident_id: None,
            key: format!("fallback:{model}:back:{}", at.timestamp()),
            model: Some(model.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn chain(entries: &[&str]) -> Result<Vec<Target>, String> {
        parse_chain(&entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn entries_are_read() {
        let cases: &[(&str, Result<&str, ()>)] = &[
            ("claude-sonnet-5-5", Ok("claude-sonnet-5-5")),
            (" openai:gpt-4o ", Ok("openai:gpt-4o")),
            ("gemini:gemini-2.5-flash", Ok("gemini:gemini-2.5-flash")),
            (
                "openai-compatible:local:llama3.1:8b",
                Ok("openai-compatible:local:llama3.1:8b"),
            ),
            (
                "openai-compatible:corp-vllm:meta-llama/Llama-3.1-8B",
                Ok("openai-compatible:corp-vllm:meta-llama/Llama-3.1-8B"),
            ),
            ("openai-compatible:local", Err(())),
            ("openai-compatible:Local:x", Err(())),
            ("openai-compatible:openai:x", Err(())),
            ("openai:", Err(())),
            ("mistral:large", Err(())),
            ("claude sonnet", Err(())),
            ("", Err(())),
        ];
        for (entry, expected) in cases {
            let got = Target::parse(entry).map(|t| t.to_string());
            match expected {
                Ok(label) => assert_eq!(got.as_deref(), Ok(*label), "{entry}"),
                Err(()) => assert!(got.is_err(), "{entry}: {got:?}"),
            }
        }
    }

    #[test]
    fn providers_name_their_keys_urls_and_prices() {
        let local = Provider::Compatible("corp-vllm".to_owned());
        assert_eq!(Provider::OpenAi.key_env(), "OPENAI_API_KEY");
        assert_eq!(Provider::Gemini.key_env(), "GEMINI_API_KEY");
        assert_eq!(local.key_env(), "CORP_VLLM_API_KEY");
        assert_eq!(Provider::OpenAi.base_url_env(), Some("OPENAI_BASE_URL"));
        assert_eq!(local.default_base_url(), None);
        assert!(!local.key_required());
        assert_eq!(
            Provider::OpenAi.price_key("gpt-4o").as_deref(),
            Some("gpt-4o")
        );
        assert_eq!(
            Provider::Gemini.price_key("gemini-2.5-flash").as_deref(),
            Some("gemini/gemini-2.5-flash")
        );
        assert_eq!(local.price_key("x"), None);
        assert_eq!(local.keychain_account(), "provider:corp-vllm");
    }

    #[test]
    fn chains_start_at_claude_and_move_down_only_from_their_own_models() {
        assert!(chain(&[]).unwrap().is_empty());
        assert!(chain(&["openai:gpt-4o", "claude-opus-5-5"]).is_err());
        assert!(chain(&["claude-opus-5-5"]).is_err());
        assert!(chain(&["claude-opus-5-5", "openai:gpt-4o", "openai:gpt-4o"]).is_err());
        assert!(chain(&["claude-opus-5-5"; 9]).is_err());
        assert!(chain(&["claude-opus-5-5", "openai:gpt-4o", "claude-sonnet-5-5"]).is_err());
        let mixed = chain(&["claude-opus-5-5", "claude-sonnet-5-5", "openai:gpt-4o"]).unwrap();
        let labels = |model: &str| -> Vec<String> {
            after_model(&mixed, model)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            labels("claude-opus-5-5"),
            ["claude-sonnet-5-5", "openai:gpt-4o"]
        );
        assert_eq!(
            labels("claude-opus-5-5-20261001"),
            labels("claude-opus-5-5")
        );
        assert_eq!(labels("claude-sonnet-5-5"), ["openai:gpt-4o"]);
        assert!(labels("claude-haiku-4-5").is_empty());
        assert!(labels("claude-opus-5-5-fast").is_empty());
        assert!(labels("gpt-4o").is_empty());
    }

    #[test]
    fn the_gate_opens_only_after_the_wait_and_comes_back_on_an_operational_verdict() {
        let mut gate = FallbackGate::new(std::time::Duration::from_secs(300));
        let model = "claude-opus-5-5";
        assert_eq!(gate.route(model, at(0)), Route::Claude);
        assert!(
            gate.provider_allowed(model, at(0)).is_err(),
            "no verdict yet"
        );
        assert_eq!(gate.observe(model, Level::Overloaded, at(10)), None);
        let early = gate.provider_allowed(model, at(100)).unwrap_err();
        assert!(early.contains("90 s only"), "{early}");
        // A later overloaded verdict does not restart the clock.
        gate.observe(model, Level::Outage, at(250));
        let why = gate.provider_allowed(model, at(310)).unwrap();
        assert!(why.contains("outage for 5 min"), "{why}");
        let moved = gate.served(model, "openai:gpt-4o", &why, at(311)).unwrap();
        assert!(matches!(&moved, GateNotice::Moved { target, .. } if target == "openai:gpt-4o"));
        assert_eq!(gate.served(model, "openai:gpt-4o", &why, at(312)), None);
        assert_eq!(gate.serving(model), Some("openai:gpt-4o"));
        // Straight to the provider, except one Claude try every 30 s.
        assert_eq!(gate.route(model, at(320)), Route::Provider);
        assert_eq!(gate.route(model, at(341)), Route::RecoveryTry);
        assert_eq!(gate.route(model, at(342)), Route::Provider);
        assert_eq!(gate.route(model, at(371)), Route::RecoveryTry);
        // Degraded is no evidence of recovery; operational is.
        assert_eq!(gate.observe(model, Level::Degraded, at(380)), None);
        assert_eq!(gate.route(model, at(381)), Route::Provider);
        let back = gate.observe(model, Level::Operational, at(400)).unwrap();
        assert_eq!(
            back,
            GateNotice::Back {
                model: model.to_owned(),
                target: "openai:gpt-4o".to_owned(),
                at: at(400),
                away_secs: 89,
            }
        );
        assert_eq!(gate.route(model, at(401)), Route::Claude);
        assert!(gate.provider_allowed(model, at(401)).is_err());
        // A new run of trouble starts a new clock.
        gate.observe(model, Level::Overloaded, at(500));
        assert!(gate.provider_allowed(model, at(700)).is_err());
        assert!(gate.provider_allowed(model, at(800)).is_ok());
    }

    #[test]
    fn zero_wait_falls_back_on_the_first_failure_that_survives_the_retries() {
        let mut gate = FallbackGate::new(std::time::Duration::ZERO);
        let model = "claude-opus-5-5";
        assert!(gate.provider_allowed(model, at(0)).is_ok());
        assert_eq!(gate.observe(model, Level::Operational, at(1)), None);
        assert!(gate.provider_allowed(model, at(1)).is_ok());
        // A move on one failure happens while the verdict is still operational: that verdict,
        // seen again, does not bring traffic back at once (no notice per request).
        assert!(gate.served(model, "openai:gpt-4o", "test", at(2)).is_some());
        assert_eq!(gate.observe(model, Level::Operational, at(3)), None);
        assert_eq!(gate.serving(model), Some("openai:gpt-4o"));
        // A recovery try Claude answered, with the verdict operational, does.
        assert!(matches!(
            gate.claude_served(model, at(40)),
            Some(GateNotice::Back { .. })
        ));
        assert_eq!(gate.serving(model), None);
        // So does a verdict that went bad and came back.
        gate.served(model, "openai:gpt-4o", "test", at(50));
        gate.observe(model, Level::Overloaded, at(60));
        assert_eq!(
            gate.claude_served(model, at(61)),
            None,
            "not while overloaded"
        );
        assert!(gate.observe(model, Level::Operational, at(90)).is_some());
    }

    #[test]
    fn the_gate_stays_bounded_and_keeps_models_that_are_elsewhere() {
        let mut gate = FallbackGate::new(std::time::Duration::ZERO);
        gate.served("claude-opus-5-5", "openai:gpt-4o", "test", at(0));
        for i in 0..500 {
            gate.observe(&format!("claude-odd-{i}"), Level::Operational, at(i + 1));
        }
        assert!(gate.models.len() <= MAX_GATED_MODELS);
        assert_eq!(gate.serving("claude-opus-5-5"), Some("openai:gpt-4o"));
    }

    #[test]
    fn notices_become_notifications_that_name_the_model_and_target() {
        let moved = notification(&GateNotice::Moved {
            model: "claude-opus-5-5".to_owned(),
            target: "openai:gpt-4o".to_owned(),
            at: at(0),
            reason: "claude-opus-5-5 has been overloaded for 6 min".to_owned(),
        });
        assert_eq!(moved.title, "Opus 5.5 requests moved to openai:gpt-4o");
        assert!(
            moved.body.contains("overloaded for 6 min"),
            "{}",
            moved.body
        );
        assert_eq!(moved.model.as_deref(), Some("claude-opus-5-5"));
        let back = notification(&GateNotice::Back {
            model: "claude-opus-5-5".to_owned(),
            target: "openai:gpt-4o".to_owned(),
            at: at(0),
            away_secs: 900,
        });
        assert_eq!(back.title, "Opus 5.5 requests are back on Claude");
        assert!(back.body.contains("after 15 min"), "{}", back.body);
        assert_ne!(moved.key, back.key);
    }
}
