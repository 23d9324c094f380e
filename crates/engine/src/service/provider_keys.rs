//! The keys of the fallback chain's other providers (OpenAI, Gemini, the declared
//! OpenAI-compatible servers): found in the keychain first (what the user stored from Settings),
//! then in the environment (`OPENAI_API_KEY`, `GEMINI_API_KEY`, `NAME_API_KEY`).
//!
//! A key never leaves the service: front ends get a [`ProviderKeyStatus`], which says where a key
//! is and never what it is, and nothing here logs one.

use std::fmt;

use claude_status_core::fallback::{is_provider_name, Provider};
use claude_status_core::settings::Settings;
use serde::{Deserialize, Serialize};

use super::{KeySource, Secrets};

/// The longest provider key accepted. Longer than Anthropic's 256: a company's own deployment
/// may take a signed token (a JWT) as its key.
const MAX_KEY_LEN: usize = 4096;

/// Where a provider's key in use was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySourceLabel {
    /// The keychain account of [`Provider::keychain_account`].
    Keychain,
    /// This environment variable ([`Provider::key_env`]).
    Environment(String),
}

impl KeySourceLabel {
    /// The source as the settings view reports it.
    pub fn source(&self) -> KeySource {
        match self {
            KeySourceLabel::Keychain => KeySource::Keychain,
            KeySourceLabel::Environment(_) => KeySource::Environment,
        }
    }
}

impl fmt::Display for KeySourceLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySourceLabel::Keychain => f.write_str("stored in the keychain"),
            KeySourceLabel::Environment(var) => write!(f, "from ${var}"),
        }
    }
}

/// The key of `provider` and where it was found: the keychain first, then the environment
/// variable `provider.key_env()`; `None` when neither holds one. The keychain call may block, so
/// call it off the async workers.
pub fn provider_key(
    secrets: &dyn Secrets,
    provider: &Provider,
) -> Option<(String, KeySourceLabel)> {
    provider_key_in(secrets, provider, |var| std::env::var(var).ok())
}

/// [`provider_key`] with the environment as an argument, so tests need not change the process's.
pub fn provider_key_in(
    secrets: &dyn Secrets,
    provider: &Provider,
    env: impl Fn(&str) -> Option<String>,
) -> Option<(String, KeySourceLabel)> {
    let account = provider.keychain_account();
    match secrets.get(&account) {
        Ok(Some(key)) if !key.trim().is_empty() => {
            return Some((key.trim().to_owned(), KeySourceLabel::Keychain));
        }
        Ok(_) => {}
        // A keychain that cannot be read holds no key; the message is the keychain's, never a
        // key.
        Err(e) => tracing::warn!("the keychain could not be read for {account}: {e}"),
    }
    let var = provider.key_env();
    env(&var)
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty())
        .map(|key| (key, KeySourceLabel::Environment(var)))
}

/// The providers the settings can name, in the order Settings lists them: OpenAI, Gemini, then
/// each declared OpenAI-compatible server (`openai` and `gemini` entries only move those
/// providers' base URLs, so they add none).
pub fn providers_of(settings: &Settings) -> Vec<Provider> {
    let mut providers = vec![Provider::OpenAi, Provider::Gemini];
    for endpoint in &settings.gateway_providers {
        if is_provider_name(&endpoint.name) {
            let provider = Provider::Compatible(endpoint.name.clone());
            if !providers.contains(&provider) {
                providers.push(provider);
            }
        }
    }
    providers
}

/// The provider a front end names: `openai`, `gemini`, or a server the settings declare.
pub fn named_provider(settings: &Settings, name: &str) -> Option<Provider> {
    match name {
        "openai" => Some(Provider::OpenAi),
        "gemini" => Some(Provider::Gemini),
        _ => providers_of(settings)
            .into_iter()
            .find(|p| matches!(p, Provider::Compatible(n) if n == name)),
    }
}

/// Whether a provider's key is set, and where: what Settings shows (never the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderKeyStatus {
    /// The name `set_provider_key` takes: `openai`, `gemini`, or the server's name.
    pub name: String,
    /// How the chain names it: `openai`, `gemini`, `openai-compatible:NAME`.
    pub label: String,
    /// The environment variable read when the keychain holds no key.
    pub env_var: String,
    /// Where the key in use comes from.
    pub source: KeySource,
    /// The provider refuses requests without a key (OpenAI and Gemini; a local server often
    /// needs none).
    pub required: bool,
}

/// The key status of every provider the settings can name.
pub fn key_statuses(
    secrets: &dyn Secrets,
    settings: &Settings,
    env: impl Fn(&str) -> Option<String>,
) -> Vec<ProviderKeyStatus> {
    providers_of(settings)
        .into_iter()
        .map(|provider| {
            let source = provider_key_in(secrets, &provider, &env)
                .map_or(KeySource::None, |(_, label)| label.source());
            ProviderKeyStatus {
                name: match &provider {
                    Provider::Compatible(name) => name.clone(),
                    other => other.label(),
                },
                label: provider.label(),
                env_var: provider.key_env(),
                source,
                required: provider.key_required(),
            }
        })
        .collect()
}

/// A provider key as typed: trimmed, one word of at most [`MAX_KEY_LEN`] characters; empty
/// means "remove". The error never repeats the key.
pub fn parse_provider_key(key: Option<&str>) -> Result<Option<String>, String> {
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    if key.len() > MAX_KEY_LEN || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "a provider key is one word of at most {MAX_KEY_LEN} characters"
        ));
    }
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::MemorySecrets;
    use claude_status_core::settings::ProviderEndpoint;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_keychain_comes_before_the_environment() {
        let secrets = MemorySecrets::default();
        let env = |var: &str| (var == "OPENAI_API_KEY").then(|| "sk-env".to_owned());
        assert_eq!(
            provider_key_in(&secrets, &Provider::OpenAi, env),
            Some((
                "sk-env".to_owned(),
                KeySourceLabel::Environment("OPENAI_API_KEY".to_owned())
            ))
        );
        secrets.set("provider:openai", Some("sk-stored")).unwrap();
        assert_eq!(
            provider_key_in(&secrets, &Provider::OpenAi, env),
            Some(("sk-stored".to_owned(), KeySourceLabel::Keychain))
        );
        // Gemini's key is its own account and its own variable.
        assert_eq!(provider_key_in(&secrets, &Provider::Gemini, env), None);
        assert_eq!(provider_key_in(&secrets, &Provider::Gemini, no_env), None);
    }

    #[test]
    fn a_compatible_server_reads_its_own_account_and_variable() {
        let secrets = MemorySecrets::default();
        let local = Provider::Compatible("my-vllm".to_owned());
        let env = |var: &str| (var == "MY_VLLM_API_KEY").then(|| " tok ".to_owned());
        assert_eq!(
            provider_key_in(&secrets, &local, env),
            Some((
                "tok".to_owned(),
                KeySourceLabel::Environment("MY_VLLM_API_KEY".to_owned())
            ))
        );
        secrets.set("provider:my-vllm", Some("stored")).unwrap();
        assert_eq!(
            provider_key_in(&secrets, &local, env).map(|(_, label)| label),
            Some(KeySourceLabel::Keychain)
        );
        // A blank value anywhere is no key.
        secrets.set("provider:my-vllm", Some("  ")).unwrap();
        let blank = |_: &str| Some(String::new());
        assert_eq!(provider_key_in(&secrets, &local, blank), None);
    }

    #[test]
    fn an_unreadable_keychain_falls_back_to_the_environment() {
        #[derive(Debug)]
        struct Broken;
        impl Secrets for Broken {
            fn get(&self, _: &str) -> Result<Option<String>, String> {
                Err("locked".to_owned())
            }
            fn set(&self, _: &str, _: Option<&str>) -> Result<(), String> {
                Err("locked".to_owned())
            }
        }
        let env = |_: &str| Some("sk-env".to_owned());
        assert_eq!(
            provider_key_in(&Broken, &Provider::Gemini, env).map(|(_, l)| l.to_string()),
            Some("from $GEMINI_API_KEY".to_owned())
        );
    }

    #[test]
    fn labels_say_where_a_key_is_never_what() {
        assert_eq!(
            KeySourceLabel::Keychain.to_string(),
            "stored in the keychain"
        );
        assert_eq!(
            KeySourceLabel::Environment("OPENAI_API_KEY".to_owned()).to_string(),
            "from $OPENAI_API_KEY"
        );
    }

    #[test]
    fn statuses_list_openai_gemini_and_the_declared_servers() {
        let secrets = MemorySecrets::default();
        secrets.set("provider:gemini", Some("g-secret")).unwrap();
        let settings = Settings {
            gateway_providers: vec![
                ProviderEndpoint {
                    name: "openai".to_owned(),
                    base_url: "https://proxy.example/v1".to_owned(),
                },
                ProviderEndpoint {
                    name: "local".to_owned(),
                    base_url: "http://127.0.0.1:8000/v1".to_owned(),
                },
            ],
            ..Settings::default()
        };
        let env = |var: &str| (var == "LOCAL_API_KEY").then(|| "l-secret".to_owned());
        let statuses = key_statuses(&secrets, &settings, env);
        let summary: Vec<(&str, &str, &str, KeySource, bool)> = statuses
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.label.as_str(),
                    s.env_var.as_str(),
                    s.source,
                    s.required,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("openai", "openai", "OPENAI_API_KEY", KeySource::None, true),
                (
                    "gemini",
                    "gemini",
                    "GEMINI_API_KEY",
                    KeySource::Keychain,
                    true
                ),
                (
                    "local",
                    "openai-compatible:local",
                    "LOCAL_API_KEY",
                    KeySource::Environment,
                    false
                ),
            ]
        );
        let json = serde_json::to_string(&statuses).unwrap();
        assert!(
            !json.contains("secret"),
            "a status never holds a key: {json}"
        );
    }

    #[test]
    fn only_declared_servers_can_be_named() {
        let mut settings = Settings::default();
        assert_eq!(named_provider(&settings, "openai"), Some(Provider::OpenAi));
        assert_eq!(named_provider(&settings, "gemini"), Some(Provider::Gemini));
        assert_eq!(named_provider(&settings, "local"), None);
        settings.gateway_providers = vec![ProviderEndpoint {
            name: "local".to_owned(),
            base_url: "http://127.0.0.1:8000/v1".to_owned(),
        }];
        assert_eq!(
            named_provider(&settings, "local"),
            Some(Provider::Compatible("local".to_owned()))
        );
        assert_eq!(named_provider(&settings, "anthropic"), None);
    }

    #[test]
    fn a_key_is_one_word_and_the_refusal_does_not_repeat_it() {
        assert_eq!(parse_provider_key(None), Ok(None));
        assert_eq!(parse_provider_key(Some("  ")), Ok(None));
        assert_eq!(
            parse_provider_key(Some(" sk-proj-x ")),
            Ok(Some("sk-proj-x".to_owned()))
        );
        let refused = parse_provider_key(Some("two SECRETWORDS")).unwrap_err();
        assert!(!refused.contains("SECRET"), "{refused}");
        assert!(parse_provider_key(Some(&"x".repeat(MAX_KEY_LEN + 1))).is_err());
        assert!(parse_provider_key(Some(&"x".repeat(MAX_KEY_LEN))).is_ok());
    }
}
