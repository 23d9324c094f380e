//! Spike alerts on the gateway's traffic (issue 17), each as a table over a recorded series:
//! rows of requests per minute (model, count, tokens, streamed or not, times), evaluated at the
//! end of every minute as the engine's tick does, with the notifications expected at the minutes
//! they are expected. Time is an argument throughout, so every run is exact.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly by design.

use std::ops::Range;

use chrono::{DateTime, Duration, TimeZone, Utc};
use claude_status_core::alerts::{AlertKind, AlertPolicy, Notification};
use claude_status_core::catalog::Catalog;
use claude_status_core::monitor::{MonitorConfig, MonitorState, Observation};
use claude_status_core::spikes::{HourValue, SpikeMeasure, SpikeWatch, TrafficSample};
use claude_status_core::usage::TokenCounts;

const SONNET: &str = "claude-sonnet-4-5";
const OPUS: &str = "claude-opus-4-5";

/// Minute 0 of every series: on the hour, so hour boundaries fall on multiples of 60.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
}

/// The moment minute `m` is evaluated: its last second.
fn eval_at(minute: i64) -> DateTime<Utc> {
    start() + Duration::minutes(minute) + Duration::seconds(59)
}

/// How the requests of a row were answered.
#[derive(Clone, Copy)]
enum Answer {
    /// A whole (non-streamed) answer that took this long.
    Whole { latency_ms: u64 },
    /// A stream: its first token after `ttft_ms`, its end after `latency_ms`.
    Stream { ttft_ms: u64, latency_ms: u64 },
    /// A refusal with this status (never counted).
    Failed(u16),
}

/// One row of a series: `per_minute` requests in each minute of `minutes`.
#[derive(Clone)]
struct Row {
    minutes: Range<i64>,
    model: &'static str,
    per_minute: u32,
    input: u64,
    output: u64,
    answer: Answer,
}

fn row(minutes: Range<i64>, model: &'static str, per_minute: u32, input: u64, output: u64) -> Row {
    Row {
        minutes,
        model,
        per_minute,
        input,
        output,
        answer: Answer::Whole { latency_ms: 800 },
    }
}

fn timed(minutes: Range<i64>, model: &'static str, per_minute: u32, answer: Answer) -> Row {
    Row {
        answer,
        ..row(minutes, model, per_minute, 1000, 10)
    }
}

/// The samples of minute `m`, spread over its first 58 seconds.
fn samples_of(rows: &[Row], minute: i64) -> Vec<TrafficSample> {
    let mut out = Vec::new();
    for row in rows.iter().filter(|r| r.minutes.contains(&minute)) {
        for i in 0..row.per_minute {
            let offset = i64::from(i) * 58 / i64::from(row.per_minute.max(1));
            let (status, streamed, ttft_ms, latency_ms) = match row.answer {
                Answer::Whole { latency_ms } => (200, false, None, Some(latency_ms)),
                Answer::Stream {
                    ttft_ms,
                    latency_ms,
                } => (200, true, Some(ttft_ms), Some(latency_ms)),
                Answer::Failed(status) => (status, false, None, Some(100)),
            };
            out.push(TrafficSample {
                at: start() + Duration::minutes(minute) + Duration::seconds(offset),
                model: row.model.to_owned(),
                status: Some(status),
                tokens: TokenCounts {
                    input: row.input,
                    output: row.output,
                    ..TokenCounts::default()
                },
                service_tier: None,
                streamed,
                ttft_ms,
                latency_ms,
            });
        }
    }
    out
}

/// `count` hourly values of `model` ending just before minute 0, as the store seeds them.
fn seeded(
    model: &str,
    count: i64,
    cost_per_1k: Option<f64>,
    p95_input: Option<u64>,
) -> Vec<HourValue> {
    (1..=count)
        .map(|back| HourValue {
            model: model.to_owned(),
            hour: start() - Duration::hours(back),
            requests: 600,
            cost_per_1k_usd: cost_per_1k,
            p95_input_tokens: p95_input,
        })
        .collect()
}

/// "minute kind key", the shape the tables expect.
fn line(minute: i64, notification: &Notification) -> String {
    let kind = match notification.kind {
        AlertKind::TrafficSpike => "spike",
        AlertKind::TrafficSpikeOver => "over",
        other => panic!("unexpected kind {other:?}"),
    };
    format!("{minute} {kind} {}", notification.key)
}

/// A monitor whose alerts have this cooldown.
fn monitor_with_cooldown(cooldown: Duration) -> MonitorState {
    MonitorState::new(MonitorConfig {
        alerts: AlertPolicy {
            cooldown,
            ..AlertPolicy::default()
        },
        ..MonitorConfig::default()
    })
}

/// Runs a series through a `MonitorState` from minute 0 to `until` (exclusive), ticking it at
/// the end of every minute as the engine does: the notifications that passed its alert state.
fn tick_monitor(state: &mut MonitorState, rows: &[Row], until: i64) -> Vec<String> {
    let mut got = Vec::new();
    for minute in 0..until {
        let samples = samples_of(rows, minute);
        let _ = state.apply(
            Observation::Traffic {
                samples,
                replay: false,
            },
            eval_at(minute) - Duration::seconds(1),
        );
        for effect in state.tick(eval_at(minute)) {
            if let claude_status_core::monitor::Effect::Notify(n) = effect {
                got.push(line(minute, &n));
            }
        }
    }
    got
}

/// Runs a series through a bare `SpikeWatch` from minute 0 to `until` (exclusive).
fn run(seed: Vec<HourValue>, rows: &[Row], until: i64) -> (Vec<String>, SpikeWatch) {
    let catalog = Catalog::builtin();
    let mut watch = SpikeWatch::default();
    watch.seed_hours(seed);
    let mut out = Vec::new();
    for minute in 0..until {
        for sample in samples_of(rows, minute) {
            watch.record(&sample, &catalog);
        }
        for notification in watch.decide(eval_at(minute)) {
            out.push(line(minute, &notification));
        }
    }
    (out, watch)
}

fn check(seed: Vec<HourValue>, rows: &[Row], until: i64, expected: &[&str]) {
    let (got, _) = run(seed, rows, until);
    assert_eq!(got, expected);
}

/// The highest cost per 1,000 requests the watch reads from a series at any minute before
/// `until`. Float sums of equal costs differ in their last bits from one count to the next, so
/// "exactly twice" is taken against the highest of them.
fn highest_cost(rows: &[Row], until: i64) -> f64 {
    let catalog = Catalog::builtin();
    let mut watch = SpikeWatch::default();
    let mut highest = f64::MIN;
    for minute in 0..until {
        for sample in samples_of(rows, minute) {
            watch.record(&sample, &catalog);
        }
        watch.decide(eval_at(minute));
        if let Some(current) = watch
            .report()
            .lines
            .iter()
            .find(|l| l.measure == SpikeMeasure::CostPer1k)
            .and_then(|l| l.current)
        {
            highest = highest.max(current);
        }
    }
    highest
}

// Sonnet 4.5 is $3 per million input tokens and $15 per million output tokens: 1,000 input
// tokens cost $3.00 per 1,000 requests, and 1,000 output tokens add $15.00.

#[test]
fn cost_per_1k_fires_after_ten_minutes_above_twice_the_baseline() {
    // Baseline $3.00; from minute 0, 10 requests a minute at $18.00 per 1,000. The trailing
    // hour has 100 requests at minute 9, so it is above from then and fires at minute 19.
    check(
        seeded(SONNET, 24, Some(3.0), None),
        &[row(0..40, SONNET, 10, 1000, 1000)],
        40,
        &["19 spike spike:cost_per_1k:claude-sonnet-4-5"],
    );
}

#[test]
fn cost_per_1k_never_fires_before_24_baseline_hours() {
    check(
        seeded(SONNET, 23, Some(3.0), None),
        &[row(0..60, SONNET, 10, 1000, 1000)],
        60,
        &[],
    );
}

#[test]
fn cost_per_1k_exactly_twice_the_baseline_is_not_above() {
    let rows = [row(0..40, SONNET, 10, 1000, 1000)];
    let current = highest_cost(&rows, 40);
    assert!((current - 18.0).abs() < 1e-9, "{current}");
    check(
        seeded(SONNET, 24, Some(current / 2.0), None),
        &rows,
        40,
        &[],
    );
    // A hair under half of it as the baseline, and it fires.
    check(
        seeded(SONNET, 24, Some(current / 2.0 * 0.999), None),
        &rows,
        40,
        &["19 spike spike:cost_per_1k:claude-sonnet-4-5"],
    );
}

#[test]
fn a_dip_under_the_line_restarts_the_ten_minutes() {
    // Above from minute 9. At minute 12, 580 requests at $3.00 arrive at once: with n requests
    // at $18.00 the trailing hour is over $6.00 only while n > 580 / 4 = 145, so minutes 12 (130)
    // and 13 (140) are under, 14 (150) is above again, and the alert fires ten minutes later.
    check(
        seeded(SONNET, 24, Some(3.0), None),
        &[
            row(0..40, SONNET, 10, 1000, 1000),
            row(12..13, SONNET, 580, 1000, 0),
        ],
        40,
        &["24 spike spike:cost_per_1k:claude-sonnet-4-5"],
    );
}

#[test]
fn cost_per_1k_clears_and_sends_its_recovery() {
    // Spike from minute 0 to 29, then 250 requests a minute at $3.00: after k minutes of them
    // the trailing hour is over $6.00 only while 300 × 18 + 250k × 3 > 6 × (300 + 250k), i.e.
    // 250k < 1,200: above through k = 4 (minute 33), under at k = 5 (minute 34).
    check(
        seeded(SONNET, 24, Some(3.0), None),
        &[
            row(0..30, SONNET, 10, 1000, 1000),
            row(30..60, SONNET, 250, 1000, 0),
        ],
        60,
        &[
            "19 spike spike:cost_per_1k:claude-sonnet-4-5",
            "34 over spike:cost_per_1k:claude-sonnet-4-5:recovered",
        ],
    );
}

#[test]
fn models_are_independent_and_failures_never_count() {
    // Opus's spike does not touch Sonnet, whose own refusals (with huge token counts) count
    // nowhere.
    let mut seed = seeded(SONNET, 24, Some(3.0), None);
    seed.extend(seeded(OPUS, 24, Some(5.0), None));
    check(
        seed,
        &[
            row(0..40, SONNET, 10, 1000, 0),
            Row {
                answer: Answer::Failed(529),
                ..row(0..40, SONNET, 50, 1000, 100_000)
            },
            row(0..40, OPUS, 10, 1000, 1000),
        ],
        40,
        &["19 spike spike:cost_per_1k:claude-opus-4-5"],
    );
}

#[test]
fn dated_and_undated_ids_are_one_model() {
    let (got, watch) = run(
        seeded(SONNET, 24, Some(3.0), None),
        &[
            row(0..40, SONNET, 5, 1000, 1000),
            row(0..40, "claude-sonnet-4-5-20250929", 5, 1000, 1000),
        ],
        40,
    );
    assert_eq!(got, ["19 spike spike:cost_per_1k:claude-sonnet-4-5"]);
    let models: std::collections::BTreeSet<&str> = watch
        .report()
        .lines
        .iter()
        .map(|l| l.model.as_str())
        .collect();
    assert_eq!(models.into_iter().collect::<Vec<_>>(), [SONNET]);
}

#[test]
fn p95_input_tokens_fires_the_same_way() {
    // Baseline p95 1,000 input tokens; 3,000 a request from minute 0 (read back as 3,071, the
    // histogram bucket's top, within 1/16). The cost has no baseline and stays silent.
    let (got, watch) = run(
        seeded(SONNET, 24, None, Some(1000)),
        &[row(0..40, SONNET, 10, 3000, 0)],
        40,
    );
    assert_eq!(got, ["19 spike spike:p95_input_tokens:claude-sonnet-4-5"]);
    let line = watch
        .report()
        .lines
        .iter()
        .find(|l| l.measure == SpikeMeasure::P95InputTokens)
        .unwrap();
    assert_eq!(line.current, Some(3071.0));
    assert!(line.alerting);
    let cost = watch
        .report()
        .lines
        .iter()
        .find(|l| l.measure == SpikeMeasure::CostPer1k)
        .unwrap();
    assert!(
        cost.text.contains("learning: 0 of 24 hours"),
        "{}",
        cost.text
    );
}

#[test]
fn the_baseline_is_learnt_from_live_hours_of_at_least_100_requests() {
    // 25 hours at $0.30 per 1,000 (100 input tokens, no output), 2 requests a minute, except
    // hour 5 with 1 a minute (60 requests: it does not count). The spike starts in hour 24, so
    // the 24th counted hour (hour 24 itself) closes at minute 1505 and the alert fires ten
    // minutes later. Had hour 5 counted, the 24th hour would have been hour 23, closed at 1445,
    // and the alert would have fired at 1455.
    let rows = [
        row(0..300, SONNET, 2, 100, 0),
        row(300..360, SONNET, 1, 100, 0),
        row(360..1440, SONNET, 2, 100, 0),
        row(1440..1530, SONNET, 20, 100, 1000),
    ];
    check(
        Vec::new(),
        &rows,
        1530,
        &["1515 spike spike:cost_per_1k:claude-sonnet-4-5"],
    );
}

#[test]
fn a_restart_replay_does_not_count_a_seeded_hour_twice() {
    // The seeded hour before minute 0 holds 600 requests; a replay of 30 of its minutes arrives
    // too (the engine replays the trailing hour). The hour stays the seeded value.
    let catalog = Catalog::builtin();
    let mut watch = SpikeWatch::default();
    watch.seed_hours(seeded(SONNET, 3, Some(3.0), None));
    for minute in -30..0 {
        for sample in samples_of(&[row(-30..0, SONNET, 10, 1000, 1000)], minute) {
            watch.record(&sample, &catalog);
        }
    }
    watch.decide(eval_at(10));
    let line = watch
        .report()
        .lines
        .iter()
        .find(|l| l.measure == SpikeMeasure::CostPer1k)
        .unwrap();
    assert_eq!(line.baseline_hours, 3, "{line:?}");
    // The replayed requests do count toward the trailing hour.
    assert_eq!(line.current_requests, 300);
}

#[test]
fn unknown_prices_are_left_out_of_the_cost_and_said_so() {
    let (got, watch) = run(
        seeded("claude-zephyr-9", 24, Some(3.0), None),
        &[row(0..40, "claude-zephyr-9", 10, 1000, 1000)],
        40,
    );
    assert_eq!(got, Vec::<String>::new());
    assert_eq!(watch.report().unpriced_requests, 400);
}

#[test]
fn stream_ttft_needs_20_streamed_requests_in_ten_minutes() {
    let slow = Answer::Stream {
        ttft_ms: 4000,
        latency_ms: 9000,
    };
    // 19 slow streams in one minute: never enough.
    check(Vec::new(), &[timed(0..1, SONNET, 19, slow)], 15, &[]);
    // 20 of them: at once.
    check(
        Vec::new(),
        &[timed(0..1, SONNET, 20, slow)],
        15,
        &[
            "0 spike spike:stream_ttft:claude-sonnet-4-5",
            // They leave the 10-minute window at minute 10, and there are too few left.
            "10 over spike:stream_ttft:claude-sonnet-4-5:recovered",
        ],
    );
    // Two a minute reach 20 at minute 9; fast streams from minute 15 push the slow ones out of
    // the p95 once at most one of the window's 20 is slow, at minute 24.
    check(
        Vec::new(),
        &[
            timed(0..15, SONNET, 2, slow),
            timed(
                15..40,
                SONNET,
                2,
                Answer::Stream {
                    ttft_ms: 600,
                    latency_ms: 9000,
                },
            ),
        ],
        40,
        &[
            "9 spike spike:stream_ttft:claude-sonnet-4-5",
            "24 over spike:stream_ttft:claude-sonnet-4-5:recovered",
        ],
    );
}

#[test]
fn exactly_three_seconds_is_not_over() {
    check(
        Vec::new(),
        &[timed(
            0..15,
            SONNET,
            5,
            Answer::Stream {
                ttft_ms: 3000,
                latency_ms: 9000,
            },
        )],
        15,
        &[],
    );
}

#[test]
fn a_long_stream_is_never_timed_against_five_seconds() {
    // Streams that take two minutes but start in half a second: no alert at all.
    check(
        Vec::new(),
        &[timed(
            0..30,
            SONNET,
            30,
            Answer::Stream {
                ttft_ms: 500,
                latency_ms: 120_000,
            },
        )],
        30,
        &[],
    );
}

#[test]
fn whole_answers_over_five_seconds_at_p95_with_20_requests() {
    let slow = Answer::Whole { latency_ms: 6000 };
    check(Vec::new(), &[timed(0..1, OPUS, 19, slow)], 12, &[]);
    check(
        Vec::new(),
        &[timed(0..20, OPUS, 2, slow)],
        20,
        &["9 spike spike:answer_time:claude-opus-4-5"],
    );
    // One slow answer in 20 is the p95's 20th, not its 19th: not over.
    check(
        Vec::new(),
        &[
            timed(0..10, OPUS, 19, Answer::Whole { latency_ms: 1000 }),
            timed(0..1, OPUS, 1, slow),
        ],
        10,
        &[],
    );
}

#[test]
fn the_notification_carries_the_model_and_the_numbers() {
    let catalog = Catalog::builtin();
    let mut watch = SpikeWatch::default();
    watch.seed_hours(seeded(OPUS, 24, Some(18.05), None));
    let rows = [row(0..40, OPUS, 10, 1000, 2000)];
    let mut fired = Vec::new();
    for minute in 0..20 {
        for sample in samples_of(&rows, minute) {
            watch.record(&sample, &catalog);
        }
        fired.extend(watch.decide(eval_at(minute)));
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    let n = &fired[0];
    assert_eq!(n.model.as_deref(), Some(OPUS));
    // Opus 4.5: $5 in, $25 out per million → $5 + $50 = $55.00 per 1,000 requests.
    assert_eq!(n.title, "Opus 4.5: cost per 1,000 requests $55.00");
    assert_eq!(
        n.body,
        "Over twice its 7-day median of $18.05 for 10 minutes, across the last hour's 200 requests through the gateway."
    );
}

/// The monitor's own tick: spikes pass the alert state's deduplication and cooldown.
#[test]
fn the_monitor_ticks_spikes_through_the_alert_cooldown() {
    let mut state = monitor_with_cooldown(Duration::minutes(30));
    let slow = Answer::Whole { latency_ms: 7000 };
    let fast = Answer::Whole { latency_ms: 700 };
    // Slow, fast, slow again: the second spike comes 11 minutes after the first, inside the
    // 30-minute cooldown, and is held back; so is the second recovery.
    let rows = [
        timed(0..10, OPUS, 2, slow),
        timed(10..20, OPUS, 2, fast),
        timed(20..30, OPUS, 2, slow),
        timed(30..45, OPUS, 2, fast),
    ];
    let got = tick_monitor(&mut state, &rows, 45);
    assert_eq!(
        got,
        [
            "9 spike spike:answer_time:claude-opus-4-5",
            "19 over spike:answer_time:claude-opus-4-5:recovered",
        ]
    );
    // The verdict is in the snapshot for every front end.
    let traffic = state.snapshot().traffic.unwrap();
    assert!(traffic
        .lines
        .iter()
        .any(|l| l.model == OPUS && l.measure == SpikeMeasure::AnswerTime));
}

/// A spike's end goes out exactly when its start did: a second spike told once the cooldown has
/// passed gets its end even inside the end's own cooldown.
#[test]
fn a_told_spike_is_always_told_to_end() {
    let mut state = monitor_with_cooldown(Duration::minutes(30));
    let slow = Answer::Whole { latency_ms: 7000 };
    let fast = Answer::Whole { latency_ms: 700 };
    // The first spike starts at minute 9 and ends at 19. The second starts at 39, 30 minutes
    // after the first (so past the cooldown), and ends at 40 when the traffic stops: 21 minutes
    // after the first end, inside its cooldown.
    let rows = [
        timed(0..10, OPUS, 2, slow),
        timed(10..20, OPUS, 2, fast),
        timed(30..39, OPUS, 2, fast),
        timed(39..40, OPUS, 2, slow),
    ];
    let got = tick_monitor(&mut state, &rows, 45);
    assert_eq!(
        got,
        [
            "9 spike spike:answer_time:claude-opus-4-5",
            "19 over spike:answer_time:claude-opus-4-5:recovered",
            "39 spike spike:answer_time:claude-opus-4-5",
            "40 over spike:answer_time:claude-opus-4-5:recovered",
        ]
    );
}

#[test]
fn replayed_traffic_is_timed_only_where_the_engine_sent_its_times() {
    // The engine replays a request's times only when the gateway's shapes say whether it was
    // streamed; without them a replayed request is never timed.
    let replayed = |keep_times: bool| {
        let mut state = MonitorState::new(MonitorConfig::default());
        let mut samples = samples_of(
            &[timed(0..1, OPUS, 40, Answer::Whole { latency_ms: 60_000 })],
            0,
        );
        if !keep_times {
            for sample in &mut samples {
                sample.ttft_ms = None;
                sample.latency_ms = None;
            }
        }
        let _ = state.apply(
            Observation::Traffic {
                samples,
                replay: true,
            },
            eval_at(0) - Duration::seconds(1),
        );
        state.tick(eval_at(0))
    };
    assert!(replayed(false).is_empty());
    assert!(!replayed(true).is_empty());
}
