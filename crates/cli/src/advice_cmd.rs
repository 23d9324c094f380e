//! `claude-status usage --advice`: the prompt-cache advisor and model advice over the gateway's
//! last 24 hours, from the history database (the same report the Budget view shows).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use claude_status_core::advice::{thousands, AdviceReport};
use claude_status_engine::store::Store;
use claude_status_engine::usage::load_catalog_in;

/// Prints the advice, as text or JSON.
pub fn advice(data_dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog_in(data_dir)?;
    let store = Store::open(&Store::default_path(data_dir))?;
    crate::tell_if_recovered(&store);
    let report = claude_status_engine::advice::advice_report(
        &store,
        &catalog,
        chrono::Utc::now(),
        claude_status_engine::advice::ADVICE_WINDOW,
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// The report as the terminal shows it: one sentence per piece of advice, then what it rests on.
pub fn render(report: &AdviceReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Advice from the gateway's traffic of the last 24 hours ({} requests, {} with a system \
         prompt or tools, {} distinct prefixes).",
        thousands(report.requests),
        thousands(report.with_prefix),
        thousands(report.prefixes)
    );
    if report.requests == 0 {
        let _ = writeln!(
            out,
            "\nNo requests went through the gateway: point ANTHROPIC_BASE_URL at it \
             (`claude-status proxy`, or the gateway in the service's settings) and the advisor \
             sees your traffic. It never changes a request."
        );
        return out;
    }
    let _ = writeln!(out, "\nPrompt caching");
    if report.advice.is_empty() {
        let _ = writeln!(
            out,
            "  No uncached prefix repeats within 5 minutes at its model's minimum cacheable \
             length: nothing to add."
        );
    } else {
        for advice in &report.advice {
            let _ = writeln!(out, "  {}", advice.sentence);
        }
        let _ = writeln!(
            out,
            "  In all: about ${:.2} a day.",
            report.advice_per_day_usd
        );
    }
    if report.below_minimum > 0 {
        let _ = writeln!(
            out,
            "  {} repeated prefix{} under the model's minimum cacheable length: caching would \
             not take.",
            thousands(report.below_minimum),
            if report.below_minimum == 1 {
                " is"
            } else {
                "es are"
            }
        );
    }
    for cached in &report.cached {
        let _ = writeln!(out, "  {}", cached.sentence);
    }
    let totals = &report.cached_totals;
    if totals.sends > 0 {
        let _ = writeln!(
            out,
            "  Cached requests: {} of {} read the cache ({:.0} %); caching saved {}.",
            thousands(totals.hits),
            thousands(totals.sends),
            totals.hit_ratio * 100.0,
            if totals.unknown_price {
                format!("${:.2} and more (some prices unknown)", totals.saved_usd)
            } else {
                format!("${:.2}", totals.saved_usd)
            }
        );
    }
    if !report.models.is_empty() {
        let _ = writeln!(
            out,
            "\nCheaper models (a cost figure, not a judgement of quality)"
        );
        for model in &report.models {
            let _ = writeln!(out, "  {}", model.sentence);
        }
    }
    let mut notes = Vec::new();
    if report.estimated_sizes > 0 {
        notes.push(
            "Sizes marked estimated are 4 characters a token of the prefix's text; turn on \
             advisor_count_tokens in the settings (or `proxy --count-prefix-tokens`) to have \
             count_tokens (free) count each prefix once."
                .to_owned(),
        );
    }
    if report.untracked_sends > 0 {
        notes.push(format!(
            "{} sends of prefixes past the first 10,000 were not followed.",
            thousands(report.untracked_sends)
        ));
    }
    if !report.unknown_price_models.is_empty() {
        notes.push(format!(
            "No price is known for {}: their savings are left out.",
            report.unknown_price_models.join(", ")
        ));
    }
    if !notes.is_empty() {
        let _ = writeln!(out);
        for note in notes {
            let _ = writeln!(out, "{note}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests fail loudly by design.

    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use claude_status_core::advice::{Advisor, CacheUse, PrefixParts, PrefixSend, PrefixShape};
    use claude_status_core::catalog::Catalog;
    use claude_status_core::usage::TokenCounts;

    fn report(sends: &[(i64, CacheUse)]) -> AdviceReport {
        let catalog = Catalog::builtin();
        let start = Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap();
        let mut advisor = Advisor::new(&catalog, start, start + Duration::hours(24));
        for (minute, cache_use) in sends {
            advisor.push(&PrefixSend {
                at: start + Duration::minutes(*minute),
                model: "claude-opus-4-5".to_owned(),
                prefix: Some(PrefixShape {
                    key: "ab".repeat(16),
                    chars: 20_000,
                    parts: PrefixParts::System,
                }),
                cache_use: *cache_use,
                status: Some(200),
                tokens: Some(TokenCounts {
                    input: 10,
                    output: 10,
                    cache_read: if cache_use.is_used() { 5_000 } else { 0 },
                    ..TokenCounts::default()
                }),
                service_tier: None,
            });
        }
        advisor.report(&|_, _| None)
    }

    #[test]
    fn no_traffic_says_how_to_get_advice() {
        let text = render(&report(&[]));
        assert!(
            text.contains("No requests went through the gateway"),
            "{text}"
        );
        assert!(text.contains("It never changes a request."), "{text}");
    }

    #[test]
    fn advice_prints_the_cores_sentences_and_the_estimate_note() {
        let text = render(&report(&[(0, CacheUse::None), (1, CacheUse::None)]));
        assert!(
            text.contains(
                "  System prompt #1 (about 5,000 tokens, estimated) on Opus 4.5 sent 2 times"
            ),
            "{text}"
        );
        assert!(text.contains("In all: about $"), "{text}");
        assert!(text.contains("turn on advisor_count_tokens"), "{text}");
    }

    #[test]
    fn cached_prefixes_print_their_reads() {
        let text = render(&report(&[(0, CacheUse::Blocks), (1, CacheUse::Blocks)]));
        assert!(
            text.contains("Cached requests: 2 of 2 read the cache (100 %)"),
            "{text}"
        );
        assert!(text.contains("No uncached prefix repeats"), "{text}");
    }
}
