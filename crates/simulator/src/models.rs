//! Model ids as the simulator reads them: normalisation, families, display names, the models `/v1/models` serves, the retired ids that answer 404, and the scope of a per-model overload.

/// The models `/v1/models` lists, newest first: (id, display name, created_at). They are the
/// current models of claude-code.md H5, every model Claude Code 2.1.328 prices under its own
/// name except the retired Sonnet 4.5, so the list and the ids `/v1/messages` serves agree.
///
/// The 4.x dates come from the models' announcements; the 5.x models (Fable and Mythos
/// included) are priced in claude-code.md H5 but their release dates are not in the
/// reference, so those dates are invented, kept in release order (a point release after its
/// base) and before the reference's "as of" month (2026-12).
pub(crate) const MODELS: [(&str, &str, &str); 17] = [
    (
        "claude-fable-5-2",
        "Claude Fable 5.2",
        "2026-11-25T00:00:00Z",
    ),
    (
        "claude-mythos-5-2",
        "Claude Mythos 5.2",
        "2026-11-25T00:00:00Z",
    ),
    ("claude-opus-5-5", "Claude Opus 5.5", "2026-11-18T00:00:00Z"),
    (
        "claude-sonnet-5-5",
        "Claude Sonnet 5.5",
        "2026-11-18T00:00:00Z",
    ),
    (
        "claude-haiku-5-5",
        "Claude Haiku 5.5",
        "2026-11-04T00:00:00Z",
    ),
    (
        "claude-fable-5-1",
        "Claude Fable 5.1",
        "2026-10-21T00:00:00Z",
    ),
    (
        "claude-mythos-5-1",
        "Claude Mythos 5.1",
        "2026-10-21T00:00:00Z",
    ),
    ("claude-opus-5", "Claude Opus 5", "2026-09-09T00:00:00Z"),
    ("claude-sonnet-5", "Claude Sonnet 5", "2026-09-09T00:00:00Z"),
    ("claude-fable-5", "Claude Fable 5", "2026-08-12T00:00:00Z"),
    ("claude-mythos-5", "Claude Mythos 5", "2026-08-12T00:00:00Z"),
    ("claude-opus-4-8", "Claude Opus 4.8", "2026-05-28T00:00:00Z"),
    ("claude-opus-4-7", "Claude Opus 4.7", "2026-04-16T00:00:00Z"),
    (
        "claude-sonnet-4-6",
        "Claude Sonnet 4.6",
        "2026-02-17T00:00:00Z",
    ),
    ("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05T00:00:00Z"),
    ("claude-opus-4-5", "Claude Opus 4.5", "2025-11-24T00:00:00Z"),
    (
        "claude-haiku-4-5",
        "Claude Haiku 4.5",
        "2025-10-01T00:00:00Z",
    ),
];

/// The model `model-overload` overloads unless told otherwise: Claude Code's default model
/// (claude-code.md H1), so a Claude Code session pointed at the simulator meets the storm.
pub(crate) const DEFAULT_OVERLOAD_MODEL: &str = "claude-opus-5-5";

/// Retired model ids and their end of life, from the official SDK's `DEPRECATED_MODELS` table
/// (claude-code.md H7). Every date lies before the reference's "as of" month, so the simulator
/// treats the whole list as retired rather than comparing dates with a clock tests cannot set.
const RETIRED: [(&str, &str); 12] = [
    ("claude-3-opus-20240229", "2026-01-05"),
    ("claude-3-7-sonnet-20250219", "2026-02-19"),
    ("claude-3-7-sonnet-latest", "2026-02-19"),
    ("claude-3-5-haiku-20241022", "2026-02-19"),
    ("claude-3-5-haiku-latest", "2026-02-19"),
    ("claude-opus-4-0", "2026-06-15"),
    ("claude-opus-4-20250514", "2026-06-15"),
    ("claude-sonnet-4-0", "2026-06-15"),
    ("claude-sonnet-4-20250514", "2026-06-15"),
    ("claude-mythos-preview", "2026-06-30"),
    ("claude-sonnet-4-5", "2026-11-30"),
    ("claude-sonnet-4-5-20250929", "2026-11-30"),
];

/// The model families the API has served; a scope entry that is one of these words covers the
/// whole family.
const FAMILIES: [&str; 5] = ["opus", "sonnet", "haiku", "fable", "mythos"];

/// A model id reduced to what names the model: lowercase, without the `[1m]` long-context
/// suffix, `-latest`, or a `-YYYYMMDD` snapshot date. `claude-opus-5-5-20261118[1m]` and
/// `claude-opus-5-5` are the same model to an overload.
pub(crate) fn normalise(model: &str) -> String {
    let mut id = model.trim().to_ascii_lowercase();
    if let Some(stripped) = id.strip_suffix("[1m]") {
        id = stripped.to_owned();
    }
    if let Some(stripped) = id.strip_suffix("-latest") {
        id = stripped.to_owned();
    }
    if let Some((head, tail)) = id.rsplit_once('-') {
        if tail.len() == 8 && tail.bytes().all(|byte| byte.is_ascii_digit()) {
            id = head.to_owned();
        }
    }
    id
}

/// The family word of a normalised id: `sonnet` for `claude-sonnet-5-5` and for the older
/// `claude-3-7-sonnet` alike.
fn family(normalised: &str) -> Option<&str> {
    normalised
        .strip_prefix("claude-")?
        .split('-')
        .find(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphabetic()))
}

/// A scope entry's family, when the entry names a whole family (`opus`, `claude-opus`).
fn family_entry(entry: &str) -> Option<&str> {
    let word = entry.strip_prefix("claude-").unwrap_or(entry);
    FAMILIES.contains(&word).then_some(word)
}

/// The end of life of a retired model id, matched after normalisation so a dated snapshot, its
/// `-latest` alias and a `[1m]` variant are all retired together.
pub(crate) fn retired(model: &str) -> Option<&'static str> {
    let id = normalise(model);
    RETIRED
        .iter()
        .find(|(retired, _)| normalise(retired) == id)
        .map(|&(_, end_of_life)| end_of_life)
}

/// Whether the API would answer this model id at all. An id outside the `claude-` namespace
/// has never existed, and a retired one no longer does; both answer `404 not_found_error`
/// with `model: <id>`, as the real API does.
pub(crate) fn exists(model: &str) -> bool {
    model.starts_with("claude-") && retired(model).is_none()
}

/// The name the status page gives a model in an incident title: "Claude Sonnet 5.5" for
/// `claude-sonnet-5-5`, "Claude Haiku 4.5" for `claude-haiku-4-5` (family capitalised, version
/// digits joined by dots), "Claude Opus" for a whole family.
pub(crate) fn display_name(model: &str) -> String {
    let id = normalise(model);
    let id = match family_entry(&id) {
        Some(word) => format!("claude-{word}"),
        None => id,
    };
    let Some(rest) = id.strip_prefix("claude-") else {
        return model.trim().to_owned();
    };
    let mut words = Vec::new();
    let mut version = Vec::new();
    for part in rest.split('-').filter(|part| !part.is_empty()) {
        if part.bytes().all(|byte| byte.is_ascii_digit()) {
            version.push(part.to_owned());
        } else {
            let mut letters = part.chars();
            let capitalised: String = letters
                .next()
                .map(|first| first.to_uppercase().chain(letters).collect())
                .unwrap_or_default();
            words.push(capitalised);
        }
    }
    let mut name = String::from("Claude");
    for word in words {
        name.push(' ');
        name.push_str(&word);
    }
    if !version.is_empty() {
        name.push(' ');
        name.push_str(&version.join("."));
    }
    name
}

/// The shortest prefix, in tokens, that a model caches (api-facts D3). A marked prefix below it
/// is processed normally and makes no cache entry. The table is matched on the normalised id,
/// so a dated snapshot or a `[1m]` variant has its model's minimum. Models the reference has no
/// figure for (Opus 4.7 and later, every 5.x model, Fable, Mythos) get 4,096: D3 says the figure
/// was not recovered, and the largest known minimum is the conservative guess, since it never
/// promises a saving the real API might not give.
const MINIMUM_CACHEABLE_TOKENS: [(&str, u64); 15] = [
    ("claude-opus-4-5", 4_096),
    ("claude-opus-4-6", 4_096),
    ("claude-haiku-4-5", 4_096),
    ("claude-sonnet-4-6", 2_048),
    ("claude-sonnet-4-5", 1_024),
    ("claude-sonnet-4", 1_024),
    ("claude-sonnet-4-0", 1_024),
    ("claude-4-sonnet", 1_024),
    ("claude-opus-4-1", 1_024),
    ("claude-opus-4", 1_024),
    ("claude-opus-4-0", 1_024),
    ("claude-4-opus", 1_024),
    ("claude-3-7-sonnet", 1_024),
    ("claude-3-5-haiku", 2_048),
    ("claude-3-haiku", 2_048),
];

/// What [`MINIMUM_CACHEABLE_TOKENS`] assumes for a model it does not list (api-facts D3).
const ASSUMED_MINIMUM_CACHEABLE_TOKENS: u64 = 4_096;

/// The minimum cacheable prefix of `model` in tokens (api-facts D3); 4,096 for a model whose
/// figure is not known.
pub fn minimum_cacheable_tokens(model: &str) -> u64 {
    let id = normalise(model);
    MINIMUM_CACHEABLE_TOKENS
        .iter()
        .find(|(known, _)| *known == id)
        .map_or(ASSUMED_MINIMUM_CACHEABLE_TOKENS, |&(_, minimum)| minimum)
}

/// Checks a model chosen for `model-overload`, so a typo fails at start-up rather than giving a
/// storm nobody's requests can meet. Returns the id as it will be stored (trimmed).
pub(crate) fn check_overload_model(model: &str) -> Result<String, String> {
    let model = model.trim();
    if model.is_empty() {
        return Err("the overloaded model must not be empty".to_owned());
    }
    if let Some(end_of_life) = retired(model) {
        return Err(format!(
            "{model} was retired on {end_of_life}; it answers 404, so it cannot be overloaded"
        ));
    }
    if !model.starts_with("claude-") && family_entry(model).is_none() {
        return Err(format!(
            "{model:?} is not a model id such as claude-opus-5-5 or a family such as opus"
        ));
    }
    Ok(model.to_owned())
}

/// Which models an overload mode reaches. Real overloads are per model (status.claude.com names
/// the model in its incident titles), so a scenario says which ones it overloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModelScope {
    /// Every model.
    All,
    /// Only these normalised ids or family words (`opus`, `claude-sonnet`).
    Only(Vec<String>),
}

impl ModelScope {
    /// A scope of the given ids or families, normalised once here.
    pub(crate) fn only<I, S>(models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ModelScope::Only(
            models
                .into_iter()
                .map(|model| normalise(model.as_ref()))
                .collect(),
        )
    }

    /// Whether a request for `model` is in the overload.
    pub(crate) fn covers(&self, model: &str) -> bool {
        match self {
            ModelScope::All => true,
            ModelScope::Only(entries) => {
                let id = normalise(model);
                let family = family(&id);
                entries.iter().any(|entry| {
                    *entry == id || (family.is_some() && family_entry(entry) == family)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_strips_dates_latest_and_long_context() {
        for (raw, expected) in [
            ("claude-opus-5-5", "claude-opus-5-5"),
            ("claude-opus-5-5[1m]", "claude-opus-5-5"),
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
            ("Claude-Haiku-4-5 ", "claude-haiku-4-5"),
            ("claude-opus-4-8-2026", "claude-opus-4-8-2026"),
        ] {
            assert_eq!(normalise(raw), expected, "{raw}");
        }
    }

    #[test]
    fn minimum_cacheable_tokens_follow_d3() {
        for (model, expected) in [
            ("claude-opus-4-5", 4_096),
            ("claude-opus-4-6", 4_096),
            ("claude-haiku-4-5-20251001", 4_096),
            ("claude-sonnet-4-6", 2_048),
            ("claude-sonnet-4-6[1m]", 2_048),
            ("claude-sonnet-4-5-20250929", 1_024),
            ("claude-sonnet-4-20250514", 1_024),
            ("claude-opus-4-1-20250805", 1_024),
            ("claude-opus-4-20250514", 1_024),
            ("claude-3-7-sonnet-latest", 1_024),
            ("claude-3-5-haiku-20241022", 2_048),
            ("claude-3-haiku-20240307", 2_048),
            // Not recovered: the conservative assumption.
            ("claude-opus-4-7", 4_096),
            ("claude-opus-5-5", 4_096),
            ("claude-sonnet-5", 4_096),
            ("claude-fable-5-2", 4_096),
        ] {
            assert_eq!(minimum_cacheable_tokens(model), expected, "{model}");
        }
    }

    #[test]
    fn display_names_follow_the_status_page() {
        for (model, expected) in [
            ("claude-opus-5-5", "Claude Opus 5.5"),
            ("claude-sonnet-5-5", "Claude Sonnet 5.5"),
            ("claude-haiku-4-5", "Claude Haiku 4.5"),
            ("claude-opus-5", "Claude Opus 5"),
            ("claude-opus-4-8-20260528", "Claude Opus 4.8"),
            ("claude-3-7-sonnet", "Claude Sonnet 3.7"),
            ("opus", "Claude Opus"),
            ("claude-sonnet", "Claude Sonnet"),
        ] {
            assert_eq!(display_name(model), expected, "{model}");
        }
        // The served list uses the same rule, so a title and the list never disagree.
        for (id, name, _) in MODELS {
            assert_eq!(display_name(id), name);
        }
    }

    #[test]
    fn scopes_cover_ids_and_families() {
        let opus = ModelScope::only(["claude-opus-5-5"]);
        assert!(opus.covers("claude-opus-5-5"));
        assert!(opus.covers("claude-opus-5-5-20261118"));
        assert!(opus.covers("claude-opus-5-5[1m]"));
        assert!(!opus.covers("claude-opus-5"));
        assert!(!opus.covers("claude-sonnet-5-5"));
        let family = ModelScope::only(["sonnet"]);
        assert!(family.covers("claude-sonnet-5-5"));
        assert!(family.covers("claude-3-7-sonnet-20250219"));
        assert!(!family.covers("claude-opus-5-5"));
        assert!(ModelScope::only(["claude-haiku"]).covers("claude-haiku-4-5"));
        assert!(ModelScope::All.covers("anything"));
    }

    #[test]
    fn the_sdk_list_is_retired_and_current_models_are_not() {
        for (id, _) in RETIRED {
            assert!(!exists(id), "{id}");
        }
        assert_eq!(retired("claude-sonnet-4-5[1m]"), Some("2026-11-30"));
        assert!(!exists("gpt-4"));
        for (id, _, _) in MODELS {
            assert!(exists(id), "{id}");
        }
    }

    #[test]
    fn overload_models_are_checked() {
        assert_eq!(
            check_overload_model(" claude-sonnet-5-5 ").as_deref(),
            Ok("claude-sonnet-5-5")
        );
        assert!(check_overload_model("opus").is_ok());
        assert!(check_overload_model("").is_err());
        assert!(check_overload_model("claude-sonnet-4-5").is_err());
        assert!(check_overload_model("gpt-4").is_err());
    }
}
