//! Notices when this process was frozen (a laptop's sleep, SIGSTOP, a debugger) or the wall clock
//! jumped, so that a probe whose exchange spanned the freeze is taken again instead of being
//! recorded as the API's timeout or as a latency of many minutes.
//!
//! A ticker task wakes every [`TICK`]. After a freeze its wake is late on the monotonic clock
//! (SIGSTOP, or a sleep on a system whose monotonic clock counts it), or the wall clock moved much
//! more than the monotonic one (Linux's suspend, where `CLOCK_MONOTONIC` stands still, or a clock
//! jump). Each such gap is kept as a span of monotonic time; a caller asks whether its own
//! exchange overlapped one. The same comparison runs when a caller asks, so a probe that wakes
//! before the ticker does still learns of the freeze it spanned.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How often the ticker wakes.
pub const TICK: Duration = Duration::from_secs(1);
/// How much later than due a wake must be, or how far the two clocks must part, to count as a
/// freeze. A busy machine delays a timer by milliseconds, not seconds.
pub const SLACK: Duration = Duration::from_secs(2);
/// How many past freezes are kept: a probe lasts at most its HTTP time limit, so only the last
/// few can overlap it.
const KEPT: usize = 16;

/// The freezes seen so far, shared by the ticker and the probe loop.
#[derive(Debug, Clone)]
pub struct FreezeWatch {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    /// Woken when the wall clock ran ahead of the monotonic one: the process slept where the
    /// monotonic clock stood still, so timers are not overdue and the caller must act itself.
    woke: Notify,
}

#[derive(Debug)]
struct State {
    last: (Instant, DateTime<Utc>),
    freezes: VecDeque<(Instant, Instant)>,
}

impl Default for FreezeWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl FreezeWatch {
    pub fn new() -> FreezeWatch {
        FreezeWatch {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    last: (Instant::now(), Utc::now()),
                    freezes: VecDeque::new(),
                }),
                woke: Notify::new(),
            }),
        }
    }

    /// Runs the ticker until the returned handle is aborted (or dropped through [`Ticker`]).
    pub fn spawn_ticker(&self) -> Ticker {
        let watch = self.clone();
        Ticker(tokio::spawn(async move {
            loop {
                tokio::time::sleep(TICK).await;
                watch.observe();
            }
        }))
    }

    /// Compares both clocks with the last look and records the gap between them as a freeze
    /// when either says the process did not run in between.
    pub fn observe(&self) {
        let now = (Instant::now(), Utc::now());
        let woke = {
            let Ok(mut state) = self.inner.state.lock() else {
                return;
            };
            let (last_mono, last_wall) = state.last;
            state.last = now;
            let mono = now.0.saturating_duration_since(last_mono);
            let wall_ms = (now.1 - last_wall).num_milliseconds();
            let mono_ms = i64::try_from(mono.as_millis()).unwrap_or(i64::MAX);
            let slack_ms = i64::try_from(SLACK.as_millis()).unwrap_or(i64::MAX);
            let late = mono > TICK + SLACK;
            let parted = (wall_ms - mono_ms).abs() > slack_ms;
            if late || parted {
                if state.freezes.len() == KEPT {
                    state.freezes.pop_front();
                }
                state.freezes.push_back((last_mono, now.0));
            }
            wall_ms - mono_ms > slack_ms
        };
        if woke {
            self.inner.woke.notify_waiters();
        }
    }

    /// Whether a freeze overlapped the span from `started` to now.
    pub fn frozen_since(&self, started: Instant) -> bool {
        self.observe();
        let Ok(state) = self.inner.state.lock() else {
            return false;
        };
        state.freezes.iter().any(|(_, to)| *to > started)
    }

    /// Resolves when a wake from a sleep the monotonic clock did not count is seen.
    pub async fn woke(&self) {
        self.inner.woke.notified().await;
    }
}

/// The ticker task; aborted when dropped, so it ends with the loop that made it.
#[derive(Debug)]
pub struct Ticker(tokio::task::JoinHandle<()>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}
