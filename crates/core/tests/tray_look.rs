//! The tray's look as tables: a distinct colour and glyph per level, icon pixels that are the
//! right size, anti-aliased and transparent outside the disc, and the title and tooltip text.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use claude_status_core::report::Snapshot;
use claude_status_core::tray::{
    glyph_color, level_color, level_glyph, render_icon, render_icon_mono, tray_look, Glyph, Rgb,
    TITLE_MAX_CHARS, TOOLTIP_MAX_CHARS,
};
use claude_status_core::Level;

const SIZES: [u32; 5] = [16, 22, 32, 64, 256];

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-08-21T12:41:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn pixel(rgba: &[u8], size: u32, x: u32, y: u32) -> [u8; 4] {
    let i = ((y * size + x) * 4) as usize;
    [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]
}

fn rgb_of(p: [u8; 4]) -> Rgb {
    Rgb(p[0], p[1], p[2])
}

fn distance(a: Rgb, b: Rgb) -> u32 {
    let d = |a: u8, b: u8| u32::from(a.abs_diff(b));
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

/// The pixels drawn mostly in the glyph colour: the glyph's shape as a set of coordinates.
fn glyph_mask(level: Level, size: u32) -> BTreeSet<(u32, u32)> {
    let rgba = render_icon(level, size);
    let (disc, ink) = (level_color(level), glyph_color(level));
    (0..size)
        .flat_map(|y| (0..size).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = pixel(&rgba, size, x, y);
            p[3] > 0 && distance(rgb_of(p), ink) < distance(rgb_of(p), disc)
        })
        .collect()
}

#[test]
fn every_level_has_its_colour_and_glyph() {
    fn check(level: Level, hex: &str, glyph: Glyph) {
        assert_eq!(level_color(level).hex(), hex, "{level}");
        assert_eq!(level_glyph(level), glyph, "{level}");
    }
    check(Level::Operational, "#2EA043", Glyph::Check);
    check(Level::Degraded, "#D4A72C", Glyph::Exclamation);
    check(Level::Overloaded, "#E8702A", Glyph::Bolt);
    check(Level::Outage, "#D1242F", Glyph::Cross);
    check(Level::Maintenance, "#2F81F7", Glyph::Wrench);
    check(Level::Offline, "#656D76", Glyph::Dash);
    check(Level::Unknown, "#8C959F", Glyph::Question);
}

#[test]
fn colours_and_glyphs_are_distinct_across_levels() {
    let colours: BTreeSet<String> = Level::ALL.iter().map(|&l| level_color(l).hex()).collect();
    let glyphs: Vec<Glyph> = Level::ALL.iter().map(|&l| level_glyph(l)).collect();
    assert_eq!(colours.len(), Level::ALL.len());
    for (i, a) in glyphs.iter().enumerate() {
        for b in &glyphs[i + 1..] {
            assert_ne!(a, b);
        }
    }
    // The glyph must stand out from its disc: far apart in every level.
    for level in Level::ALL {
        assert!(
            distance(level_color(level), glyph_color(level)) > 200,
            "{level}"
        );
    }
}

#[test]
fn icons_are_discs_with_anti_aliased_edges_and_transparent_corners() {
    for level in Level::ALL {
        for size in SIZES {
            let rgba = render_icon(level, size);
            let what = format!("{level} at {size} px");
            assert_eq!(rgba.len(), (size * size * 4) as usize, "{what}");

            let centre = pixel(&rgba, size, size / 2, size / 2);
            assert_eq!(centre[3], 255, "{what}: the centre is opaque");
            let centre = rgb_of(centre);
            assert!(
                centre == level_color(level) || centre == glyph_color(level),
                "{what}: the centre is {centre:?}"
            );

            for (x, y) in [(0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)] {
                assert_eq!(pixel(&rgba, size, x, y)[3], 0, "{what}: corner {x},{y}");
            }

            // The rim of the disc on the middle row and column is neither empty nor solid.
            let middle = size / 2;
            for (x, y) in [
                (0, middle),
                (size - 1, middle),
                (middle, 0),
                (middle, size - 1),
            ] {
                let alpha = pixel(&rgba, size, x, y)[3];
                assert!(
                    0 < alpha && alpha < 255,
                    "{what}: rim {x},{y} has alpha {alpha}"
                );
            }
            let partial = rgba.chunks(4).filter(|p| 0 < p[3] && p[3] < 255).count();
            assert!(partial as u32 >= size, "{what}: only {partial} soft pixels");

            // Opaque pixels blend between the disc and the glyph colour, nothing else.
            let (disc, ink) = (level_color(level), glyph_color(level));
            let span = distance(disc, ink);
            for p in rgba.chunks(4).filter(|p| p[3] == 255) {
                let p = rgb_of([p[0], p[1], p[2], p[3]]);
                assert!(
                    distance(p, disc) + distance(p, ink) <= span + 6,
                    "{what}: {p:?}"
                );
            }
        }
    }
}

#[test]
fn glyphs_have_distinct_shapes_at_32_px() {
    let masks: Vec<(Level, BTreeSet<(u32, u32)>)> = Level::ALL
        .iter()
        .map(|&level| (level, glyph_mask(level, 32)))
        .collect();
    for (level, mask) in &masks {
        // A glyph covers a readable share of a 32 px icon: not a speck, not the whole disc.
        assert!((40..400).contains(&mask.len()), "{level}: {}", mask.len());
    }
    for (i, (a, mask_a)) in masks.iter().enumerate() {
        for (b, mask_b) in &masks[i + 1..] {
            let differing = mask_a.symmetric_difference(mask_b).count();
            assert!(
                differing >= 30,
                "{a} and {b} differ in {differing} pixels only"
            );
        }
    }
}

#[test]
fn glyphs_are_roughly_centred() {
    for level in Level::ALL {
        let mask = glyph_mask(level, 64);
        let n = mask.len() as f64;
        let mean_x = mask.iter().map(|&(x, _)| f64::from(x) + 0.5).sum::<f64>() / n;
        let mean_y = mask.iter().map(|&(_, y)| f64::from(y) + 0.5).sum::<f64>() / n;
        // The "?" and "!" carry their weight high and their dot low; six pixels of 64 allow that.
        assert!((mean_x - 32.0).abs() < 6.0, "{level}: x {mean_x}");
        assert!((mean_y - 32.0).abs() < 6.0, "{level}: y {mean_y}");
    }
}

#[test]
fn the_monochrome_icon_is_white_with_the_glyph_cut_out() {
    for level in Level::ALL {
        for size in SIZES {
            let rgba = render_icon_mono(level, size);
            let what = format!("{level} at {size} px");
            assert_eq!(rgba.len(), (size * size * 4) as usize, "{what}");
            let colours: BTreeSet<[u8; 3]> = rgba.chunks(4).map(|p| [p[0], p[1], p[2]]).collect();
            assert_eq!(colours, BTreeSet::from([[255, 255, 255]]), "{what}");
            assert_eq!(pixel(&rgba, size, 0, 0)[3], 0, "{what}");

            // Where the colour icon shows the glyph, the monochrome one is transparent.
            let colour = render_icon(level, size);
            let mask = glyph_mask(level, size);
            let cut = mask
                .iter()
                .filter(|&&(x, y)| pixel(&rgba, size, x, y)[3] < 128)
                .count();
            assert_eq!(cut, mask.len(), "{what}");
            let solid = (0..size)
                .flat_map(|y| (0..size).map(move |x| (x, y)))
                .filter(|&(x, y)| pixel(&rgba, size, x, y)[3] == 255)
                .all(|(x, y)| pixel(&colour, size, x, y)[3] == 255);
            assert!(solid, "{what}: solid only inside the disc");
        }
    }
}

#[test]
fn rendering_is_deterministic_and_works_at_every_size() {
    for level in Level::ALL {
        assert_eq!(render_icon(level, 24), render_icon(level, 24));
        assert_eq!(render_icon_mono(level, 24), render_icon_mono(level, 24));
    }
    assert!(render_icon(Level::Operational, 0).is_empty());
    for size in [1, 2, 8, 9, 15, 23, 48, 127] {
        for level in Level::ALL {
            assert_eq!(render_icon(level, size).len(), (size * size * 4) as usize);
            assert_eq!(
                render_icon_mono(level, size).len(),
                (size * size * 4) as usize
            );
        }
    }
    let large = render_icon(Level::Maintenance, 1024);
    assert_eq!(large.len(), 1024 * 1024 * 4);
    assert_eq!(pixel(&large, 1024, 0, 0)[3], 0);
    assert_eq!(pixel(&large, 1024, 512, 100)[3], 255);
}

/// A snapshot at `level` with `reasons`, last checked `checked_ago` before `now()`.
fn snapshot(level: Level, reasons: &[&str], checked_ago: Option<TimeDelta>) -> Snapshot {
    let mut snapshot = Snapshot::initial();
    snapshot.level = level;
    snapshot.reasons = reasons.iter().map(|r| r.to_string()).collect();
    snapshot.checked_at = checked_ago.map(|ago| now() - ago);
    snapshot
}

fn check(snapshot: Snapshot, paused_for: Option<TimeDelta>, title: &str, tooltip: &str) {
    let look = tray_look(&snapshot, now(), paused_for.map(|d| now() + d));
    assert_eq!(look.level, snapshot.level);
    assert_eq!(look.color, level_color(snapshot.level));
    assert_eq!(look.glyph, level_glyph(snapshot.level));
    assert_eq!(look.title, title);
    assert_eq!(look.tooltip, tooltip);
    assert!(look.title.chars().count() <= TITLE_MAX_CHARS);
    assert!(look.tooltip.chars().count() <= TOOLTIP_MAX_CHARS);
}

#[test]
fn tray_text_before_the_first_check() {
    check(
        Snapshot::initial(),
        None,
        "Unknown — no check has completed yet",
        "Claude API status unknown\nno check has completed yet",
    );
}

#[test]
fn tray_text_names_the_level_the_top_reason_and_the_last_check() {
    let minutes = TimeDelta::minutes;
    check(
        snapshot(
            Level::Overloaded,
            &[
                "529 on 4 of the last 5 probes",
                "status page: Claude API degraded performance",
            ],
            Some(minutes(2)),
        ),
        None,
        "Overloaded — 529 on 4 of the last 5 probes",
        "Claude API overloaded\n529 on 4 of the last 5 probes\nchecked 2 min ago",
    );
    check(
        snapshot(
            Level::Operational,
            &["all 5 recent probes answered"],
            Some(TimeDelta::seconds(2)),
        ),
        None,
        "Operational — all 5 recent probes answered",
        "Claude API operational\nall 5 recent probes answered\nchecked just now",
    );
    check(
        snapshot(
            Level::Outage,
            &["HTTP 500/503 on 3 of the last 5 probes"],
            Some(TimeDelta::seconds(42)),
        ),
        None,
        "Outage — HTTP 500/503 on 3 of the last 5 probes",
        "Claude API outage\nHTTP 500/503 on 3 of the last 5 probes\nchecked 42 s ago",
    );
    check(
        snapshot(Level::Offline, &[], Some(TimeDelta::hours(3))),
        None,
        "Offline",
        "Offline: cannot reach the network\nchecked 3 h ago",
    );
}

#[test]
fn tray_text_says_when_notifications_are_paused() {
    let degraded = snapshot(
        Level::Degraded,
        &["p95 latency 12.3 s over 10 s"],
        Some(TimeDelta::minutes(1)),
    );
    check(
        degraded.clone(),
        Some(TimeDelta::minutes(42)),
        "Degraded — p95 latency 12.3 s over 10 s",
        "Claude API degraded\np95 latency 12.3 s over 10 s\nchecked 1 min ago\nnotifications paused for 42 min",
    );
    check(
        degraded.clone(),
        Some(TimeDelta::seconds(20)),
        "Degraded — p95 latency 12.3 s over 10 s",
        "Claude API degraded\np95 latency 12.3 s over 10 s\nchecked 1 min ago\nnotifications paused for 1 min",
    );
    check(
        degraded.clone(),
        Some(TimeDelta::minutes(65)),
        "Degraded — p95 latency 12.3 s over 10 s",
        "Claude API degraded\np95 latency 12.3 s over 10 s\nchecked 1 min ago\nnotifications paused for 1 h 5 min",
    );
    // A pause that has ended is not mentioned.
    check(
        degraded,
        Some(TimeDelta::minutes(-5)),
        "Degraded — p95 latency 12.3 s over 10 s",
        "Claude API degraded\np95 latency 12.3 s over 10 s\nchecked 1 min ago",
    );
}

#[test]
fn tray_text_is_one_line_per_item_and_shortened_with_an_ellipsis() {
    let long = "API unreachable on 3 probes in a row: error sending request for url \
                (https://api.anthropic.com/v1/messages): client error (Connect): dns error";
    let look = tray_look(
        &snapshot(Level::Outage, &[long], Some(TimeDelta::seconds(30))),
        now(),
        Some(now() + TimeDelta::hours(8)),
    );
    assert_eq!(
        look.title,
        "Outage — API unreachable on 3 probes in a row: error sending request for url…"
    );
    assert!(look.title.chars().count() <= TITLE_MAX_CHARS);
    let lines: Vec<&str> = look.tooltip.lines().collect();
    assert_eq!(lines.len(), 4, "{}", look.tooltip);
    assert_eq!(lines[0], "Claude API outage");
    assert!(lines[1].starts_with("API unreachable on 3 probes") && lines[1].ends_with('…'));
    assert_eq!(lines[2], "checked 30 s ago");
    assert_eq!(lines[3], "notifications paused for 8 h");
    assert!(look.tooltip.chars().count() <= TOOLTIP_MAX_CHARS);

    // Line breaks inside a reason do not break the menu line; blank reasons are skipped.
    let look = tray_look(
        &snapshot(
            Level::Maintenance,
            &["  ", "scheduled:\n  database upgrade"],
            None,
        ),
        now(),
        None,
    );
    assert_eq!(look.title, "Maintenance — scheduled: database upgrade");
    assert_eq!(
        look.tooltip,
        "Claude API under maintenance\nscheduled: database upgrade"
    );

    // A clock that stepped back reads as "just now", not as a negative age.
    let look = tray_look(
        &snapshot(Level::Operational, &[], Some(TimeDelta::seconds(-30))),
        now(),
        None,
    );
    assert_eq!(look.tooltip, "Claude API operational\nchecked just now");
}
