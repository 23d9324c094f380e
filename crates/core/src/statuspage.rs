//! The Atlassian Statuspage v2 document model (summary, components, incidents) and its lenient parser.
//!
//! Status pages are text from the internet, and the same JSON shape is served by Atlassian, by
//! incident.io (which omits keys) and by trimmed copies. So every field beyond the bare shape is
//! optional, every enum keeps values it does not know as `Unknown(raw)`, and a timestamp that does
//! not parse becomes `None` rather than failing the whole document. Only a body that is not a JSON
//! object at all is an error.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result};

/// The Claude status page's component for the API: "Claude API (api.anthropic.com)".
pub const CLAUDE_API_COMPONENT_ID: &str = "k8w3r06qmzrp";

/// Declares a string enum whose unknown values survive parsing as `Unknown(raw)`.
///
/// A status page that starts sending a new value must not make us fail, and must not be read as
/// "operational" either: keeping the raw text lets the assessment say exactly what it saw.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The wire spelling of this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown(raw) => raw.as_str(),
                }
            }

            /// Parses the wire spelling; anything else becomes `Unknown`.
            pub fn from_wire(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// True when the value is one this version does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                // A non-string value (a number, null) is as unknown as an unknown string.
                let value = serde_json::Value::deserialize(deserializer)?;
                Ok(match value {
                    serde_json::Value::String(text) => Self::from_wire(&text),
                    other => Self::Unknown(other.to_string()),
                })
            }
        }

        // Serialised as a bare string, so the TypeScript type is the known spellings plus
        // `string` for the values this version does not know; a derive would describe the Rust
        // enum (`{ Unknown: string }`), not the wire.
        #[cfg(feature = "ts")]
        impl ts_rs::TS for $name {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;

            fn docs() -> Option<String> {
                Some(concat!(
                    "/**\n * A status-page value: one of the spellings this version knows, or any other\n",
                    " * string the page sent, kept verbatim.\n */\n"
                ).to_owned())
            }

            fn name(_: &ts_rs::Config) -> String {
                stringify!($name).to_owned()
            }

            fn inline(_: &ts_rs::Config) -> String {
                concat!($("\"", $text, "\" | ",)+ "string").to_owned()
            }

            fn decl(cfg: &ts_rs::Config) -> String {
                format!("type {} = {};", Self::name(cfg), Self::inline(cfg))
            }

            fn decl_concrete(cfg: &ts_rs::Config) -> String {
                Self::decl(cfg)
            }

            fn output_path() -> Option<std::path::PathBuf> {
                Some(std::path::PathBuf::from(concat!(stringify!($name), ".ts")))
            }
        }
    };
}

open_enum! {
    /// The page-wide rollup in `status.indicator`.
    Indicator {
        None => "none",
        Minor => "minor",
        Major => "major",
        Critical => "critical",
        Maintenance => "maintenance",
    }
}

open_enum! {
    /// The state of one component.
    ComponentStatus {
        Operational => "operational",
        DegradedPerformance => "degraded_performance",
        PartialOutage => "partial_outage",
        MajorOutage => "major_outage",
        UnderMaintenance => "under_maintenance",
    }
}

open_enum! {
    /// The life-cycle state of an incident.
    IncidentStatus {
        Investigating => "investigating",
        Identified => "identified",
        Monitoring => "monitoring",
        Resolved => "resolved",
        Postmortem => "postmortem",
    }
}

open_enum! {
    /// The declared impact of an incident or maintenance.
    Impact {
        None => "none",
        Minor => "minor",
        Major => "major",
        Critical => "critical",
        Maintenance => "maintenance",
    }
}

open_enum! {
    /// The life-cycle state of a scheduled maintenance.
    MaintenanceStatus {
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Verifying => "verifying",
        Completed => "completed",
    }
}

impl Default for Indicator {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

impl Default for ComponentStatus {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

impl Default for IncidentStatus {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

impl Default for Impact {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

impl Default for MaintenanceStatus {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

impl IncidentStatus {
    /// Resolved and postmortem incidents are over.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Resolved | Self::Postmortem)
    }
}

impl ComponentStatus {
    /// How bad this state is, for picking the worst of several: 0 is fine, 4 is a major outage.
    /// Unknown values rank just above operational so they are never taken for "fine".
    pub fn severity(&self) -> u8 {
        match self {
            Self::Operational => 0,
            Self::Unknown(_) => 1,
            Self::UnderMaintenance => 1,
            Self::DegradedPerformance => 2,
            Self::PartialOutage => 3,
            Self::MajorOutage => 4,
        }
    }

    /// A short human label ("partial outage").
    pub fn label(&self) -> String {
        match self {
            Self::Unknown(raw) if raw.is_empty() => "unknown".to_owned(),
            Self::Unknown(raw) => format!("unknown state \"{raw}\""),
            other => other.as_str().replace('_', " "),
        }
    }
}

impl MaintenanceStatus {
    /// In progress or being verified: the maintenance window is open.
    pub fn is_active(&self) -> bool {
        matches!(self, Self::InProgress | Self::Verifying)
    }
}

/// `page`: which status page this is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub url: String,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub time_zone: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// `status`: the page-wide rollup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageStatus {
    #[serde(default)]
    pub indicator: Indicator,
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: String,
}

/// One row of `components`: a leaf or a group (the list is flat; see [`component_tree`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: String,
    #[serde(default)]
    pub status: ComponentStatus,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub group_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub group: bool,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub position: Option<i64>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub only_show_if_degraded: bool,
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// One entry of an update's `affected_components`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedComponent {
    /// The component id (Statuspage calls it `code` here).
    #[serde(default, deserialize_with = "lenient_string")]
    pub code: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: String,
    #[serde(default)]
    pub old_status: ComponentStatus,
    #[serde(default)]
    pub new_status: ComponentStatus,
}

/// One post in an incident's timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(default)]
    pub status: IncidentStatus,
    #[serde(default, deserialize_with = "lenient_string")]
    pub body: String,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub display_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub affected_components: Vec<AffectedComponent>,
}

impl IncidentUpdate {
    /// When the update was posted: `display_at` is what the page shows, `created_at` the fallback.
    pub fn posted_at(&self) -> Option<DateTime<Utc>> {
        self.display_at.or(self.created_at)
    }

    /// A key that identifies the update even in trimmed payloads that drop its `id`.
    pub fn key(&self) -> String {
        if !self.id.is_empty() {
            return self.id.clone();
        }
        let at = self.posted_at().map(|t| t.to_rfc3339()).unwrap_or_default();
        format!("{}|{}|{}", at, self.status, fnv1a(self.body.as_bytes()))
    }
}

/// A component as listed on an incident (`components`), possibly without its id in trimmed copies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentComponent {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: String,
    #[serde(default)]
    pub status: ComponentStatus,
}

/// An incident, or (with the extra fields set) a scheduled maintenance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: String,
    #[serde(default)]
    pub status: IncidentStatus,
    #[serde(default)]
    pub impact: Impact,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub shortlink: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub monitoring_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Newest first, as the page sends them (re-sorted on parse, because a trimmed copy may not be).
    #[serde(default, deserialize_with = "lenient_list")]
    pub incident_updates: Vec<IncidentUpdate>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub components: Vec<IncidentComponent>,
}

impl Incident {
    /// A stable key even for payloads that omit `id`.
    pub fn key(&self) -> String {
        if !self.id.is_empty() {
            return self.id.clone();
        }
        if let Some(link) = self.shortlink.as_deref().filter(|l| !l.is_empty()) {
            return link.to_owned();
        }
        let at = self.created_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        format!("{}|{}", fnv1a(self.name.as_bytes()), at)
    }

    /// The newest update, if any.
    pub fn latest_update(&self) -> Option<&IncidentUpdate> {
        self.incident_updates.first()
    }

    /// True when the incident lists the component, by id or (for trimmed copies) by name.
    pub fn touches_component(&self, id: &str, name: &str) -> bool {
        let listed = self
            .components
            .iter()
            .any(|c| (!c.id.is_empty() && c.id == id) || (!name.is_empty() && c.name == name));
        let in_updates = self.incident_updates.iter().any(|u| {
            u.affected_components
                .iter()
                .any(|a| a.code == id || (!name.is_empty() && a.name == name))
        });
        listed || in_updates
    }

    /// True when the incident names no component at all, so it may touch anything.
    pub fn names_no_component(&self) -> bool {
        self.components.is_empty()
            && self
                .incident_updates
                .iter()
                .all(|u| u.affected_components.is_empty())
    }
}

/// A scheduled maintenance: an incident-shaped record with a window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: String,
    #[serde(default)]
    pub status: MaintenanceStatus,
    #[serde(default)]
    pub impact: Impact,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub shortlink: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub scheduled_for: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub scheduled_until: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub incident_updates: Vec<IncidentUpdate>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub components: Vec<IncidentComponent>,
}

impl Maintenance {
    /// A stable key even for payloads that omit `id`.
    pub fn key(&self) -> String {
        if !self.id.is_empty() {
            return self.id.clone();
        }
        let at = self
            .scheduled_for
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        format!("{}|{}", fnv1a(self.name.as_bytes()), at)
    }
}

/// Any Statuspage v2 document: `summary.json`, `status.json`, `components.json`, `incidents.json`
/// or `incidents/{id}.json` (whose body is `{ "incident": … }`). Absent keys stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDocument {
    #[serde(default, deserialize_with = "lenient_opt_object")]
    pub page: Option<Page>,
    #[serde(default, deserialize_with = "lenient_opt_object")]
    pub status: Option<PageStatus>,
    #[serde(default, deserialize_with = "lenient_opt_list")]
    pub components: Option<Vec<Component>>,
    #[serde(default, deserialize_with = "lenient_opt_list")]
    pub incidents: Option<Vec<Incident>>,
    #[serde(default, deserialize_with = "lenient_opt_list")]
    pub scheduled_maintenances: Option<Vec<Maintenance>>,
    /// Set by `incidents/{id}.json`.
    #[serde(default, deserialize_with = "lenient_opt_object")]
    pub incident: Option<Incident>,
}

/// Parses any Statuspage v2 JSON document leniently.
///
/// Errors only when the bytes are empty, not JSON, or not a JSON object; every field inside is
/// optional. Update lists are sorted newest first whatever order they arrived in.
pub fn parse_document(bytes: &[u8]) -> Result<StatusDocument> {
    let trimmed = trim_ascii(bytes);
    if trimmed.is_empty() {
        return Err(Error::Parse("empty body".to_owned()));
    }
    let value: serde_json::Value = serde_json::from_slice(trimmed).map_err(|e| {
        if e.is_eof() {
            Error::Parse(format!("truncated JSON ({e})"))
        } else {
            Error::Parse(format!("not valid JSON ({e})"))
        }
    })?;
    if !value.is_object() {
        return Err(Error::Parse(format!(
            "expected a JSON object, got {}",
            json_kind(&value)
        )));
    }
    let mut document: StatusDocument = serde_json::from_value(value)
        .map_err(|e| Error::Parse(format!("unexpected document shape ({e})")))?;
    for incident in document
        .incidents
        .iter_mut()
        .flatten()
        .chain(document.incident.iter_mut())
    {
        sort_newest_first(&mut incident.incident_updates);
    }
    for maintenance in document.scheduled_maintenances.iter_mut().flatten() {
        sort_newest_first(&mut maintenance.incident_updates);
    }
    Ok(document)
}

/// Parses a `summary.json` body into the page the rest of the app works with.
///
/// A document without a `status` or `components` key is not a summary (it may be a challenge page
/// that happens to be JSON, or another endpoint): it is an error, so the caller reports "unknown".
pub fn parse_summary(bytes: &[u8]) -> Result<StatusPage> {
    let document = parse_document(bytes)?;
    if document.status.is_none() && document.components.is_none() {
        return Err(Error::Parse(
            "JSON has neither \"status\" nor \"components\": not a status-page summary".to_owned(),
        ));
    }
    Ok(StatusPage::from(document))
}

/// Parses an `incidents.json` body into its incidents, newest first.
pub fn parse_incidents(bytes: &[u8]) -> Result<Vec<Incident>> {
    let document = parse_document(bytes)?;
    document.incidents.ok_or_else(|| {
        Error::Parse("JSON has no \"incidents\" list: not an incidents document".to_owned())
    })
}

/// Parses an `incidents/{id}.json` body into its incident.
pub fn parse_incident(bytes: &[u8]) -> Result<Incident> {
    let document = parse_document(bytes)?;
    document.incident.ok_or_else(|| {
        Error::Parse("JSON has no \"incident\" object: not an incident document".to_owned())
    })
}

/// One status page as of one fetch: what the rest of the app reasons about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPage {
    pub page: Page,
    pub status: PageStatus,
    pub components: Vec<Component>,
    /// Unresolved incidents (a summary lists only those).
    pub incidents: Vec<Incident>,
    /// Upcoming and in-progress maintenances.
    pub maintenances: Vec<Maintenance>,
}

impl From<StatusDocument> for StatusPage {
    fn from(document: StatusDocument) -> Self {
        Self {
            page: document.page.unwrap_or_default(),
            status: document.status.unwrap_or_default(),
            components: document.components.unwrap_or_default(),
            incidents: document.incidents.unwrap_or_default(),
            maintenances: document.scheduled_maintenances.unwrap_or_default(),
        }
    }
}

impl StatusPage {
    /// The component with this id.
    pub fn component(&self, id: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }

    /// The name of the group a component belongs to, rebuilt from `group_id`.
    pub fn group_name(&self, component: &Component) -> Option<&str> {
        let group_id = component.group_id.as_deref()?;
        self.component(group_id).map(|g| g.name.as_str())
    }

    /// Leaf components (groups excluded), in page order.
    pub fn leaf_components(&self) -> impl Iterator<Item = &Component> {
        self.components.iter().filter(|c| !c.group)
    }

    /// Unresolved incidents (a summary should list only those, but a cached copy may lag).
    pub fn active_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.iter().filter(|i| !i.status.is_closed())
    }
}

/// A group and its members, in position order; a component with no group is its own top-level node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentNode<'a> {
    pub component: &'a Component,
    pub children: Vec<&'a Component>,
}

/// Rebuilds the component tree from the flat list's `group_id`s.
///
/// Array order is not tree order and `position` counts within a level, so both levels are sorted
/// by position (then name). A child whose group is missing from the list is shown at the top level
/// rather than dropped.
pub fn component_tree(components: &[Component]) -> Vec<ComponentNode<'_>> {
    let ids: std::collections::HashSet<&str> = components.iter().map(|c| c.id.as_str()).collect();
    let mut children: BTreeMap<&str, Vec<&Component>> = BTreeMap::new();
    let mut top: Vec<&Component> = Vec::new();
    for component in components {
        match component.group_id.as_deref() {
            Some(group) if ids.contains(group) && group != component.id => {
                children.entry(group).or_default().push(component)
            }
            _ => top.push(component),
        }
    }
    let order = |a: &&Component, b: &&Component| {
        (a.position.unwrap_or(i64::MAX), &a.name).cmp(&(b.position.unwrap_or(i64::MAX), &b.name))
    };
    top.sort_by(order);
    top.into_iter()
        .map(|component| {
            let mut members = children.remove(component.id.as_str()).unwrap_or_default();
            members.sort_by(order);
            ComponentNode {
                component,
                children: members,
            }
        })
        .collect()
}

fn sort_newest_first(updates: &mut [IncidentUpdate]) {
    // A stable sort keeps the page's own order for updates without a time.
    updates.sort_by_key(|u| std::cmp::Reverse(u.posted_at()));
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A small stable hash for synthetic keys (FNV-1a, 64 bit); not for security.
pub(crate) fn fnv1a(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(lenient_opt_string(d)?.unwrap_or_default())
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(matches!(
        serde_json::Value::deserialize(d)?,
        serde_json::Value::Bool(true)
    ))
}

fn lenient_opt_i64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    Ok(serde_json::Value::deserialize(d)?.as_i64())
}

fn lenient_time<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(text) => parse_time(&text),
        _ => None,
    })
}

/// Parses an RFC 3339 time, or a bare date (as `start_date` uses) at midnight UTC.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A list whose malformed items are skipped, and which is empty when null or not a list.
fn lenient_list<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(lenient_opt_list(d)?.unwrap_or_default())
}

/// An object, or `None` when the value is not one: `"page": "Claude"` must not fail the document
/// (serde would otherwise read a list as a struct, or refuse a string).
fn lenient_opt_object<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match serde_json::Value::deserialize(d)? {
        value @ serde_json::Value::Object(_) => serde_json::from_value(value).ok(),
        _ => None,
    })
}

fn lenient_opt_list<'de, D, T>(d: D) -> std::result::Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => Some(
            items
                .into_iter()
                .filter(serde_json::Value::is_object)
                .filter_map(|item| serde_json::from_value(item).ok())
                .collect(),
        ),
        _ => None,
    })
}
