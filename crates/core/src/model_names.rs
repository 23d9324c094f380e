//! Model names: reads which Claude models a status-page incident names ("Elevated errors on Claude
//! Opus 4.5") and which model class an API model id belongs to, so the two can be compared.
//!
//! Anthropic's incidents are per model, and the user's traffic is per model id; both are brought to
//! one [`ModelClass`] ("opus-4-5"). A title is read into an [`IncidentScope`] by
//! [`parse_incident`]: some models, every model, a product (Claude Code, claude.ai, the Console),
//! or a model-like name this version cannot read. Names this version does not know are kept as
//! text, never guessed into a known model.
//!
//! # The rules for the cases a title leaves open
//!
//! [`parse_incident`] decides in this order; the first rule that applies wins.
//!
//! 1. The title says "all models", "multiple models", "across models", "most models" (or "several",
//!    "many", "some", "various", "other" models, with an optional "Claude" between): every model.
//!    "Some models" is not all of them, but it does not say which, so every model is the
//!    conservative reading.
//! 2. The title names models ("Claude Opus 4.5", "Sonnet 4.6", "Claude 3.5 Haiku", "Opus 4.x",
//!    "claude-sonnet-4-5-20250929"): those models, even when it also names a product ("Elevated
//!    errors on Claude Opus 4.5 in Claude Code" is about Opus 4.5).
//! 3. The title names something model-like that cannot be read: "Claude" followed by a capitalised
//!    word that is no family, product or plain word, and no version ("Elevated errors on Claude
//!    Zephyr"), or an id that is none we can read ("claude-2.1"): unrecognised, kept as text. It
//!    is probably a model we do not know, and we cannot tell which, so it counts against every
//!    model (see [`IncidentScope::affects`]), which is what the app did before incidents were read
//!    per model. A lower-case word ("Claude unavailable") is a sentence, not a name.
//! 4. The title names a product (Claude Code, claude.ai, Claude app, Claude Desktop, the Console,
//!    "Claude for Chrome", a plan such as Claude Max) and does not say "API": that product, whatever
//!    components the incident lists. A team that names Claude Code in the title is talking about
//!    Claude Code, and Claude Code runs on the API, so its incidents often list the API component
//!    too; the title is the more specific statement. "Claude Code and API errors" says API, so the
//!    product does not win there.
//! 5. The names of the listed components name models: those models.
//! 6. The title is about the API ("API", "api.anthropic.com", "Messages", "requests", "errors",
//!    "latency") or a listed component is the API ("Claude API (api.anthropic.com)"): every model.
//! 7. Every listed component is a product (only "claude.ai"): that product. "Scheduled database
//!    maintenance" listing only claude.ai is therefore the product claude.ai.
//! 8. Anything else, including an empty title and a title naming nothing we know: every model.
//!    When in doubt, every model is the conservative case.
//!
//! An unknown family after "Claude" with a version ("Claude Zephyr 9") is read as a model of that
//! family, kept as text (`zephyr-9`): it is almost certainly a new model, and a user whose traffic
//! goes to `claude-zephyr-9` must see the incident, while no other model's level changes. Without
//! "Claude" in front, a word and a number ("GPT 5.3", "Windows 11") are not a model.
//!
//! A bare number is a version only right after a family ("Opus 4.5"), right after "Claude" and
//! before a family (the legacy order "Claude 3.5 Haiku"), or in a list after a model ("Opus 4.5,
//! 4.6 and 4.7", each inheriting the family). A number in a list must be within one major version
//! of the model before it, so "Opus 4.5 and 14 other services" does not invent an Opus 14. Times
//! ("since 14:05") and tool versions ("v2.1") are never versions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A model family: the word in a model's name that is not its version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Opus,
    Sonnet,
    Haiku,
    Fable,
    Mythos,
    /// A family this version does not know (a future model), lower case, kept as written.
    Other(String),
}

impl Family {
    /// The families this version knows, in the order menus list them.
    pub const KNOWN: [Family; 5] = [
        Family::Opus,
        Family::Sonnet,
        Family::Haiku,
        Family::Fable,
        Family::Mythos,
    ];

    /// The known family a word names, case-insensitively (`"Opus"` → `Opus`).
    pub fn known(word: &str) -> Option<Family> {
        match word.to_ascii_lowercase().as_str() {
            "opus" => Some(Family::Opus),
            "sonnet" => Some(Family::Sonnet),
            "haiku" => Some(Family::Haiku),
            "fable" => Some(Family::Fable),
            "mythos" => Some(Family::Mythos),
            _ => None,
        }
    }

    /// The family a word names: a known one, or any other plausible family word kept as text.
    /// A plausible word is ASCII letters only, at least two of them, and not a word that follows
    /// "claude" in names that are not models (`code`, `api`, `latest`…).
    pub fn from_word(word: &str) -> Option<Family> {
        if let Some(family) = Family::known(word) {
            return Some(family);
        }
        let lower = word.to_ascii_lowercase();
        let plausible = lower.len() >= 2
            && lower.bytes().all(|b| b.is_ascii_lowercase())
            && !NOT_A_FAMILY.contains(&lower.as_str())
            && product_after_claude(&lower).is_none();
        plausible.then_some(Family::Other(lower))
    }

    /// The lower-case spelling used in a [`ModelClass`] (`"opus"`).
    pub fn as_str(&self) -> &str {
        match self {
            Family::Opus => "opus",
            Family::Sonnet => "sonnet",
            Family::Haiku => "haiku",
            Family::Fable => "fable",
            Family::Mythos => "mythos",
            Family::Other(word) => word,
        }
    }

    /// The capitalised spelling for menus (`"Opus"`, `"Zephyr"`).
    pub fn display_name(&self) -> String {
        capitalise(self.as_str())
    }

    /// True for a family this version does not know.
    pub fn is_other(&self) -> bool {
        matches!(self, Family::Other(_))
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Family {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Family {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // A stored family is kept whatever it is: refusing an unknown one would lose data written
        // by a newer version.
        Ok(Family::known(&text).unwrap_or_else(|| Family::Other(text.to_ascii_lowercase())))
    }
}

/// One model: a family and a version, spelled `opus-4-5` (no `claude-` prefix, version parts
/// joined with `-`). The version has at least one part and no trailing zero part, so
/// `claude-opus-4-0` and "Opus 4" are the same class, `opus-4`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct ModelClass {
    family: Family,
    version: Vec<u32>,
}

impl ModelClass {
    /// A class from its parts; `None` without a version, because a class is one model.
    pub fn new(family: Family, version: Vec<u32>) -> Option<ModelClass> {
        let version = trim_version(version);
        (!version.is_empty()).then_some(ModelClass { family, version })
    }

    /// The class of an API model id: `claude-opus-4-5-20251101` → `opus-4-5`,
    /// `claude-3-5-haiku-latest` → `haiku-3-5` (the legacy order, version before family),
    /// `claude-sonnet-4-5[1m]` → `sonnet-4-5`, `claude-haiku-4-5-fast` → `haiku-4-5`. A cloud
    /// provider's prefix (`anthropic.`, `us.anthropic.`) and suffix (`-v1:0`, `@20241022`) are
    /// ignored. `None` for anything that is not a Claude model id with a version (`<synthetic>`,
    /// `gpt-4o`, `claude-2`).
    pub fn from_model_id(id: &str) -> Option<ModelClass> {
        let lower = id.trim().to_ascii_lowercase();
        // The context-window suffix (`[1m]`), Vertex's `@date` and Bedrock's `:0` end the id.
        let lower = lower.split(['[', '@', ':']).next().unwrap_or_default();
        let start = if lower.starts_with("claude-") {
            0
        } else {
            // Bedrock ids carry a dotted prefix: `us.anthropic.claude-…`.
            lower.find(".claude-")? + 1
        };
        let rest = lower.get(start + "claude-".len()..)?;
        let parts: Vec<&str> = rest.split(['-', '_']).collect();
        let first = parts.first()?;
        if version_part(first).is_some() {
            // The legacy order: every version part, then the family (`claude-3-5-haiku`).
            let mut version = Vec::new();
            for part in &parts {
                match version_part(part) {
                    Some(numbers) => version.extend(numbers),
                    None => {
                        let family = Family::from_word(part)?;
                        return ModelClass::new(family, version);
                    }
                }
            }
            None
        } else {
            let family = Family::from_word(first)?;
            // The version parts run until the first part that is not one: a date, `latest`,
            // `fast`, `v1`.
            let version = parts
                .iter()
                .skip(1)
                .map_while(|part| version_part(part))
                .flatten()
                .collect();
            ModelClass::new(family, version)
        }
    }

    /// The family (`Opus`).
    pub fn family(&self) -> &Family {
        &self.family
    }

    /// The version parts (`[4, 5]`), compared part by part, so `[5]` is newer than `[4, 8]`.
    pub fn version(&self) -> &[u32] {
        &self.version
    }

    /// The name for menus and notifications: `"Opus 4.5"`, `"Haiku 3.5"`, `"Mythos 5"`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.family.display_name(), dotted(&self.version))
    }
}

impl fmt::Display for ModelClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.family.as_str())?;
        for part in &self.version {
            write!(f, "-{part}")?;
        }
        Ok(())
    }
}

/// Why a text is not a model class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a model class: {0:?} (expected a family and a version, like \"opus-4-5\")")]
pub struct NotAModelClass(pub String);

impl FromStr for ModelClass {
    type Err = NotAModelClass;

    /// Reads the class spelling (`"opus-4-5"`, `"zephyr-9"`); an API id is read by
    /// [`ModelClass::from_model_id`] instead.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = || NotAModelClass(text.to_owned());
        let mut parts = text.split('-');
        let family = parts.next().and_then(Family::from_word).ok_or_else(fail)?;
        let mut version = Vec::new();
        for part in parts {
            version.push(parse_number(part).ok_or_else(fail)?);
        }
        ModelClass::new(family, version).ok_or_else(fail)
    }
}

impl Serialize for ModelClass {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ModelClass {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Which model classes a name in an incident stands for: one model ("Opus 4.5": version `[4, 5]`),
/// a line of models ("Opus 4.x", "Opus 4 models": version `[4]`, `any_minor`), or a whole family
/// ("Haiku": no version, `any_minor`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelPattern {
    pub family: Family,
    /// The version named, without trailing zero parts; empty for a whole family.
    pub version: Vec<u32>,
    /// True when every model whose version starts with `version` matches, not only that one.
    pub any_minor: bool,
}

impl ModelPattern {
    /// The pattern of exactly one model.
    pub fn exact(class: &ModelClass) -> ModelPattern {
        ModelPattern {
            family: class.family.clone(),
            version: class.version.clone(),
            any_minor: false,
        }
    }

    /// A pattern from what a title says. No version means the whole family, whatever `any_minor`
    /// says, because a family name alone ("Haiku") names every model of it.
    pub fn new(family: Family, version: Vec<u32>, any_minor: bool) -> ModelPattern {
        let version = trim_version(version);
        let any_minor = any_minor || version.is_empty();
        ModelPattern {
            family,
            version,
            any_minor,
        }
    }

    /// True when the class is one of the models the pattern names: "Opus 4" is exactly `opus-4`,
    /// "Opus 4.x" is `opus-4`, `opus-4-1`, `opus-4-5`…, "Haiku" is every Haiku.
    pub fn matches(&self, class: &ModelClass) -> bool {
        if self.family != class.family {
            return false;
        }
        // Both sides are trimmed of trailing zeros, so `opus-4-0` and "Opus 4" compare equal.
        let version = trim_version(self.version.clone());
        if self.any_minor || version.is_empty() {
            class.version.starts_with(&version)
        } else {
            class.version == version
        }
    }

    /// The name for menus: `"Opus 4.5"`, `"Opus 4.x"`, `"Haiku"`.
    pub fn display_name(&self) -> String {
        let family = self.family.display_name();
        match (self.version.is_empty(), self.any_minor) {
            (true, _) => family,
            (false, false) => format!("{family} {}", dotted(&self.version)),
            (false, true) => format!("{family} {}.x", dotted(&self.version)),
        }
    }
}

/// What a status-page incident is about, as far as the user's models go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IncidentScope {
    /// The incident names these models. `names` runs parallel to `patterns`: the words of the
    /// title (or component) each pattern came from ("Claude Opus 4.5"), for display.
    Models {
        patterns: Vec<ModelPattern>,
        names: Vec<String>,
    },
    /// Every model: the incident says so, is about the API without naming a model, or says too
    /// little to tell.
    AllModels,
    /// A product, not a model (`"Claude Code"`, `"claude.ai"`, `"Console"`): shown, but it changes
    /// no model's level.
    Product { name: String },
    /// A model-like name this version cannot read ("Claude Zephyr"), kept as text.
    Unrecognised { text: String },
}

impl IncidentScope {
    /// True when the incident counts against a model of this class. An unrecognised name counts
    /// against every model: it is probably a model we do not know, and we cannot tell which.
    pub fn affects(&self, class: &ModelClass) -> bool {
        match self {
            IncidentScope::Models { patterns, .. } => patterns.iter().any(|p| p.matches(class)),
            IncidentScope::AllModels | IncidentScope::Unrecognised { .. } => true,
            IncidentScope::Product { .. } => false,
        }
    }

    /// [`IncidentScope::affects`] for an API model id. An id that is no model class is affected
    /// only by incidents on every model, since no named model can be it.
    pub fn affects_model_id(&self, model_id: &str) -> bool {
        match ModelClass::from_model_id(model_id) {
            Some(class) => self.affects(&class),
            None => matches!(
                self,
                IncidentScope::AllModels | IncidentScope::Unrecognised { .. }
            ),
        }
    }

    /// True for an incident about a product (Claude Code, claude.ai, the Console).
    pub fn is_product(&self) -> bool {
        matches!(self, IncidentScope::Product { .. })
    }
}

/// Reads what an incident is about from its title and the names of the components it lists. The
/// order of the rules, and why, is in the module documentation.
pub fn parse_incident(title: &str, component_names: &[&str]) -> IncidentScope {
    let reading = read_text(title);
    if reading.all_models {
        return IncidentScope::AllModels;
    }
    if !reading.models.is_empty() {
        return models_scope(reading.models);
    }
    if let Some(text) = reading.unrecognised {
        return IncidentScope::Unrecognised { text };
    }
    if let Some(name) = &reading.product {
        if !reading.says_api {
            return IncidentScope::Product { name: name.clone() };
        }
    }
    let components: Vec<Reading> = component_names.iter().map(|n| read_text(n)).collect();
    let component_models: Vec<Found> = components
        .iter()
        .flat_map(|c| c.models.iter().cloned())
        .collect();
    if !component_models.is_empty() {
        return models_scope(component_models);
    }
    if reading.says_api || reading.about_requests || components.iter().any(|c| c.says_api) {
        return IncidentScope::AllModels;
    }
    let products: Option<Vec<&String>> = components.iter().map(|c| c.product.as_ref()).collect();
    match products.as_deref() {
        Some([first, ..]) => IncidentScope::Product {
            name: (*first).clone(),
        },
        _ => IncidentScope::AllModels,
    }
}

/// The scope of some found models, each pattern once, in the order the text names them.
fn models_scope(found: Vec<Found>) -> IncidentScope {
    let mut patterns: Vec<ModelPattern> = Vec::new();
    let mut names = Vec::new();
    for Found { pattern, name } in found {
        if !patterns.contains(&pattern) {
            patterns.push(pattern);
            names.push(name);
        }
    }
    IncidentScope::Models { patterns, names }
}

/// One model named in a text, with the words it came from.
#[derive(Debug, Clone)]
struct Found {
    pattern: ModelPattern,
    name: String,
}

/// Everything one text (a title or a component name) says.
#[derive(Debug, Default)]
struct Reading {
    models: Vec<Found>,
    all_models: bool,
    unrecognised: Option<String>,
    product: Option<String>,
    /// "API" or `api.anthropic.com`: strong enough to beat a product in the title.
    says_api: bool,
    /// "Messages", "requests", "errors", "latency": the API's symptoms, without saying "API".
    about_requests: bool,
}

/// One piece of a text.
#[derive(Debug, Clone)]
enum Token {
    /// A word as written and in lower case.
    Word { text: String, lower: String },
    /// A list separator: `,`, `/`, `&`, `+`, "and", "or".
    Separator,
    /// Any other punctuation, which ends a list (`:`, `(`, `;`, a dash standing alone).
    Break,
}

/// Splits a text into words, list separators and breaks. Dots, hyphens and underscores stay
/// inside words, so "4.5", "claude.ai" and "claude-opus-4-5" are one word each.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if word.is_empty() {
            return;
        }
        // A sentence's full stop or a dash at the edge of a word is not part of it.
        let trimmed = word.trim_matches(['.', '-', '_']);
        if trimmed.is_empty() {
            tokens.push(Token::Break);
        } else {
            let lower = trimmed.to_lowercase();
            if lower == "and" || lower == "or" {
                tokens.push(Token::Separator);
            } else {
                tokens.push(Token::Word {
                    text: trimmed.to_owned(),
                    lower,
                });
            }
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
            word.push(c);
        } else {
            flush(&mut word, &mut tokens);
            if matches!(c, ',' | '/' | '&' | '+') {
                tokens.push(Token::Separator);
            } else if !c.is_whitespace() {
                tokens.push(Token::Break);
            }
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

/// A word's meaning once model ids and versions are recognised.
#[derive(Debug, Clone)]
enum Item {
    /// "claude", as written.
    Claude(String),
    Family(Family, String),
    /// A version ("4.5", "4.x"), its parts, whether it ended in ".x", and the text.
    Version(Vec<u32>, bool, String),
    /// A whole model id ("claude-sonnet-4-5-20250929", "Opus-4.5").
    ModelId(ModelClass, String),
    /// A word that looks like a model id but is none we can read ("claude-2.1").
    UnreadableId(String),
    /// Any other word, as written and in lower case.
    Word(String, String),
    Separator,
    Break,
}

fn items_of(tokens: Vec<Token>) -> Vec<Item> {
    let mut items = Vec::new();
    for token in tokens {
        match token {
            Token::Separator => items.push(Item::Separator),
            Token::Break => items.push(Item::Break),
            Token::Word { text, lower } => push_word(&mut items, text, lower),
        }
    }
    items
}

fn push_word(items: &mut Vec<Item>, text: String, lower: String) {
    if lower.contains("claude-") || lower.contains("claude_") {
        if let Some(class) = ModelClass::from_model_id(&lower.replace('_', "-")) {
            items.push(Item::ModelId(class, text));
            return;
        }
    }
    if let Some(after_claude) = lower.strip_prefix("claude-") {
        // An id we cannot read ("claude-2.1", "claude-zephyr") is still a model's name, unless
        // it is a product ("claude-code") or a plain word ("claude-status").
        let head = after_claude
            .split(['-', '_', '.'])
            .next()
            .unwrap_or_default();
        let numeric = head.bytes().all(|b| b.is_ascii_digit()) && !head.is_empty();
        if numeric || Family::from_word(head).is_some() {
            items.push(Item::UnreadableId(text));
            return;
        }
    }
    // "Opus-4.5" and "sonnet-4-5" are a family and a version in one word.
    if let Some((head, tail)) = lower.split_once(['-', '_']) {
        if Family::known(head).is_some() && tail.starts_with(|c: char| c.is_ascii_digit()) {
            if let Some(class) = ModelClass::from_model_id(&format!("claude-{lower}")) {
                items.push(Item::ModelId(class, text));
                return;
            }
        }
    }
    if lower == "claude" {
        items.push(Item::Claude(text));
    } else if let Some(family) = Family::known(&lower) {
        items.push(Item::Family(family, text));
    } else if let Some((version, any_minor)) = version_word(&lower) {
        items.push(Item::Version(version, any_minor, text));
    } else if lower.contains(['-', '_']) && !lower.contains('.') {
        // Other hyphenated words ("claude-code", "sign-in") are read as their parts; dotted ones
        // ("api.anthropic.com") are names in their own right.
        let texts = text.split(['-', '_']).filter(|p| !p.is_empty());
        let lowers = lower.split(['-', '_']).filter(|p| !p.is_empty());
        for (part, part_lower) in texts.zip(lowers) {
            push_word(items, part.to_owned(), part_lower.to_owned());
        }
    } else {
        items.push(Item::Word(text, lower));
    }
}

/// Reads one text: its models, and the words that decide the other scopes.
fn read_text(text: &str) -> Reading {
    let items = items_of(tokenize(text));
    let mut unrecognised = None;
    let models = find_models(&items, &mut unrecognised);
    let words = || {
        items.iter().filter_map(|item| match item {
            Item::Word(_, lower) => Some(lower.as_str()),
            _ => None,
        })
    };
    Reading {
        models,
        all_models: says_all_models(&items),
        unrecognised,
        product: find_product(&items),
        // "Claude Developer Platform" is the API's own name.
        says_api: words().any(|w| matches!(w, "api" | "apis" | "api.anthropic.com"))
            || contains_words(&items, &["developer", "platform"]),
        about_requests: words().any(|w| REQUEST_WORDS.contains(&w)),
    }
}

/// The API's symptoms: a title about them and no model or product is about the whole API.
const REQUEST_WORDS: &[&str] = &[
    "messages", "message", "requests", "request", "errors", "error", "latency",
];

/// The lower-case word of an item that is a plain word.
fn word_at(items: &[Item], index: usize) -> Option<&str> {
    match items.get(index) {
        Some(Item::Word(_, lower)) => Some(lower),
        _ => None,
    }
}

/// True when the words appear one after the other.
fn contains_words(items: &[Item], words: &[&str]) -> bool {
    (0..items.len()).any(|start| {
        words
            .iter()
            .enumerate()
            .all(|(offset, word)| word_at(items, start + offset) == Some(*word))
    })
}

/// "all models", "across models", "multiple Claude models", "most of the models"…
fn says_all_models(items: &[Item]) -> bool {
    const QUANTIFIERS: &[&str] = &[
        "all", "multiple", "across", "most", "several", "many", "some", "various", "other",
    ];
    const FILLERS: &[&str] = &["of", "the", "our", "all", "other"];
    for (index, item) in items.iter().enumerate() {
        let Item::Word(_, lower) = item else { continue };
        if !QUANTIFIERS.contains(&lower.as_str()) {
            continue;
        }
        // At most a few filler words, or "Claude", stand between the quantifier and "models".
        let mut next = index + 1;
        for _ in 0..3 {
            match items.get(next) {
                Some(Item::Word(_, w)) if w == "models" => return true,
                Some(Item::Word(_, w)) if FILLERS.contains(&w.as_str()) => next += 1,
                Some(Item::Claude(_)) => next += 1,
                _ => break,
            }
        }
    }
    false
}

/// The first product the items name, in its usual spelling.
fn find_product(items: &[Item]) -> Option<String> {
    for (index, item) in items.iter().enumerate() {
        match item {
            Item::Claude(claude) => {
                let Some(Item::Word(text, lower)) = items.get(index + 1) else {
                    continue;
                };
                if lower == "for" || lower == "in" {
                    // "Claude for Chrome", "Claude in Slack": the product is named by its host.
                    if let Some(Item::Word(host, _)) = items.get(index + 2) {
                        return Some(format!("{claude} {text} {host}"));
                    }
                    continue;
                }
                if let Some(name) = product_after_claude(lower) {
                    return Some(name.to_owned());
                }
            }
            Item::Word(_, lower) => match lower.as_str() {
                "claude.ai" => return Some("claude.ai".to_owned()),
                "console" | "console.anthropic.com" | "platform.claude.com" | "workbench" => {
                    return Some("Console".to_owned())
                }
                _ => {}
            },
            _ => {}
        }
    }
    None
}

/// The product a word after "Claude" makes ("code" → "Claude Code"), if any. Plans and claude.ai
/// features are products too: an incident about them is not about a model.
fn product_after_claude(lower: &str) -> Option<&'static str> {
    Some(match lower {
        "code" => "Claude Code",
        "app" | "apps" => "Claude app",
        "console" => "Console",
        "desktop" => "Claude Desktop",
        "mobile" => "Claude mobile app",
        "ios" => "Claude for iOS",
        "android" => "Claude for Android",
        "web" => "Claude web app",
        "chrome" | "browser" | "extension" => "Claude for Chrome",
        "pro" => "Claude Pro",
        "max" => "Claude Max",
        "team" => "Claude Team",
        "enterprise" => "Claude Enterprise",
        "gov" => "Claude Gov",
        "education" => "Claude for Education",
        "artifacts" => "Claude Artifacts",
        "projects" => "Claude Projects",
        "voice" => "Claude voice mode",
        "research" => "Claude Research",
        _ => return None,
    })
}

/// Words that are never a family, although they stand where one would: after "claude-" in an id
/// (`latest`, `instant`), or after "Claude" in a title, where a title in Title Case ("Claude Is
/// Down", "Claude Login Errors") must not read as a model this version does not know.
const NOT_A_FAMILY: &[&str] = &[
    "latest",
    "instant",
    "fast",
    "preview",
    "beta",
    "v",
    "x",
    "model",
    "models",
    "family",
    "series",
    "line",
    "all",
    "and",
    "or",
    "the",
    "a",
    "an",
    "is",
    "was",
    "has",
    "are",
    "on",
    "in",
    "for",
    "of",
    "to",
    "with",
    "not",
    "may",
    "be",
    "down",
    "login",
    "logins",
    "outage",
    "outages",
    "errors",
    "error",
    "issues",
    "issue",
    "unavailable",
    "degraded",
    "degradation",
    "elevated",
    "increased",
    "service",
    "services",
    "status",
    "users",
    "user",
    "responses",
    "response",
    "availability",
    "performance",
    "latency",
    "requests",
    "request",
    "messages",
    "message",
    "api",
    "apis",
    "sign",
    "signup",
    "account",
    "accounts",
    "billing",
    "usage",
    "limits",
    "rate",
    "slow",
    "partial",
    "major",
    "minor",
    "intermittent",
    "conversations",
    "chats",
    "chat",
    "access",
    "developer",
    "platform",
    "agent",
    "sdk",
];

/// Finds the models the items name. The first model-like name it cannot read (a capitalised
/// "Claude <Word>" that is no family, product or plain word, or an id like "claude-2.1") is
/// written into `unrecognised`.
fn find_models(items: &[Item], unrecognised: &mut Option<String>) -> Vec<Found> {
    let mut reader = ModelReader {
        items,
        index: 0,
        found: Vec::new(),
        last: None,
        unrecognised: None,
    };
    while reader.index < items.len() {
        reader.step();
    }
    *unrecognised = reader.unrecognised;
    reader.found
}

/// The model before the current position in a list, whose family a bare version inherits.
#[derive(Debug, Clone)]
struct LastModel {
    family: Family,
    /// The family as written, for the names of the models that inherit it.
    family_text: String,
    version: Vec<u32>,
}

/// A left-to-right reader of the models in a text's items.
#[derive(Debug)]
struct ModelReader<'a> {
    items: &'a [Item],
    index: usize,
    found: Vec<Found>,
    last: Option<LastModel>,
    unrecognised: Option<String>,
}

impl ModelReader<'_> {
    fn at(&self, offset: usize) -> Option<&Item> {
        self.items.get(self.index + offset)
    }

    /// Reads whatever starts at the current item and moves past it; always moves.
    fn step(&mut self) {
        let items = self.items;
        match &items[self.index] {
            Item::ModelId(class, text) => {
                self.index += 1;
                self.push(
                    class.family.clone(),
                    class.family.display_name(),
                    class.version.clone(),
                    false,
                    text.clone(),
                );
            }
            Item::UnreadableId(text) => {
                if self.unrecognised.is_none() {
                    self.unrecognised = Some(text.clone());
                }
                self.last = None;
                self.index += 1;
            }
            Item::Claude(claude) => self.after_claude(claude),
            Item::Family(family, family_text) => {
                self.index += 1;
                self.after_family(family, family_text, "");
            }
            Item::Separator => self.after_separator(),
            Item::Version(..) | Item::Word(..) | Item::Break => {
                // Anything else ends a list: "Opus 4.5 users and 4.6" does not name Opus 4.6.
                self.last = None;
                self.index += 1;
            }
        }
    }

    /// Records a model, with the line word that may follow it ("Opus 4 models"), and makes it the
    /// one a list continues from.
    fn push(
        &mut self,
        family: Family,
        family_text: String,
        version: Vec<u32>,
        any_minor: bool,
        mut name: String,
    ) {
        let line = self.take_line_word();
        if let Some(word) = &line {
            name = format!("{name} {word}");
        }
        self.found.push(Found {
            pattern: ModelPattern::new(
                family.clone(),
                version.clone(),
                any_minor || line.is_some(),
            ),
            name,
        });
        // A family alone ("Haiku and 4.5") gives a bare version nothing to inherit.
        self.last = (!version.is_empty()).then_some(LastModel {
            family,
            family_text,
            version,
        });
    }

    /// After a model: skips "model" ("the Opus 4.5 model"), and takes "models", "family",
    /// "series" or "line", which make a version a line of models ("Opus 4 models"), returning
    /// the word as written.
    fn take_line_word(&mut self) -> Option<String> {
        let Some(Item::Word(text, lower)) = self.at(0) else {
            return None;
        };
        match lower.as_str() {
            "model" => {
                self.index += 1;
                None
            }
            "models" | "family" | "series" | "line" => {
                let text = text.clone();
                self.index += 1;
                Some(text)
            }
            _ => None,
        }
    }

    /// At "Claude": the legacy order ("Claude 3.5 Haiku"), a known family ("Claude Opus 4.5"), a
    /// family this version does not know ("Claude Zephyr 9"), or a name it cannot read.
    fn after_claude(&mut self, claude: &str) {
        let items = self.items;
        let next = items.get(self.index + 1);
        let after = items.get(self.index + 2);
        match (next, after) {
            (
                Some(Item::Version(version, any_minor, v_text)),
                Some(Item::Family(family, f_text)),
            ) => {
                self.index += 3;
                self.push(
                    family.clone(),
                    f_text.clone(),
                    version.clone(),
                    *any_minor,
                    format!("{claude} {v_text} {f_text}"),
                );
            }
            (Some(Item::Family(family, f_text)), _) => {
                self.index += 2;
                self.after_family(family, f_text, &format!("{claude} "));
            }
            (Some(Item::Word(w_text, w_lower)), _) => {
                match (Family::from_word(w_lower), after) {
                    (Some(family), Some(Item::Version(version, any_minor, v_text))) => {
                        // Probably a new model: kept as text, so a user on it sees the incident.
                        self.index += 3;
                        self.push(
                            family,
                            w_text.clone(),
                            version.clone(),
                            *any_minor,
                            format!("{claude} {w_text} {v_text}"),
                        );
                    }
                    (Some(_), _) => {
                        // Only a capitalised word is a name; "Claude unavailable" is a sentence.
                        let is_name = w_text.starts_with(char::is_uppercase);
                        if is_name && self.unrecognised.is_none() {
                            self.unrecognised = Some(format!("{claude} {w_text}"));
                        }
                        self.last = None;
                        self.index += 2;
                    }
                    (None, _) => {
                        self.last = None;
                        self.index += 1;
                    }
                }
            }
            _ => {
                self.last = None;
                self.index += 1;
            }
        }
    }

    /// After a family word: its version if one follows ("Opus 4.5"), else the whole family
    /// ("Haiku"). `prefix` is "Claude " when the title wrote it, for the name.
    fn after_family(&mut self, family: &Family, family_text: &str, prefix: &str) {
        let items = self.items;
        match items.get(self.index) {
            Some(Item::Version(version, any_minor, v_text)) => {
                self.index += 1;
                self.push(
                    family.clone(),
                    family_text.to_owned(),
                    version.clone(),
                    *any_minor,
                    format!("{prefix}{family_text} {v_text}"),
                );
            }
            _ => {
                self.push(
                    family.clone(),
                    family_text.to_owned(),
                    Vec::new(),
                    true,
                    format!("{prefix}{family_text}"),
                );
            }
        }
    }

    /// At a list separator: a bare version that follows inherits the family of the model before
    /// it ("Opus 4.5, 4.6 and 4.7"), unless it is the legacy order ("…and 3.5 Haiku").
    fn after_separator(&mut self) {
        let items = self.items;
        let mut next = self.index + 1;
        while matches!(items.get(next), Some(Item::Separator)) {
            next += 1;
        }
        let Some(last) = self.last.clone() else {
            self.index = next;
            return;
        };
        match (items.get(next), items.get(next + 1)) {
            (
                Some(Item::Version(version, any_minor, v_text)),
                Some(Item::Family(family, f_text)),
            ) => {
                self.index = next + 2;
                self.push(
                    family.clone(),
                    f_text.clone(),
                    version.clone(),
                    *any_minor,
                    format!("{v_text} {f_text}"),
                );
            }
            (Some(Item::Version(version, any_minor, v_text)), _)
                if close_versions(&last.version, version) =>
            {
                self.index = next + 1;
                self.push(
                    last.family,
                    last.family_text.clone(),
                    version.clone(),
                    *any_minor,
                    format!("{} {v_text}", last.family_text),
                );
            }
            // A separator before a family, "Claude" or an id keeps nothing: they stand alone.
            _ => self.index = next,
        }
    }
}

/// True when a version in a list is plausibly the next model of the same family: within one major
/// version of the one before it.
fn close_versions(previous: &[u32], next: &[u32]) -> bool {
    match (previous.first(), next.first()) {
        (Some(a), Some(b)) => a.abs_diff(*b) <= 1,
        _ => false,
    }
}

/// A word that is a version in a title: `4`, `4.5`, `3.5.1`, `4.x`, `4.X`. Each part has at most
/// two digits, so a year or a date is not one.
fn version_word(lower: &str) -> Option<(Vec<u32>, bool)> {
    let (numbers, any_minor) = match lower.strip_suffix(".x") {
        Some(head) => (head, true),
        None => (lower, false),
    };
    let mut version = Vec::new();
    for part in numbers.split('.') {
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        version.push(parse_number(part)?);
    }
    (version.len() <= 3).then_some((version, any_minor))
}

/// One part of a model id that is a version: `4`, `5`, or a dotted `2.1` (old ids). A date
/// (`20251101`) is not one: each number has at most two digits.
fn version_part(part: &str) -> Option<Vec<u32>> {
    let mut numbers = Vec::new();
    for number in part.split('.') {
        if number.is_empty() || number.len() > 2 {
            return None;
        }
        numbers.push(parse_number(number)?);
    }
    Some(numbers)
}

fn parse_number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Drops trailing zero parts (`[4, 0]` → `[4]`), keeping a lone `[0]`.
fn trim_version(mut version: Vec<u32>) -> Vec<u32> {
    while version.len() > 1 && version.last() == Some(&0) {
        version.pop();
    }
    version
}

/// `[4, 5]` → `"4.5"`.
fn dotted(version: &[u32]) -> String {
    version
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
