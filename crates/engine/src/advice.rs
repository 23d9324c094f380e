//! The advice of the Budget view and `claude-status usage --advice`: the prompt-cache advisor and
//! model advice (`claude_status_core::advice`) over the gateway's requests of the last 24 hours,
//! read from the store with the prefix sizes `count_tokens` counted.

use chrono::{DateTime, Duration, Utc};
use claude_status_core::advice::{AdviceReport, Advisor};
use claude_status_core::catalog::Catalog;

use crate::error::Result;
use crate::store::Store;

/// The window the advice covers: a day, so "a day to save" is what the window measured.
pub const ADVICE_WINDOW: Duration = Duration::hours(24);

/// The advice over `[now - window, now)`.
pub fn advice_report(
    store: &Store,
    catalog: &Catalog,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<AdviceReport> {
    let sizes = store.prefix_sizes()?;
    let mut advisor = Advisor::new(catalog, now - window, now);
    store.visit_prefix_sends(now - window, now, &mut |send| advisor.push(send))?;
    let size_of = |model: &str, key: &str| {
        sizes
            .get(&(model.to_owned(), key.to_owned()))
            .copied()
            .or_else(|| {
                sizes
                    .iter()
                    .find(|((stored, stored_key), _)| {
                        stored_key == key && catalog.normalize(stored) == model
                    })
                    .map(|(_, tokens)| *tokens)
            })
    };
    Ok(advisor.report(&size_of))
}
