//! The prompt-cache advisor and model advice over recorded sends: exact savings from the
//! catalog's prices, the 5-minute lifetime, the minimum cacheable length, the bound on prefixes.

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::advice::{
    cheaper_current_model, min_cacheable, Advisor, CacheUse, PrefixParts, PrefixSend, PrefixShape,
    MAX_PREFIXES,
};
use claude_status_core::catalog::Catalog;
use claude_status_core::cost::cost_of;
use claude_status_core::usage::TokenCounts;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap()
}

fn send(minute: i64, model: &str, key: &str, chars: u64, cache_use: CacheUse) -> PrefixSend {
    PrefixSend {
        at: start() + Duration::minutes(minute),
        model: model.to_owned(),
        prefix: Some(PrefixShape {
            key: key.to_owned(),
            chars,
            parts: PrefixParts::System,
        }),
        cache_use,
        status: Some(200),
        tokens: Some(TokenCounts {
            input: 100,
            output: 300,
            ..TokenCounts::default()
        }),
        service_tier: None,
    }
}

const A: &str = "aaaaaaaa00000000aaaaaaaa00000000";
const B: &str = "bbbbbbbb00000000bbbbbbbb00000000";
const C: &str = "cccccccc00000000cccccccc00000000";

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn an_uncached_prefix_saves_hits_times_the_read_discount_less_the_rewrites_premium() {
    let catalog = Catalog::builtin();
    let end = start() + Duration::hours(24);
    let mut advisor = Advisor::new(&catalog, start(), end);
    // Opus 4.5 ($5 input, $6.25 5-minute write, $0.50 read): 20,000 characters, 5,000 tokens
    // estimated, over its 4,096 minimum. Sends at 0, 1, 2, 3 minutes, then 20 and 25 (a gap of
    // 17 minutes: written again; 5 minutes exactly: still a hit).
    for minute in [0, 1, 2, 3, 20, 25] {
        advisor.push(&send(
            minute,
            "claude-opus-4-5-20251101",
            A,
            20_000,
            CacheUse::None,
        ));
    }
    // A failed send is billed nothing and counts for nothing.
    advisor.push(&PrefixSend {
        status: Some(529),
        ..send(4, "claude-opus-4-5", A, 20_000, CacheUse::None)
    });
    let report = advisor.report(&|_, _| None);
    assert_eq!(report.requests, 7);
    assert_eq!(report.advice.len(), 1);
    let advice = &report.advice[0];
    assert_eq!(
        (advice.sends, advice.would_hit, advice.would_write),
        (6, 4, 2)
    );
    assert_eq!(advice.size.tokens, 5_000);
    assert!(advice.size.estimated);
    // 4 × 5,000 × (5 − 0.5) / 1M − 2 × 5,000 × (6.25 − 5) / 1M = 0.09 − 0.0125.
    assert!(close(advice.saving_usd, 0.0775), "{}", advice.saving_usd);
    assert!(close(advice.saving_per_day_usd, 0.0775));
    assert_eq!(
        advice.sentence,
        "System prompt #1 (about 5,000 tokens, estimated) on Opus 4.5 sent 6 times in the last \
         24 hours without caching: about $0.08 a day to save; add cache_control to it."
    );
}

#[test]
fn a_counted_size_is_used_and_not_called_estimated() {
    let catalog = Catalog::builtin();
    let end = start() + Duration::hours(24);
    let mut advisor = Advisor::new(&catalog, start(), end);
    for minute in 0..3 {
        advisor.push(&send(minute, "claude-opus-4-5", A, 20_000, CacheUse::None));
    }
    let report =
        advisor.report(&|model, key| (model == "claude-opus-4-5" && key == A).then_some(6_000));
    let advice = &report.advice[0];
    assert_eq!(advice.size.tokens, 6_000);
    assert!(!advice.size.estimated);
    assert_eq!(report.estimated_sizes, 0);
    // 2 hits, 1 write: 2 × 6,000 × 4.5 / 1M − 6,000 × 1.25 / 1M.
    assert!(close(advice.saving_usd, 0.054 - 0.0075));
    assert!(
        advice.sentence.contains("(6,000 tokens)"),
        "{}",
        advice.sentence
    );
}

#[test]
fn under_the_minimum_or_never_repeated_within_five_minutes_is_no_advice() {
    let catalog = Catalog::builtin();
    let end = start() + Duration::hours(24);
    let mut advisor = Advisor::new(&catalog, start(), end);
    // 4,000 tokens on Opus 4.5, under its 4,096 minimum.
    for minute in 0..10 {
        advisor.push(&send(minute, "claude-opus-4-5", A, 16_000, CacheUse::None));
    }
    // Every 6 minutes: each send would write again, so caching only costs.
    for minute in [0, 6, 12, 18] {
        advisor.push(&send(minute, "claude-opus-4-5", B, 40_000, CacheUse::None));
    }
    // The same 4,000 tokens on Sonnet 4.5 (minimum 1,024) is worth it.
    for minute in 0..3 {
        advisor.push(&send(
            minute,
            "claude-sonnet-4-5",
            C,
            16_000,
            CacheUse::None,
        ));
    }
    let report = advisor.report(&|_, _| None);
    assert_eq!(report.below_minimum, 1);
    assert_eq!(report.advice.len(), 1);
    assert_eq!(report.advice[0].model, "claude-sonnet-4-5");
    assert_eq!(report.prefixes, 3);
    assert_eq!(min_cacheable("claude-sonnet-4-5").tokens, 1_024);
    assert!(min_cacheable("claude-opus-5-5").assumed);
}

#[test]
fn where_caching_is_used_the_hit_ratio_and_the_money_saved_come_from_the_answers() {
    let catalog = Catalog::builtin();
    let end = start() + Duration::hours(24);
    let mut advisor = Advisor::new(&catalog, start(), end);
    let write = TokenCounts {
        input: 50,
        output: 10,
        cache_write_5m: 5_000,
        ..TokenCounts::default()
    };
    let read = TokenCounts {
        input: 50,
        output: 10,
        cache_read: 5_000,
        ..TokenCounts::default()
    };
    for (minute, tokens) in [(0, write), (1, read), (2, read), (3, read)] {
        advisor.push(&PrefixSend {
            tokens: Some(tokens),
            ..send(minute, "claude-opus-4-5", A, 20_000, CacheUse::Blocks)
        });
    }
    let report = advisor.report(&|_, _| None);
    assert!(report.advice.is_empty());
    assert_eq!(report.cached.len(), 1);
    let cached = &report.cached[0];
    assert_eq!((cached.sends, cached.hits, cached.writes), (4, 3, 1));
    assert!(close(cached.hit_ratio, 0.75));
    // 3 × 5,000 × (5 − 0.5) / 1M − 5,000 × (6.25 − 5) / 1M.
    assert!(
        close(cached.saved_usd, 0.0675 - 0.00625),
        "{}",
        cached.saved_usd
    );
    assert!(close(report.cached_totals.saved_usd, cached.saved_usd));
    assert!(
        cached
            .sentence
            .contains("3 of 4 sends read the cache (75 %)"),
        "{}",
        cached.sentence
    );
}

#[test]
fn sends_outside_the_window_and_past_the_bound_are_not_followed() {
    let catalog = Catalog::builtin();
    let end = start() + Duration::hours(1);
    let mut advisor = Advisor::new(&catalog, start(), end);
    advisor.push(&send(-1, "claude-opus-4-5", A, 20_000, CacheUse::None));
    advisor.push(&send(60, "claude-opus-4-5", A, 20_000, CacheUse::None));
    for n in 0..(MAX_PREFIXES as u64 + 5) {
        let key = format!("{n:032x}");
        advisor.push(&send(1, "claude-opus-4-5", &key, 100, CacheUse::None));
    }
    let memory = advisor.memory_bytes();
    assert!(
        memory < 4 * 1024 * 1024,
        "{memory} bytes for 10,000 prefixes"
    );
    let report = advisor.report(&|_, _| None);
    assert_eq!(report.requests, MAX_PREFIXES as u64 + 5);
    assert_eq!(report.prefixes, MAX_PREFIXES as u64);
    assert_eq!(report.untracked_sends, 5);
}

#[test]
fn small_requests_get_a_cost_figure_on_a_cheaper_current_model() {
    let catalog = Catalog::builtin();
    let now = start() + Duration::hours(24);
    let cheaper = cheaper_current_model(&catalog, "claude-opus-4-5", now).expect("a cheaper model");
    assert!(cheaper.contains("haiku"), "{cheaper}");
    assert_eq!(cheaper_current_model(&catalog, &cheaper, now), None);
    let mut advisor = Advisor::new(&catalog, start(), now);
    let small = TokenCounts {
        input: 1_500,
        output: 150,
        ..TokenCounts::default()
    };
    let large = TokenCounts {
        input: 30_000,
        output: 2_000,
        ..TokenCounts::default()
    };
    for n in 0..30 {
        advisor.push(&PrefixSend {
            prefix: None,
            tokens: Some(if n < 24 { small } else { large }),
            ..send(n, "claude-opus-4-5", A, 0, CacheUse::None)
        });
    }
    let report = advisor.report(&|_, _| None);
    assert_eq!(report.models.len(), 1);
    let advice = &report.models[0];
    assert_eq!((advice.requests, advice.small_requests), (30, 24));
    let want = 24.0 * cost_of(&small, "claude-opus-4-5", None, &catalog).usd;
    let want_cheaper = 24.0 * cost_of(&small, &cheaper, None, &catalog).usd;
    assert!(close(advice.cost_usd, want), "{} {want}", advice.cost_usd);
    assert!(close(advice.cheaper_cost_usd, want_cheaper));
    assert!(
        advice
            .sentence
            .starts_with("80 % of your Opus 4.5 requests are under 2K input"),
        "{}",
        advice.sentence
    );

    // Half small is not "most".
    let mut advisor = Advisor::new(&catalog, start(), now);
    for n in 0..30 {
        advisor.push(&PrefixSend {
            prefix: None,
            tokens: Some(if n < 15 { small } else { large }),
            ..send(n, "claude-opus-4-5", A, 0, CacheUse::None)
        });
    }
    assert!(advisor.report(&|_, _| None).models.is_empty());
}
