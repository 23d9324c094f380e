//! The tray's look for a snapshot: the colour and glyph of each level, the icon pixels, and the
//! title and tooltip text. All of it is decided here, from plain data, so the Tauri shell only
//! hands the bytes and strings to the OS.
//!
//! The icon is a filled disc in the level colour with a glyph on it. The glyph differs for every
//! level, so the state reads without colour (colour-blind users, monochrome panels). Shapes are
//! described by signed distance functions in a unit square and rasterised with analytic coverage,
//! which anti-aliases every edge without supersampling and stays crisp from 16 px to 1024 px.

use chrono::{DateTime, Utc};

use crate::level::Level;
use crate::report::Snapshot;
use crate::tracker::TrackerSnapshot;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// The colour as `#RRGGBB`, for the UI and the docs.
    pub fn hex(self) -> String {
        format!("#{:02X}{:02X}{:02X}", self.0, self.1, self.2)
    }
}

/// The white drawn on dark discs, and the only colour of the monochrome icon.
pub const WHITE: Rgb = Rgb(0xFF, 0xFF, 0xFF);
/// The dark ink drawn on the light (yellow) disc, where white would not read.
pub const INK: Rgb = Rgb(0x1F, 0x23, 0x28);

/// The colour of the disc for a level.
///
/// The colours are mid-tones so the disc stands out on both light and dark panels; orange sits
/// between yellow and red in both hue and lightness so the three stay apart, and the two greys
/// differ in lightness so "offline" and "unknown" are not the same icon in a colour screenshot.
pub fn level_color(level: Level) -> Rgb {
    match level {
        Level::Operational => Rgb(0x2E, 0xA0, 0x43),
        Level::Degraded => Rgb(0xD4, 0xA7, 0x2C),
        Level::Overloaded => Rgb(0xE8, 0x70, 0x2A),
        Level::Outage => Rgb(0xD1, 0x24, 0x2F),
        Level::Maintenance => Rgb(0x2F, 0x81, 0xF7),
        Level::Offline => Rgb(0x65, 0x6D, 0x76),
        Level::Unknown => Rgb(0x8C, 0x95, 0x9F),
    }
}

/// The colour of the glyph on the disc: white, except dark ink on yellow, where white has a
/// contrast ratio of about 2:1 and would vanish at 16 px.
pub fn glyph_color(level: Level) -> Rgb {
    match level {
        Level::Degraded => INK,
        _ => WHITE,
    }
}

/// The symbol drawn on the disc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Glyph {
    /// A check mark: operational.
    Check,
    /// An exclamation mark: degraded.
    Exclamation,
    /// A lightning bolt: overloaded.
    Bolt,
    /// A diagonal cross: outage.
    Cross,
    /// A wrench: maintenance.
    Wrench,
    /// A horizontal dash: offline, we cannot tell anything.
    Dash,
    /// A question mark: unknown.
    Question,
}

/// The glyph of a level; every level has its own.
pub fn level_glyph(level: Level) -> Glyph {
    match level {
        Level::Operational => Glyph::Check,
        Level::Degraded => Glyph::Exclamation,
        Level::Overloaded => Glyph::Bolt,
        Level::Outage => Glyph::Cross,
        Level::Maintenance => Glyph::Wrench,
        Level::Offline => Glyph::Dash,
        Level::Unknown => Glyph::Question,
    }
}

/// The short name of a level, capitalised, for the first line of the tray menu ("Overloaded").
pub fn level_label(level: Level) -> &'static str {
    match level {
        Level::Operational => "Operational",
        Level::Degraded => "Degraded",
        Level::Overloaded => "Overloaded",
        Level::Outage => "Outage",
        Level::Maintenance => "Maintenance",
        Level::Offline => "Offline",
        Level::Unknown => "Unknown",
    }
}

/// The tray icon of a level: `size`×`size` RGBA8 pixels, row by row, straight (not
/// premultiplied) alpha. A disc in the level colour with the glyph in [`glyph_color`], transparent
/// outside the disc.
///
/// Designed for 8..=1024 px; any size works, and 0 gives an empty buffer. Fully transparent pixels
/// carry the disc colour, so a scaler that ignores alpha does not draw a dark fringe.
pub fn render_icon(level: Level, size: u32) -> Vec<u8> {
    let disc = level_color(level);
    let ink = glyph_color(level);
    render(level_glyph(level), size, |disc_coverage, glyph_coverage| {
        // The glyph lies inside the disc, so its coverage only blends the colour; the disc alone
        // decides the alpha.
        let mix = |from: u8, to: u8| {
            to_byte(f32::from(from) + (f32::from(to) - f32::from(from)) * glyph_coverage)
        };
        [
            mix(disc.0, ink.0),
            mix(disc.1, ink.1),
            mix(disc.2, ink.2),
            to_byte(255.0 * disc_coverage),
        ]
    })
}

/// The monochrome tray icon of a level: a white disc with the glyph cut out, for panels that
/// want template icons (macOS `icon_as_template`, which only reads the alpha) or a single colour.
/// Same layout and size rules as [`render_icon`]; every pixel is white, only the alpha varies.
pub fn render_icon_mono(level: Level, size: u32) -> Vec<u8> {
    render(level_glyph(level), size, |disc_coverage, glyph_coverage| {
        let alpha = disc_coverage * (1.0 - glyph_coverage);
        [WHITE.0, WHITE.1, WHITE.2, to_byte(255.0 * alpha)]
    })
}

/// What the tray shows for a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayLook {
    pub level: Level,
    pub color: Rgb,
    pub glyph: Glyph,
    /// One line for the top of the tray menu, where Linux panels show no tooltip:
    /// "Overloaded — 529 on 4 of the last 5 probes", at most [`TITLE_MAX_CHARS`] characters.
    ///
    /// Plain text. A menu toolkit may read `&` as a mnemonic marker (muda does), so the shell
    /// escapes it for menus.
    pub title: String,
    /// Several lines for the hover tooltip: the headline, the top reason, the user's usage (when
    /// tracked: cost today and the highest share of a per-minute limit), when we last checked,
    /// and whether notifications are paused; at most [`TOOLTIP_MAX_CHARS`] characters.
    ///
    /// The times are relative to the `now` given to [`tray_look`] ("checked 2 min ago"), so the
    /// text needs no time zone; the shell recomputes the look when a new snapshot arrives.
    pub tooltip: String,
}

/// The longest title, in characters; longer reasons end with an ellipsis.
pub const TITLE_MAX_CHARS: usize = 80;
/// The longest tooltip, in characters: Windows keeps 127 characters of a tray tooltip and drops the
/// rest, so we shorten the reason ourselves instead.
pub const TOOLTIP_MAX_CHARS: usize = 127;

/// The tray's look for a snapshot at `now`, with notifications paused until `paused_until` (a
/// time already past means not paused).
pub fn tray_look(
    snapshot: &Snapshot,
    now: DateTime<Utc>,
    paused_until: Option<DateTime<Utc>>,
) -> TrayLook {
    let level = snapshot.level;
    let reason = snapshot
        .reasons
        .iter()
        .map(|r| one_line(r))
        .find(|r| !r.is_empty());

    let title = match &reason {
        Some(reason) => shorten(
            &format!("{} — {reason}", level_label(level)),
            TITLE_MAX_CHARS,
        ),
        None => level_label(level).to_owned(),
    };

    // Before the first check the reason already says so ("no check has completed yet").
    let mut tail: Vec<String> = snapshot
        .checked_at
        .map(|at| format!("checked {}", ago(now, at)))
        .into_iter()
        .collect();
    if let Some(until) = paused_until.filter(|until| *until > now) {
        tail.push(format!(
            "notifications paused for {}",
            duration_text(until - now, Rounding::Up)
        ));
    }
    // A full disk or a read-only data directory does not change the level, but the user should
    // know that what they see now will not be in the history later.
    if snapshot.history_not_saved.is_some() {
        tail.push("history not being saved".to_owned());
    }
    let headline = level.headline();
    // The room left for the reason (minus its own newline) when `usage` is shown too.
    let reason_room = |usage: Option<&String>| {
        let fixed = headline.chars().count()
            + usage
                .into_iter()
                .chain(&tail)
                .map(|line| line.chars().count() + 1)
                .sum::<usize>();
        TOOLTIP_MAX_CHARS.saturating_sub(fixed + 1)
    };
    let mut usage = snapshot.usage.as_ref().map(usage_line);
    // The reason says what is wrong, so the usage line gives way when the tooltip is crowded.
    if reason.is_some() && reason_room(usage.as_ref()) < REASON_MIN_CHARS {
        usage = None;
    }
    let mut lines = vec![headline.to_owned()];
    if let Some(reason) = &reason {
        let room = reason_room(usage.as_ref());
        if room >= 12 {
            lines.push(shorten(reason, room));
        }
    }
    lines.extend(usage);
    lines.extend(tail);
    let tooltip = shorten(&lines.join("\n"), TOOLTIP_MAX_CHARS);

    TrayLook {
        level,
        color: level_color(level),
        glyph: level_glyph(level),
        title,
        tooltip,
    }
}

/// The longest usage line, in characters.
const USAGE_MAX_CHARS: usize = 48;
/// The room a reason keeps in the tooltip before the usage line is left out.
const REASON_MIN_CHARS: usize = 32;

/// One short line on the user's own usage: "today $1.23 · 42% of RPM (opus-4)". The share is the
/// highest of any class against any of its per-minute limits; a cost with unknown prices is a
/// lower bound ("today at least $1.23"). Figures the tracker does not have are left out, never
/// shown as zero.
pub fn usage_line(usage: &TrackerSnapshot) -> String {
    let mut parts = Vec::new();
    let cost = &usage.today.cost;
    if cost.source.is_some() {
        let at_least = if cost.includes_unknown_price {
            "at least "
        } else {
            ""
        };
        parts.push(format!("today {at_least}${:.2}", cost.usd));
    }
    let highest = usage
        .windows
        .iter()
        .flat_map(|window| {
            [
                ("RPM", window.requests_fraction),
                ("ITPM", window.input_tokens_fraction),
                ("OTPM", window.output_tokens_fraction),
            ]
            .into_iter()
            .filter_map(move |(limit, fraction)| {
                fraction
                    .filter(|f| f.is_finite())
                    .map(|f| (f, limit, window.class.as_str()))
            })
        })
        // The first of equal shares wins: classes are sorted, and requests come first.
        .fold(None, |best: Option<(f64, &str, &str)>, next| match best {
            Some(best) if best.0 >= next.0 => Some(best),
            _ => Some(next),
        });
    if let Some((fraction, limit, class)) = highest {
        parts.push(format!(
            "{:.0}% of {limit} ({class})",
            (fraction * 100.0).max(0.0)
        ));
    }
    if parts.is_empty() {
        "no usage recorded today".to_owned()
    } else {
        // A class the catalog does not know is named by its model id, which can be long.
        shorten(&parts.join(" · "), USAGE_MAX_CHARS)
    }
}

/// Collapses runs of whitespace (newlines included) to single spaces: a menu line and a tooltip
/// line are one line each.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Shortens `text` to at most `max_chars` characters, ending with "…" when something was cut.
/// Cuts at a word boundary when one is near, so the text does not end in half a word.
pub fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    if max_chars == 0 {
        return String::new();
    }
    let kept: String = text.chars().take(max_chars - 1).collect();
    let cut_between_words = text
        .chars()
        .nth(max_chars - 1)
        .is_some_and(char::is_whitespace);
    let word_end = kept
        .rfind(char::is_whitespace)
        .filter(|_| !cut_between_words)
        .filter(|&i| kept[..i].chars().count() * 4 >= (max_chars - 1) * 3);
    let kept = match word_end {
        Some(i) => &kept[..i],
        None => kept.as_str(),
    };
    let kept = kept.trim_end_matches(|c: char| c.is_whitespace() || ",;:—-".contains(c));
    format!("{kept}…")
}

/// "just now", "12 s ago", "3 min ago", "2 h ago", "4 days ago". A time in the future (a clock
/// that stepped back) reads as "just now".
fn ago(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let elapsed = now - at;
    if elapsed.num_seconds() < 5 {
        return "just now".to_owned();
    }
    format!("{} ago", duration_text(elapsed, Rounding::Down))
}

#[derive(Clone, Copy)]
enum Rounding {
    /// For elapsed time: "59 s" stays "59 s", "119 s" is "1 min".
    Down,
    /// For time left: 30 s left is "1 min", never "0 min".
    Up,
}

fn duration_text(duration: chrono::TimeDelta, rounding: Rounding) -> String {
    let seconds = duration.num_seconds().max(0);
    let minutes = match rounding {
        Rounding::Down => seconds / 60,
        Rounding::Up => (seconds + 59) / 60,
    };
    if matches!(rounding, Rounding::Down) && seconds < 60 {
        format!("{seconds} s")
    } else if minutes < 60 {
        format!("{minutes} min")
    } else if minutes < 48 * 60 {
        let (hours, rest) = (minutes / 60, minutes % 60);
        match (rounding, rest) {
            (_, 0) | (Rounding::Down, _) => format!("{hours} h"),
            (Rounding::Up, rest) => format!("{hours} h {rest} min"),
        }
    } else {
        format!("{} days", minutes / (24 * 60))
    }
}

// --- Rasterising -------------------------------------------------------------------------------

/// The stroke width of line glyphs, as a fraction of the icon size.
const STROKE: f32 = 0.14;

/// Rasterises the disc and `glyph` at `size`, asking `shade` for each pixel's RGBA given the
/// disc's and the glyph's coverage (0..=1).
fn render(glyph: Glyph, size: u32, shade: impl Fn(f32, f32) -> [u8; 4]) -> Vec<u8> {
    let side = size as usize;
    let mut pixels = Vec::with_capacity(side * side * 4);
    if size == 0 {
        return pixels;
    }
    let scale = size as f32;
    let (stroke, offset) = snapped_stroke(size);
    let (stroke, offset) = (stroke / scale, offset / scale);
    // The disc's edge sits half a pixel inside the image, so its anti-aliased rim is not clipped.
    let radius = 0.5 - 0.5 / scale;
    for y in 0..size {
        for x in 0..size {
            let p = Point((x as f32 + 0.5) / scale, (y as f32 + 0.5) / scale);
            let disc_coverage = coverage(circle(p, Point(0.5, 0.5), radius), scale);
            let glyph_coverage = if disc_coverage > 0.0 {
                let shifted = Point(p.0 - offset, p.1 - offset);
                coverage(glyph_distance(glyph, shifted, stroke, scale), scale).min(disc_coverage)
            } else {
                0.0
            };
            pixels.extend_from_slice(&shade(disc_coverage, glyph_coverage));
        }
    }
    pixels
}

/// The stroke width in pixels and the offset (in pixels, both axes) of the glyph. Below 96 px the
/// stroke is rounded to whole pixels, and when its parity differs from the size's the glyph moves
/// by half a pixel: strokes through the centre (the dash, the "!") then start and end on pixel
/// boundaries and stay sharp instead of smearing over two half-covered columns.
fn snapped_stroke(size: u32) -> (f32, f32) {
    let ideal = STROKE * size as f32;
    if size >= 96 {
        return (ideal, 0.0);
    }
    let whole = ideal.round().max(1.0);
    let offset = if whole as u32 % 2 == size % 2 {
        0.0
    } else {
        0.5
    };
    (whole, offset)
}

/// Pixel coverage from a signed distance in unit space: 1 well inside, 0 well outside, linear
/// over the one pixel that straddles the edge.
fn coverage(distance: f32, scale: f32) -> f32 {
    (0.5 - distance * scale).clamp(0.0, 1.0)
}

fn to_byte(value: f32) -> u8 {
    value.round().clamp(0.0, 255.0) as u8
}

#[derive(Debug, Clone, Copy)]
struct Point(f32, f32);

impl Point {
    fn minus(self, other: Point) -> Point {
        Point(self.0 - other.0, self.1 - other.1)
    }
    fn dot(self, other: Point) -> f32 {
        self.0 * other.0 + self.1 * other.1
    }
    fn length(self) -> f32 {
        self.dot(self).sqrt()
    }
}

/// The signed distance from `p` to the glyph: negative inside. Coordinates are in the unit
/// square, y pointing down, the disc centred at (0.5, 0.5) with radius 0.5.
fn glyph_distance(glyph: Glyph, p: Point, stroke: f32, scale: f32) -> f32 {
    let half = stroke / 2.0;
    match glyph {
        Glyph::Check => polyline(
            p,
            &[Point(0.27, 0.47), Point(0.425, 0.625), Point(0.725, 0.31)],
            half,
        ),
        Glyph::Exclamation => capsule(p, Point(0.5, 0.25), Point(0.5, 0.56), half).min(circle(
            p,
            Point(0.5, 0.745),
            half * 1.12,
        )),
        Glyph::Bolt => polygon(
            p,
            &[
                Point(0.52, 0.14),
                Point(0.28, 0.565),
                Point(0.465, 0.565),
                Point(0.405, 0.885),
                Point(0.735, 0.425),
                Point(0.55, 0.425),
                Point(0.685, 0.14),
            ],
        ),
        Glyph::Cross => capsule(p, Point(0.335, 0.335), Point(0.665, 0.665), half).min(capsule(
            p,
            Point(0.665, 0.335),
            Point(0.335, 0.665),
            half,
        )),
        Glyph::Wrench => {
            // A handle from the lower left to a round head at the upper right whose open jaw
            // faces away from the handle. The jaw stays at least two pixels wide, or small icons
            // would close it and draw a key.
            let head_centre = Point(0.6, 0.4);
            let handle = capsule(p, Point(0.3, 0.7), head_centre, half);
            let jaw_half = (half * 0.8).max(1.0 / scale);
            let jaw = capsule(p, Point(0.645, 0.355), Point(0.9, 0.1), jaw_half);
            let head = circle(p, head_centre, 0.185).max(-jaw);
            handle.min(head)
        }
        Glyph::Dash => capsule(p, Point(0.285, 0.5), Point(0.715, 0.5), half),
        Glyph::Question => {
            // A hook (an arc from the left, over the top and down the right, back to the bottom
            // of its circle), a short stem below the centre, and a dot.
            let centre = Point(0.5, 0.375);
            let radius = 0.135;
            let start = std::f32::consts::PI * 0.95;
            let sweep = std::f32::consts::PI * 1.55;
            arc(p, centre, radius, start, sweep, half)
                .min(capsule(
                    p,
                    Point(0.5, centre.1 + radius),
                    Point(0.5, 0.565),
                    half,
                ))
                .min(circle(p, Point(0.5, 0.76), half * 1.12))
        }
    }
}

fn circle(p: Point, centre: Point, radius: f32) -> f32 {
    p.minus(centre).length() - radius
}

/// A thick segment with round ends.
fn capsule(p: Point, a: Point, b: Point, half_width: f32) -> f32 {
    let pa = p.minus(a);
    let ba = b.minus(a);
    let t = (pa.dot(ba) / ba.dot(ba)).clamp(0.0, 1.0);
    Point(pa.0 - ba.0 * t, pa.1 - ba.1 * t).length() - half_width
}

/// Thick segments joined end to end, with round joins and ends.
fn polyline(p: Point, points: &[Point], half_width: f32) -> f32 {
    points
        .windows(2)
        .map(|pair| capsule(p, pair[0], pair[1], half_width))
        .fold(f32::INFINITY, f32::min)
}

/// A thick circular arc starting at angle `start` (radians, y down, so increasing angles turn
/// clockwise on screen) and turning by `sweep`, with round ends.
fn arc(p: Point, centre: Point, radius: f32, start: f32, sweep: f32, half_width: f32) -> f32 {
    let q = p.minus(centre);
    let angle = q.1.atan2(q.0);
    let along = (angle - start).rem_euclid(std::f32::consts::TAU);
    let distance = if along <= sweep {
        (q.length() - radius).abs()
    } else {
        let at = |a: f32| Point(centre.0 + radius * a.cos(), centre.1 + radius * a.sin());
        p.minus(at(start))
            .length()
            .min(p.minus(at(start + sweep)).length())
    };
    distance - half_width
}

/// The signed distance to a simple polygon (after Inigo Quilez's `sdPolygon`).
fn polygon(p: Point, vertices: &[Point]) -> f32 {
    let Some(&first) = vertices.first() else {
        return f32::INFINITY;
    };
    let mut squared = p.minus(first).dot(p.minus(first));
    let mut sign = 1.0;
    let mut j = vertices.len() - 1;
    for i in 0..vertices.len() {
        let (vi, vj) = (vertices[i], vertices[j]);
        let e = vj.minus(vi);
        let w = p.minus(vi);
        let t = (w.dot(e) / e.dot(e)).clamp(0.0, 1.0);
        let b = Point(w.0 - e.0 * t, w.1 - e.1 * t);
        squared = squared.min(b.dot(b));
        let crossings = [p.1 >= vi.1, p.1 < vj.1, e.0 * w.1 > e.1 * w.0];
        if crossings.iter().all(|&c| c) || crossings.iter().all(|&c| !c) {
            sign = -sign;
        }
        j = i;
    }
    sign * squared.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strokes_snap_to_whole_pixels_centred_on_the_pixel_grid() {
        for size in 8..96 {
            let (stroke, offset) = snapped_stroke(size);
            assert_eq!(stroke.fract(), 0.0, "size {size}");
            assert!((stroke - STROKE * size as f32).abs() <= 0.5, "size {size}");
            // A stroke centred at size / 2 + offset has whole-pixel edges.
            let edge = size as f32 / 2.0 + offset - stroke / 2.0;
            assert_eq!(edge.fract(), 0.0, "size {size}");
        }
    }

    #[test]
    fn shorten_cuts_at_a_word_and_adds_an_ellipsis() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("one two three four", 12), "one two thr…");
        assert_eq!(shorten("alpha beta gamma delta", 20), "alpha beta gamma…");
        assert_eq!(shorten("alpha beta gamma delta", 17), "alpha beta gamma…");
        assert_eq!(shorten("alpha beta gamma, delta", 18), "alpha beta gamma…");
        assert_eq!(shorten("abcdefghijklmnop", 8), "abcdefg…");
        assert_eq!(shorten("ééééééé", 4), "ééé…");
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        let s = chrono::TimeDelta::seconds;
        assert_eq!(duration_text(s(12), Rounding::Down), "12 s");
        assert_eq!(duration_text(s(119), Rounding::Down), "1 min");
        assert_eq!(duration_text(s(30), Rounding::Up), "1 min");
        assert_eq!(duration_text(s(42 * 60), Rounding::Up), "42 min");
        assert_eq!(duration_text(s(3 * 3600 + 60), Rounding::Down), "3 h");
        assert_eq!(duration_text(s(3600 + 5 * 60), Rounding::Up), "1 h 5 min");
        assert_eq!(duration_text(s(3 * 86400), Rounding::Down), "3 days");
    }

    mod usage {
        use super::super::*;
        use crate::catalog::Catalog;
        use crate::tracker::{
            ClassWindow, CostFigure, CostSource, Tracker, TrackerConfig, TrackerSnapshot,
        };

        fn now() -> DateTime<Utc> {
            DateTime::parse_from_rfc3339("2026-08-21T12:41:00Z")
                .unwrap()
                .with_timezone(&Utc)
        }

        fn window(class: &str, fractions: [Option<f64>; 3]) -> ClassWindow {
            ClassWindow {
                class: class.to_owned(),
                known_class: true,
                requests: 0,
                input_tokens: 0,
                cache_read_tokens: 0,
                cache_reads_counted: false,
                output_tokens: 0,
                limits: None,
                requests_fraction: fractions[0],
                input_tokens_fraction: fractions[1],
                output_tokens_fraction: fractions[2],
                live: None,
            }
        }

        /// A tracker snapshot with today's cost (when given) and these windows.
        fn tracked(today: Option<(f64, bool)>, windows: Vec<ClassWindow>) -> TrackerSnapshot {
            let config = TrackerConfig {
                tier: Some("tier-1".to_owned()),
                ..TrackerConfig::default()
            };
            let mut usage = Tracker::new(Catalog::builtin(), config).snapshot(now());
            if let Some((usd, unknown)) = today {
                usage.today.cost = CostFigure {
                    usd,
                    includes_unknown_price: unknown,
                    source: Some(CostSource::ClaudeCodeLogs),
                    ..CostFigure::default()
                };
            }
            usage.windows = windows;
            usage
        }

        fn snapshot(reason: &str, usage: Option<TrackerSnapshot>) -> Snapshot {
            Snapshot {
                level: Level::Operational,
                reasons: vec![reason.to_owned()],
                checked_at: Some(now() - chrono::TimeDelta::minutes(2)),
                usage,
                ..Snapshot::initial()
            }
        }

        #[test]
        fn the_tooltip_says_when_history_is_not_being_saved() {
            let mut unsaved = snapshot("all good", None);
            assert!(!tray_look(&unsaved, now(), None)
                .tooltip
                .contains("history not being saved"));
            unsaved.history_not_saved =
                Some("history is not being saved: the disk is full (SQLITE_FULL)".to_owned());
            let look = tray_look(&unsaved, now(), None);
            assert!(
                look.tooltip.ends_with("history not being saved"),
                "{}",
                look.tooltip
            );
        }

        #[test]
        fn the_line_names_cost_today_and_the_highest_share_of_a_limit() {
            let check = |usage: TrackerSnapshot, expected: &str| {
                assert_eq!(usage_line(&usage), expected);
            };
            let windows = vec![
                window("haiku-4-5", [Some(0.1), Some(0.3), Some(0.05)]),
                window("opus-4", [Some(0.42), Some(0.2), None]),
                window("sonnet-4", [None, None, Some(0.41)]),
            ];
            check(
                tracked(Some((1.234, false)), windows.clone()),
                "today $1.23 · 42% of RPM (opus-4)",
            );
            check(
                tracked(Some((1.234, true)), windows.clone()),
                "today at least $1.23 · 42% of RPM (opus-4)",
            );
            check(
                tracked(
                    Some((0.0, false)),
                    vec![window("sonnet-4", [Some(0.5), Some(0.996), Some(0.2)])],
                ),
                "today $0.00 · 100% of ITPM (sonnet-4)",
            );
            // Over a limit reads as over it.
            check(
                tracked(None, vec![window("opus-4", [None, None, Some(1.3)])]),
                "130% of OTPM (opus-4)",
            );
            // No limits known: only the cost; nothing recorded at all: said so, no "$0.00".
            check(
                tracked(Some((12.5, false)), vec![window("x", [None, None, None])]),
                "today $12.50",
            );
            check(tracked(None, vec![]), "no usage recorded today");
            // Equal shares: the first class, requests before tokens.
            check(
                tracked(
                    None,
                    vec![
                        window("haiku-4-5", [None, Some(0.5), None]),
                        window("opus-4", [Some(0.5), None, None]),
                    ],
                ),
                "50% of ITPM (haiku-4-5)",
            );
        }

        #[test]
        fn the_tooltip_gets_the_usage_line_and_the_title_does_not() {
            let without = tray_look(&snapshot("all 5 recent probes answered", None), now(), None);
            let usage = tracked(
                Some((1.234, false)),
                vec![window("opus-4", [Some(0.42), None, None])],
            );
            let with = tray_look(
                &snapshot("all 5 recent probes answered", Some(usage)),
                now(),
                None,
            );
            assert_eq!(with.title, without.title);
            assert_eq!(
                without.tooltip,
                "Claude API operational\nall 5 recent probes answered\nchecked 2 min ago"
            );
            assert_eq!(
                with.tooltip,
                "Claude API operational\nall 5 recent probes answered\ntoday $1.23 · 42% of RPM (opus-4)\nchecked 2 min ago"
            );
        }

        #[test]
        fn a_long_reason_keeps_its_room_and_the_tooltip_its_length() {
            let long = "API unreachable on 3 probes in a row: error sending request for url \
                        (https://api.anthropic.com/v1/messages): client error (Connect): dns error";
            let usage = tracked(
                Some((1234.5, true)),
                vec![window(
                    "claude-some-very-long-model-id-20990101",
                    [Some(0.9), None, None],
                )],
            );
            let look = tray_look(
                &snapshot(long, Some(usage.clone())),
                now(),
                Some(now() + chrono::TimeDelta::hours(8)),
            );
            assert!(look.tooltip.chars().count() <= TOOLTIP_MAX_CHARS);
            let lines: Vec<&str> = look.tooltip.lines().collect();
            assert!(lines[1].starts_with("API unreachable"), "{}", look.tooltip);
            assert!(
                lines[1].chars().count() >= REASON_MIN_CHARS,
                "{}",
                look.tooltip
            );

            assert!(!look.tooltip.contains("today"), "{}", look.tooltip);

            // With room to spare, both are there; a long model id is shortened.
            let look = tray_look(
                &snapshot("all 5 recent probes answered", Some(usage)),
                now(),
                None,
            );
            let line = look.tooltip.lines().nth(2).unwrap();
            assert!(
                line.starts_with("today at least $1234.50 · 90% of RPM"),
                "{line}"
            );
            assert!(
                line.ends_with('…') && line.chars().count() <= USAGE_MAX_CHARS,
                "{line}"
            );
        }
    }

    #[test]
    fn the_polygon_distance_is_negative_inside() {
        let square = [
            Point(0.0, 0.0),
            Point(1.0, 0.0),
            Point(1.0, 1.0),
            Point(0.0, 1.0),
        ];
        assert!((polygon(Point(0.5, 0.5), &square) + 0.5).abs() < 1e-6);
        assert!((polygon(Point(2.0, 0.5), &square) - 1.0).abs() < 1e-6);
    }
}
