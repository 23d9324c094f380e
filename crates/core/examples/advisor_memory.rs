//! What the prompt-cache advisor holds for 10,000 distinct prefixes (its bound), measured as the
//! growth of the process's RSS beside the advisor's own estimate, and how long a day of 100,000 sends takes to fold.
//!
//! Usage: `cargo run --release -p claude-status-core --example advisor_memory`

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use claude_status_core::advice::{Advisor, CacheUse, PrefixParts, PrefixSend, PrefixShape};
use claude_status_core::catalog::Catalog;
use claude_status_core::usage::TokenCounts;

/// The process's resident memory in bytes, from /proc (Linux; 0 elsewhere). The workspace
/// forbids `unsafe`, so a counting allocator is not an option; RSS before and after is.
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<usize>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn main() {
    let catalog = Catalog::builtin();
    let start = Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap();
    let end = start + Duration::hours(24);
    for (prefixes, sends) in [(1_000u64, 100_000u64), (10_000, 100_000), (20_000, 100_000)] {
        let before = rss();
        let began = Instant::now();
        let mut advisor = Advisor::new(&catalog, start, end);
        let models = ["claude-opus-4-5", "claude-sonnet-4-6", "claude-haiku-4-5"];
        for n in 0..sends {
            let prefix = n % prefixes;
            advisor.push(&PrefixSend {
                at: start + Duration::milliseconds((n * 86_400_000 / sends) as i64),
                model: models[(prefix % 3) as usize].to_owned(),
                prefix: Some(PrefixShape {
                    key: format!("{prefix:032x}"),
                    chars: 20_000,
                    parts: PrefixParts::System,
                }),
                cache_use: CacheUse::None,
                status: Some(200),
                tokens: Some(TokenCounts {
                    input: 5_000,
                    output: 300,
                    ..TokenCounts::default()
                }),
                service_tier: None,
            });
        }
        let folded = began.elapsed();
        let held = rss().saturating_sub(before);
        let estimate = advisor.memory_bytes();
        let report = advisor.report(&|_, _| None);
        println!(
            "{prefixes:>6} distinct prefixes, {sends} sends: RSS grew {:.2} MiB, \
             estimate {:.2} MiB; followed {}, untracked sends {}; folded in {:.1} ms",
            held as f64 / 1_048_576.0,
            estimate as f64 / 1_048_576.0,
            report.prefixes,
            report.untracked_sends,
            folded.as_secs_f64() * 1_000.0
        );
    }
}
