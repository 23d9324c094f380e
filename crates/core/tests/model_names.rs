//! Model names (issue 11, per-model health): model ids to model classes, incident titles to the
//! models they name, one table per concern, the real incident titles of the shared fixtures, and
//! property tests that no text makes the parser panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use claude_status_core::model_names::{
    parse_incident, Family, IncidentScope, ModelClass, ModelPattern,
};
use claude_status_core::statuspage::parse_incidents;
use proptest::prelude::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/statuspage/"
);

fn class(text: &str) -> ModelClass {
    text.parse().unwrap()
}

/// A pattern as the tables spell it: `opus-4-5` for one model, `opus-4-*` for a line, `haiku-*`
/// for a family.
fn spell(pattern: &ModelPattern) -> String {
    let mut text = pattern.family.as_str().to_owned();
    for part in &pattern.version {
        text.push_str(&format!("-{part}"));
    }
    if pattern.any_minor {
        text.push_str("-*");
    }
    text
}

/// What a table row expects `parse_incident` to return.
#[derive(Debug)]
enum Expect {
    Models(&'static [&'static str]),
    AllModels,
    Product(&'static str),
    Unrecognised(&'static str),
}

fn check(title: &str, components: &[&str], expected: &Expect) {
    let scope = parse_incident(title, components);
    let ok = match (&scope, expected) {
        (IncidentScope::Models { patterns, names }, Expect::Models(want)) => {
            assert_eq!(
                patterns.len(),
                names.len(),
                "{title:?}: one name per pattern"
            );
            patterns.iter().map(spell).collect::<Vec<_>>() == *want
        }
        (IncidentScope::AllModels, Expect::AllModels) => true,
        (IncidentScope::Product { name }, Expect::Product(want)) => name == want,
        (IncidentScope::Unrecognised { text }, Expect::Unrecognised(want)) => text == want,
        _ => false,
    };
    assert!(
        ok,
        "{title:?} {components:?}: got {scope:?}, expected {expected:?}"
    );
}

#[test]
fn incident_titles() {
    use Expect::*;
    const API: &str = "Claude API (api.anthropic.com)";
    let table: &[(&str, &[&str], Expect)] = &[
        // One model, however it is written.
        (
            "Elevated errors on Claude Opus 4.5",
            &[],
            Models(&["opus-4-5"]),
        ),
        ("Sonnet 4.6", &[], Models(&["sonnet-4-6"])),
        (
            "Elevated errors on Claude Sonnet 4.6",
            &[API],
            Models(&["sonnet-4-6"]),
        ),
        (
            "ELEVATED ERRORS ON CLAUDE OPUS 4.5",
            &[],
            Models(&["opus-4-5"]),
        ),
        (
            "elevated errors on claude opus 4.5",
            &[],
            Models(&["opus-4-5"]),
        ),
        (
            "Claude Opus 4.5: elevated errors",
            &[],
            Models(&["opus-4-5"]),
        ),
        (
            "Elevated errors on Claude Opus 4.5.",
            &[],
            Models(&["opus-4-5"]),
        ),
        ("Elevated errors on Opus-4.5", &[], Models(&["opus-4-5"])),
        (
            "Elevated errors on the Opus 4.5 model",
            &[],
            Models(&["opus-4-5"]),
        ),
        (
            "Elevated errors on Claude Opus 4.5 (claude-opus-4-5)",
            &[],
            Models(&["opus-4-5"]),
        ),
        (
            "Errors for claude-sonnet-4-5-20250929",
            &[],
            Models(&["sonnet-4-5"]),
        ),
        (
            "Errors for claude-3-5-haiku-20241022 requests",
            &[],
            Models(&["haiku-3-5"]),
        ),
        (
            "Elevated errors on Claude Opus 4.8",
            &[API],
            Models(&["opus-4-8"]),
        ),
        (
            "Elevated errors on Claude Mythos 5",
            &[],
            Models(&["mythos-5"]),
        ),
        (
            "Elevated errors on Claude Fable 5.2",
            &[],
            Models(&["fable-5-2"]),
        ),
        (
            "Elevated errors on Claude Opus 5.5",
            &[],
            Models(&["opus-5-5"]),
        ),
        ("Elevated errors on Claude Opus 4", &[], Models(&["opus-4"])),
        (
            "Elevated errors on Claude Opus 4.0",
            &[],
            Models(&["opus-4"]),
        ),
        // Several models; a bare version after a family inherits it.
        (
            "Elevated errors on Claude Opus 4.5 and Sonnet 4.6",
            &[],
            Models(&["opus-4-5", "sonnet-4-6"]),
        ),
        (
            "Elevated errors on Opus 4.5, 4.6 and 4.7",
            &[],
            Models(&["opus-4-5", "opus-4-6", "opus-4-7"]),
        ),
        (
            "Elevated errors on Opus 4.5, 4.6, and 4.7",
            &[],
            Models(&["opus-4-5", "opus-4-6", "opus-4-7"]),
        ),
        (
            "Opus 4.5/4.6 errors",
            &[],
            Models(&["opus-4-5", "opus-4-6"]),
        ),
        (
            "Opus 4 and 4.1 degraded",
            &[],
            Models(&["opus-4", "opus-4-1"]),
        ),
        (
            "Elevated errors on Sonnet 4.5 and Claude 3.5 Haiku",
            &[],
            Models(&["sonnet-4-5", "haiku-3-5"]),
        ),
        (
            "Elevated errors on Claude Sonnet 4.5 and 3.5 Haiku",
            &[],
            Models(&["sonnet-4-5", "haiku-3-5"]),
        ),
        (
            "Opus 4.5 & Haiku 4.5 slow",
            &[],
            Models(&["opus-4-5", "haiku-4-5"]),
        ),
        (
            "Claude Opus 4.5 and claude-opus-4-5 (same model)",
            &[],
            Models(&["opus-4-5"]),
        ),
        // The legacy order, version before family.
        (
            "Elevated errors on Claude 3.5 Haiku",
            &[],
            Models(&["haiku-3-5"]),
        ),
        ("Elevated errors on Claude 3 Opus", &[], Models(&["opus-3"])),
        ("Claude 4 Opus errors", &[], Models(&["opus-4"])),
        ("Claude 3.7 Sonnet latency", &[], Models(&["sonnet-3-7"])),
        // Lines and families.
        (
            "Elevated errors on Claude Opus 4.x",
            &[],
            Models(&["opus-4-*"]),
        ),
        (
            "Elevated errors on Claude Opus 4.X",
            &[],
            Models(&["opus-4-*"]),
        ),
        (
            "Elevated errors on Opus 4 models",
            &[],
            Models(&["opus-4-*"]),
        ),
        (
            "Elevated errors on the Opus 4 family",
            &[],
            Models(&["opus-4-*"]),
        ),
        ("Elevated errors on Haiku", &[], Models(&["haiku-*"])),
        ("Haiku", &[], Models(&["haiku-*"])),
        (
            "Elevated errors on Claude Haiku models",
            &[],
            Models(&["haiku-*"]),
        ),
        (
            "Elevated errors across all Opus models",
            &[],
            Models(&["opus-*"]),
        ),
        // The model wins over a product.
        (
            "Elevated errors on Claude Opus 4.5 in Claude Code",
            &[],
            Models(&["opus-4-5"]),
        ),
        (
            "claude.ai errors for Sonnet 4.6",
            &["claude.ai"],
            Models(&["sonnet-4-6"]),
        ),
        // Numbers that are not versions.
        ("Elevated errors since 14:05 UTC", &[], AllModels),
        (
            "Claude Code v2.1 login failures",
            &[],
            Product("Claude Code"),
        ),
        (
            "Elevated errors on Opus 4.5 since 14:05",
            &[],
            Models(&["opus-4-5"]),
        ),
        (
            "Elevated errors on Opus 4.5 and 14 other services",
            &[],
            Models(&["opus-4-5"]),
        ),
        (
            "Degraded performance in 2026 for 3.5 percent of users",
            &[],
            AllModels,
        ),
        ("GPT 5.3 errors", &[], AllModels),
        // Every model.
        ("Elevated errors on all models", &[], AllModels),
        ("Elevated errors on multiple models", &[], AllModels),
        ("Elevated errors across models", &[], AllModels),
        ("Elevated latency on most models", &[], AllModels),
        ("Elevated errors on several Claude models", &[], AllModels),
        (
            "Elevated errors on Opus 4.5 and all other models",
            &[],
            AllModels,
        ),
        ("Elevated errors on the API", &[], AllModels),
        ("Elevated errors on api.anthropic.com", &[], AllModels),
        ("Messages API latency", &[], AllModels),
        ("Increased latency", &[], AllModels),
        ("Elevated errors", &[API], AllModels),
        ("Investigating an issue", &[API], AllModels),
        ("Investigating an issue", &[], AllModels),
        ("", &[], AllModels),
        ("   ", &[], AllModels),
        ("Elevated errors", &["claude.ai"], AllModels),
        (
            "Elevated errors on the Claude Developer Platform",
            &[],
            AllModels,
        ),
        // Products.
        (
            "Claude Code login failures",
            &["claude.ai", "Claude Code"],
            Product("Claude Code"),
        ),
        (
            "Claude Code errors",
            &["Claude Code", API],
            Product("Claude Code"),
        ),
        ("claude-code errors", &[], Product("Claude Code")),
        (
            "claude.ai unavailable",
            &["claude.ai"],
            Product("claude.ai"),
        ),
        ("Claude.ai is down", &[], Product("claude.ai")),
        (
            "Elevated errors on the Claude app",
            &[],
            Product("Claude app"),
        ),
        (
            "Claude Desktop crashes on launch",
            &[],
            Product("Claude Desktop"),
        ),
        ("Console unavailable", &[], Product("Console")),
        (
            "console.anthropic.com login issues",
            &[],
            Product("Console"),
        ),
        (
            "Claude for Chrome errors",
            &[],
            Product("Claude for Chrome"),
        ),
        ("Claude Max usage limits", &[], Product("Claude Max")),
        // The title says API as well: every model.
        (
            "Claude Code and API errors",
            &["Claude Code", API],
            AllModels,
        ),
        // Only the components say what is affected.
        (
            "Scheduled database maintenance",
            &["claude.ai"],
            Product("claude.ai"),
        ),
        (
            "Weird impact incident",
            &["claude.ai", "Claude Code"],
            Product("claude.ai"),
        ),
        (
            "Scheduled database maintenance",
            &["claude.ai", API],
            AllModels,
        ),
        ("Scheduled database maintenance", &[], AllModels),
        (
            "Investigating an issue",
            &["Claude Opus 4.5"],
            Models(&["opus-4-5"]),
        ),
        ("Investigating an issue", &["Actions"], AllModels),
        // Families this version does not know.
        (
            "Elevated errors on Claude Zephyr 9",
            &[],
            Models(&["zephyr-9"]),
        ),
        (
            "Elevated errors on Claude Zephyr 9.1 and 9.2",
            &[],
            Models(&["zephyr-9-1", "zephyr-9-2"]),
        ),
        (
            "Elevated errors on claude-zephyr-9",
            &[],
            Models(&["zephyr-9"]),
        ),
        (
            "Elevated errors on Claude Zephyr",
            &[],
            Unrecognised("Claude Zephyr"),
        ),
        (
            "Elevated errors on claude-2.1",
            &[],
            Unrecognised("claude-2.1"),
        ),
        (
            "Errors for claude-zephyr-latest",
            &[],
            Unrecognised("claude-zephyr-latest"),
        ),
        ("claude-status errors", &[], AllModels),
        ("Zephyr 9 errors", &[], AllModels),
        ("Claude Is Down", &[], AllModels),
        ("Claude unavailable", &[], AllModels),
        ("Elevated Errors On Claude API", &[], AllModels),
    ];
    for (title, components, expected) in table {
        check(title, components, expected);
    }
}

#[test]
fn names_keep_the_words_of_the_title() {
    let table: &[(&str, &[&str])] = &[
        ("Elevated errors on Claude Opus 4.5", &["Claude Opus 4.5"]),
        (
            "Elevated errors on Claude Opus 4.5 and Sonnet 4.6",
            &["Claude Opus 4.5", "Sonnet 4.6"],
        ),
        (
            "Opus 4.5, 4.6 and 4.7",
            &["Opus 4.5", "Opus 4.6", "Opus 4.7"],
        ),
        ("Claude 3.5 Haiku", &["Claude 3.5 Haiku"]),
        ("Opus 4 models", &["Opus 4 models"]),
        ("Opus 4.x", &["Opus 4.x"]),
        ("Haiku", &["Haiku"]),
        (
            "Errors for claude-sonnet-4-5-20250929",
            &["claude-sonnet-4-5-20250929"],
        ),
        ("Claude Zephyr 9", &["Claude Zephyr 9"]),
    ];
    for (title, expected) in table {
        match parse_incident(title, &[]) {
            IncidentScope::Models { names, .. } => assert_eq!(names, *expected, "{title:?}"),
            other => panic!("{title:?}: got {other:?}"),
        }
    }
}

#[test]
fn model_ids() {
    let table: &[(&str, Option<&str>)] = &[
        ("claude-opus-4-5-20251101", Some("opus-4-5")),
        ("claude-opus-5-5", Some("opus-5-5")),
        ("claude-sonnet-4-5[1m]", Some("sonnet-4-5")),
        ("claude-sonnet-4-5-20250929[1m]", Some("sonnet-4-5")),
        ("claude-3-5-haiku-20241022", Some("haiku-3-5")),
        ("claude-3-5-haiku-latest", Some("haiku-3-5")),
        ("claude-3-opus-20240229", Some("opus-3")),
        ("claude-3-haiku-20240307", Some("haiku-3")),
        ("claude-3-7-sonnet-latest", Some("sonnet-3-7")),
        ("claude-opus-4-0", Some("opus-4")),
        ("claude-opus-4-20250514", Some("opus-4")),
        ("claude-4-opus-20250514", Some("opus-4")),
        ("claude-opus-4-1", Some("opus-4-1")),
        ("claude-opus-4-1-20250805", Some("opus-4-1")),
        ("claude-haiku-4-5-fast", Some("haiku-4-5")),
        ("claude-mythos-5", Some("mythos-5")),
        ("claude-fable-5-2", Some("fable-5-2")),
        ("Claude-Opus-4-5", Some("opus-4-5")),
        ("  claude-opus-4-5  ", Some("opus-4-5")),
        ("claude-zephyr-9", Some("zephyr-9")),
        (
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            Some("haiku-3-5"),
        ),
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            Some("sonnet-4-5"),
        ),
        ("claude-3-5-sonnet-v2@20241022", Some("sonnet-3-5")),
        ("<synthetic>", None),
        ("gpt-4o", None),
        ("", None),
        ("claude", None),
        ("claude-", None),
        ("claude-opus", None),
        ("claude-opus-latest", None),
        ("claude-2", None),
        ("claude-3-5", None),
        ("claude-code", None),
        ("claude-latest-4", None),
        ("notclaude-opus-4-5", None),
    ];
    for (id, expected) in table {
        let got = ModelClass::from_model_id(id).map(|c| c.to_string());
        assert_eq!(got.as_deref(), *expected, "{id:?}");
    }
}

#[test]
fn display_names() {
    let table: &[(&str, &str)] = &[
        ("opus-4-5", "Opus 4.5"),
        ("haiku-3-5", "Haiku 3.5"),
        ("mythos-5", "Mythos 5"),
        ("opus-4", "Opus 4"),
        ("fable-5-2", "Fable 5.2"),
        ("zephyr-9", "Zephyr 9"),
    ];
    for (spelling, expected) in table {
        assert_eq!(class(spelling).display_name(), *expected, "{spelling}");
    }
    assert_eq!(
        ModelClass::from_model_id("claude-3-5-haiku-latest")
            .unwrap()
            .display_name(),
        "Haiku 3.5"
    );
}

#[test]
fn class_spellings() {
    let table: &[(&str, Option<&str>)] = &[
        ("opus-4-5", Some("opus-4-5")),
        ("opus-4-0", Some("opus-4")),
        ("zephyr-9", Some("zephyr-9")),
        ("opus", None),
        ("opus-", None),
        ("opus-x", None),
        ("4-5", None),
        ("", None),
        ("claude-opus-4-5", None),
    ];
    for (text, expected) in table {
        let got = text.parse::<ModelClass>().ok().map(|c| c.to_string());
        assert_eq!(got.as_deref(), *expected, "{text:?}");
    }
    assert_eq!(class("opus-4-5").family(), &Family::Opus);
    assert_eq!(class("opus-4-5").version(), &[4, 5]);
    assert!(class("opus-5").version() > class("opus-4-8").version());
    assert_eq!(class("zephyr-9").family(), &Family::Other("zephyr".into()));
}

#[test]
fn patterns_match_classes() {
    // (title, class, affected)
    let table: &[(&str, &str, bool)] = &[
        ("Opus 4.5", "opus-4-5", true),
        ("Opus 4.5", "opus-4-6", false),
        ("Opus 4.5", "opus-4", false),
        ("Opus 4.5", "sonnet-4-5", false),
        ("Opus 4", "opus-4", true),
        ("Opus 4", "opus-4-5", false),
        ("Opus 4", "opus-4-1", false),
        ("Opus 4.0", "opus-4", true),
        ("Claude Opus 4.x", "opus-4", true),
        ("Claude Opus 4.x", "opus-4-1", true),
        ("Claude Opus 4.x", "opus-4-5", true),
        ("Claude Opus 4.x", "opus-4-8", true),
        ("Claude Opus 4.x", "opus-5", false),
        ("Claude Opus 4.x", "opus-5-5", false),
        ("Claude Opus 4.x", "sonnet-4-5", false),
        ("Opus 4 models", "opus-4-6", true),
        ("Opus 4 family", "opus-4-6", true),
        ("Opus 4 family", "opus-5", false),
        ("Haiku", "haiku-3", true),
        ("Haiku", "haiku-3-5", true),
        ("Haiku", "haiku-4-5", true),
        ("Haiku", "haiku-5-5", true),
        ("Haiku", "opus-4-5", false),
        ("Opus 4.5, 4.6 and 4.7", "opus-4-6", true),
        ("Opus 4.5, 4.6 and 4.7", "opus-4-8", false),
        ("Elevated errors on all models", "haiku-3", true),
        ("Elevated errors on the API", "opus-4-5", true),
        ("Claude Code errors", "opus-4-5", false),
        ("Elevated errors on Claude Zephyr 9", "zephyr-9", true),
        ("Elevated errors on Claude Zephyr 9", "opus-4-5", false),
        ("Elevated errors on Claude Zephyr", "opus-4-5", true),
    ];
    for (title, spelling, expected) in table {
        let scope = parse_incident(title, &[]);
        assert_eq!(
            scope.affects(&class(spelling)),
            *expected,
            "{title:?} on {spelling}: {scope:?}"
        );
    }
}

#[test]
fn scopes_answer_for_model_ids_and_products() {
    let opus = parse_incident("Elevated errors on Claude Opus 4.5", &[]);
    assert!(opus.affects_model_id("claude-opus-4-5-20251101"));
    assert!(!opus.affects_model_id("claude-sonnet-4-5"));
    assert!(!opus.affects_model_id("<synthetic>"));
    assert!(!opus.is_product());

    let all = parse_incident("Elevated errors on all models", &[]);
    assert!(all.affects_model_id("claude-sonnet-4-5"));
    assert!(all.affects_model_id("<synthetic>"));

    let code = parse_incident("Claude Code login failures", &[]);
    assert!(code.is_product());
    assert!(!code.affects_model_id("claude-opus-4-5"));
}

#[test]
fn serialised_forms() {
    assert_eq!(
        serde_json::to_value(class("opus-4-5")).unwrap(),
        serde_json::json!("opus-4-5")
    );
    let back: ModelClass = serde_json::from_value(serde_json::json!("haiku-3-5")).unwrap();
    assert_eq!(back, class("haiku-3-5"));
    assert!(serde_json::from_value::<ModelClass>(serde_json::json!("opus")).is_err());
    assert!(serde_json::from_value::<ModelClass>(serde_json::json!(4)).is_err());

    let table: &[(&str, serde_json::Value)] = &[
        (
            "Elevated errors on Claude Opus 4.x",
            serde_json::json!({
                "kind": "models",
                "patterns": [{"family": "opus", "version": [4], "any_minor": true}],
                "names": ["Claude Opus 4.x"],
            }),
        ),
        (
            "Elevated errors on all models",
            serde_json::json!({"kind": "all_models"}),
        ),
        (
            "Claude Code errors",
            serde_json::json!({"kind": "product", "name": "Claude Code"}),
        ),
        (
            "Claude Zephyr errors",
            serde_json::json!({"kind": "unrecognised", "text": "Claude Zephyr"}),
        ),
    ];
    for (title, expected) in table {
        let scope = parse_incident(title, &[]);
        let json = serde_json::to_value(&scope).unwrap();
        assert_eq!(&json, expected, "{title:?}");
        let back: IncidentScope = serde_json::from_value(json).unwrap();
        assert_eq!(back, scope, "{title:?}");
    }
}

fn fixture_incidents(file: &str) -> Vec<(String, Vec<String>)> {
    let bytes = std::fs::read(format!("{FIXTURES}{file}")).unwrap();
    parse_incidents(&bytes)
        .unwrap()
        .into_iter()
        .map(|i| (i.name, i.components.into_iter().map(|c| c.name).collect()))
        .collect()
}

fn scope_of(incident: &(String, Vec<String>)) -> IncidentScope {
    let names: Vec<&str> = incident.1.iter().map(String::as_str).collect();
    parse_incident(&incident.0, &names)
}

#[test]
fn anthropic_fixture_titles() {
    let incidents = fixture_incidents("anthropic-incidents-TRIMMED-PARTLY-SYNTHETIC.json");
    let table: &[(&str, Expect)] = &[
        (
            "Elevated errors on Claude Opus 4.8",
            Expect::Models(&["opus-4-8"]),
        ),
        // Only claude.ai is listed and the title names nothing else.
        (
            "Scheduled database maintenance",
            Expect::Product("claude.ai"),
        ),
        ("Weird impact incident", Expect::Product("claude.ai")),
    ];
    assert_eq!(incidents.len(), table.len(), "{incidents:?}");
    for (incident, (title, expected)) in incidents.iter().zip(table) {
        assert_eq!(&incident.0, title);
        let names: Vec<&str> = incident.1.iter().map(String::as_str).collect();
        check(title, &names, expected);
    }
}

#[test]
fn github_fixture_titles() {
    let incidents = fixture_incidents("github-incidents-2026-07.json");
    assert!(incidents.len() > 40, "{}", incidents.len());
    // Only the titles that name a Claude model name models; GitHub's services, Copilot and other
    // vendors' models ("GPT 5.3 Codex", "OpenAI Models", "Several GPT models") never do.
    let naming_claude: &[(&str, &[&str])] = &[
        (
            "Copilot model Claude Fable 5 experiencing elevated errors",
            &["fable-5"],
        ),
        (
            "Claude Fable 5 experiencing degraded performance",
            &["fable-5"],
        ),
        ("Disruption with Claude Opus 4.7", &["opus-4-7"]),
    ];
    let mut seen = 0;
    for incident in &incidents {
        let scope = scope_of(incident);
        match naming_claude.iter().find(|(title, _)| *title == incident.0) {
            Some((_, expected)) => {
                seen += 1;
                let IncidentScope::Models { patterns, .. } = &scope else {
                    panic!("{:?}: got {scope:?}", incident.0);
                };
                assert_eq!(patterns.iter().map(spell).collect::<Vec<_>>(), *expected);
            }
            None => assert!(
                !matches!(scope, IncidentScope::Models { .. }),
                "{:?} {:?}: got {scope:?}",
                incident.0,
                incident.1
            ),
        }
    }
    assert_eq!(seen, naming_claude.len());
    check(
        "Disruption with some GitHub services",
        &["API Requests", "Issues"],
        &Expect::AllModels,
    );
}

#[test]
fn every_priced_model_id_has_a_class() {
    let prices: serde_json::Value =
        serde_json::from_str(include_str!("../data/prices.json")).unwrap();
    let mut ids: Vec<&str> = prices["models"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    ids.extend(
        prices["aliases"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str),
    );
    assert!(ids.len() > 15, "{ids:?}");
    for id in ids {
        let class = ModelClass::from_model_id(id).unwrap_or_else(|| panic!("{id}: no class"));
        let family = Family::KNOWN
            .iter()
            .find(|f| id.split('-').any(|part| part == f.as_str()))
            .unwrap_or_else(|| panic!("{id}: no known family in the id"));
        assert_eq!(class.family(), family, "{id}");
        // The class names the same model as the id, so the pattern of one matches the other.
        assert!(ModelPattern::exact(&class).matches(&class), "{id}");
    }
}

proptest! {
    #[test]
    fn no_text_makes_the_parser_panic(title in any::<String>(), component in any::<String>()) {
        let scope = parse_incident(&title, &[&component]);
        if let IncidentScope::Models { patterns, names } = &scope {
            prop_assert_eq!(patterns.len(), names.len());
            prop_assert!(!patterns.is_empty());
        }
        let _ = scope.affects_model_id(&title);
        let _ = ModelClass::from_model_id(&title);
        let _ = title.parse::<ModelClass>();
    }

    #[test]
    fn wordy_titles_never_panic(
        words in proptest::collection::vec(
            prop_oneof![
                Just("Claude".to_owned()), Just("Opus".to_owned()), Just("haiku".to_owned()),
                Just("and".to_owned()), Just(",".to_owned()), Just("4.5".to_owned()),
                Just("4.x".to_owned()), Just("3".to_owned()), Just("models".to_owned()),
                Just("claude-opus-4-5".to_owned()), Just("Code".to_owned()), Just(":".to_owned()),
                Just("all".to_owned()), Just("Zephyr".to_owned()), Just("-".to_owned()),
                "[a-zA-Z0-9.\\-]{0,8}",
            ],
            0..12,
        )
    ) {
        let title = words.join(" ");
        let scope = parse_incident(&title, &[]);
        if let IncidentScope::Models { patterns, names } = &scope {
            prop_assert_eq!(patterns.len(), names.len());
        }
    }

    #[test]
    fn class_spelling_round_trips(
        family in prop_oneof![
            Just("opus"), Just("sonnet"), Just("haiku"), Just("fable"), Just("mythos"), Just("zephyr")
        ],
        version in proptest::collection::vec(0u32..20, 1..4),
    ) {
        let text = format!("{family}-{}", version.iter().map(u32::to_string).collect::<Vec<_>>().join("-"));
        let parsed: ModelClass = text.parse().unwrap();
        let again: ModelClass = parsed.to_string().parse().unwrap();
        prop_assert_eq!(&again, &parsed);
        let from_id = ModelClass::from_model_id(&format!("claude-{parsed}")).unwrap();
        prop_assert_eq!(from_id, parsed);
    }
}
