//! Following the transcripts as Claude Code writes them: file-system events (the `notify` crate)
//! trigger a read of the files that changed, after a short debounce so that a burst of lines is
//! read once, and a periodic full rescan catches anything the events missed (a watch limit hit,
//! a folder created before its watch was in place, a network file system without events).
//!
//! A projects folder that does not exist yet (the app installed before Claude Code's first run)
//! is waited for through its nearest existing parent, watched on its own: when the folder
//! appears it is watched and read at once rather than at the next rescan.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use claude_status_core::usage::UsageRecord;
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::discover::{find_log_files, is_transcript, LogFile};
use super::{ingest_files, IngestReport};
use crate::error::{Error, Result};
use crate::store::Store;

/// How [`follow`] paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowConfig {
    /// How long to gather events after the first before reading: Claude Code writes a reply as
    /// several lines in quick succession.
    pub debounce: Duration,
    /// How often every transcript is checked regardless of events.
    pub rescan_every: Duration,
    /// Send the records of the starting catch-up too. For a caller that has just ingested
    /// everything itself (and read the month back), so the catch-up holds only the lines written
    /// in between, which are new: without this they would reach the ledger and never the
    /// monitor.
    pub send_catch_up: bool,
}

impl Default for FollowConfig {
    fn default() -> Self {
        FollowConfig {
            debounce: Duration::from_millis(200),
            rescan_every: Duration::from_secs(60),
            send_catch_up: false,
        }
    }
}

/// Reads new transcript lines into the ledger until `shutdown`, sending the records of each
/// committed batch over `records`.
///
/// It starts with a catch-up ingest of everything written while it was not running; those
/// records are in the ledger but are *not* sent (there can be hundreds of thousands on a first
/// run: read them with `Store::usage_between`). The sent records are deduplicated per batch
/// only: a later batch may carry a fuller copy of a request already sent, so consumers
/// deduplicate by (message id, request id) keeping the larger total, as `core` does.
///
/// Ends early, with `Ok`, when the receiver of `records` is dropped.
pub async fn follow(
    store: Arc<Store>,
    projects_dirs: Vec<PathBuf>,
    records: mpsc::Sender<Vec<UsageRecord>>,
    shutdown: CancellationToken,
) -> Result<()> {
    follow_with(
        store,
        projects_dirs,
        FollowConfig::default(),
        records,
        shutdown,
    )
    .await
}

/// [`follow`] with its pacing given.
pub async fn follow_with(
    store: Arc<Store>,
    projects_dirs: Vec<PathBuf>,
    config: FollowConfig,
    records: mpsc::Sender<Vec<UsageRecord>>,
    shutdown: CancellationToken,
) -> Result<()> {
    let (event_sender, mut events) = mpsc::unbounded_channel::<PathBuf>();
    // A folder on the way to a projects folder that is not there yet was created (or renamed):
    // time to look again. Bounded to one pending signal; one is as good as many.
    let (appeared_sender, mut appeared) = mpsc::channel::<()>(1);
    let awaited = projects_dirs.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        match event {
            Ok(event) => {
                for path in event.paths {
                    if is_transcript(&path) {
                        // The receiver is gone only when `follow` has returned.
                        let _ = event_sender.send(path);
                    } else if appears(&event.kind)
                        && awaited.iter().any(|dir| dir.starts_with(&path))
                    {
                        let _ = appeared_sender.try_send(());
                    }
                }
            }
            // An overflowed queue or a failed watch: the periodic rescan catches up.
            Err(error) => tracing::debug!(%error, "file watch error"),
        }
    })
    .map_err(|e| {
        Error::Io(std::io::Error::other(format!(
            "starting the file watcher: {e}"
        )))
    })?;
    let mut watched = Watched::default();
    let _ = watch_new_dirs(&mut watcher, &projects_dirs, &mut watched);

    // Catch up with what was written while we were not running; not sent (see above), unless
    // the caller read the history itself just before.
    let catch_up = run_ingest(
        Arc::clone(&store),
        find_files(&projects_dirs),
        config.send_catch_up,
        false,
    )
    .await;
    if let Some((report, batches)) = catch_up {
        tracing::info!(
            files = report.files,
            records = report.records,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "read the Claude Code transcripts"
        );
        for batch in batches {
            if records.send(batch).await.is_err() {
                return Ok(());
            }
        }
    }

    let mut rescan = tokio::time::interval(config.rescan_every);
    rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    rescan.reset(); // The catch-up was the first scan.
                    // Set while ingests fail, so the warning is logged once per run of failures.
    let mut failing = false;
    loop {
        let files = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = rescan.tick() => {
                let _ = watch_new_dirs(&mut watcher, &projects_dirs, &mut watched);
                find_files(&projects_dirs)
            }
            Some(()) = appeared.recv() => {
                // What the new folder already holds was written before its watch: read it all.
                if watch_new_dirs(&mut watcher, &projects_dirs, &mut watched) {
                    find_files(&projects_dirs)
                } else {
                    Vec::new()
                }
            }
            Some(first) = events.recv() => {
                let mut changed = HashSet::from([first]);
                let window = tokio::time::sleep(config.debounce);
                tokio::pin!(window);
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = &mut window => break,
                        Some(path) = events.recv() => { changed.insert(path); }
                    }
                }
                changed_files(&projects_dirs, changed)
            }
        };
        if files.is_empty() {
            continue;
        }
        let Some((_, batches)) = run_ingest(Arc::clone(&store), files, true, failing).await else {
            // A write the store refused (a full disk, most often) is retried from the offsets it
            // last committed, so nothing is lost by waiting; retrying at once would loop, since
            // our own read of the transcript is a file event too, and log a line every debounce.
            failing = true;
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(FAILED_INGEST_PAUSE) => {}
            }
            // The transcripts that changed meanwhile are read by the next event or rescan; the
            // ones that failed now are looked at again at once.
            rescan.reset_immediately();
            continue;
        };
        if failing {
            failing = false;
            tracing::info!("reading Claude Code transcripts works again");
        }
        for batch in batches {
            if records.send(batch).await.is_err() {
                return Ok(());
            }
        }
    }
}

/// The watches in place: projects folders (recursive) and the parents that stand in for projects
/// folders not there yet (each on its own, not recursive).
#[derive(Default)]
struct Watched {
    projects: HashSet<PathBuf>,
    parents: HashSet<PathBuf>,
}

/// Watches every projects directory not yet watched, and says whether it watched a new one. One
/// that does not exist yet is waited for through its nearest existing parent; should that watch
/// fail too, the rescan tries again.
fn watch_new_dirs(
    watcher: &mut notify::RecommendedWatcher,
    projects_dirs: &[PathBuf],
    watched: &mut Watched,
) -> bool {
    let mut added = false;
    for dir in projects_dirs {
        if watched.projects.contains(dir) {
            continue;
        }
        // The folder may appear between the look and the parent's watch, so look once more
        // after setting one.
        for _ in 0..2 {
            if dir.is_dir() {
                match watcher.watch(dir, RecursiveMode::Recursive) {
                    Ok(()) => {
                        watched.projects.insert(dir.clone());
                        added = true;
                    }
                    Err(error) => {
                        tracing::warn!(dir = %dir.display(), %error, "cannot watch a transcript folder; relying on the periodic rescan");
                    }
                }
                break;
            }
            let Some(parent) = nearest_existing_parent(dir) else {
                break;
            };
            if watched.parents.contains(&parent) {
                break;
            }
            match watcher.watch(&parent, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    watched.parents.insert(parent);
                }
                Err(error) => {
                    tracing::debug!(dir = %parent.display(), %error, "cannot watch for a transcript folder to appear");
                    break;
                }
            }
        }
    }
    added
}

/// Whether an event can mean that a folder appeared: a creation, or a rename into place.
fn appears(kind: &notify::EventKind) -> bool {
    matches!(
        kind,
        notify::EventKind::Create(_)
            | notify::EventKind::Modify(notify::event::ModifyKind::Name(_))
    )
}

/// The deepest folder above `dir` that exists.
fn nearest_existing_parent(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .skip(1)
        .find(|ancestor| ancestor.is_dir())
        .map(Path::to_path_buf)
}

fn find_files(projects_dirs: &[PathBuf]) -> Vec<LogFile> {
    find_log_files(projects_dirs)
}

/// The changed paths that still exist, each with the projects directory it is under.
fn changed_files(projects_dirs: &[PathBuf], changed: HashSet<PathBuf>) -> Vec<LogFile> {
    let mut files: Vec<LogFile> = changed
        .into_iter()
        .filter(|path| path.is_file())
        .filter_map(|path| {
            // The deepest matching directory, should one projects directory contain another.
            let projects_dir = projects_dirs
                .iter()
                .filter(|dir| path.starts_with(dir))
                .max_by_key(|dir| dir.components().count())?
                .clone();
            Some(LogFile { path, projects_dir })
        })
        .collect();
    files.sort();
    files
}

/// How long the follower waits after an ingest the store refused before it reads again.
const FAILED_INGEST_PAUSE: Duration = Duration::from_secs(5);

/// Runs an ingest on the blocking pool; a failure is logged (the next event or rescan retries)
/// rather than ending the follow, as a warning unless `already_failing`.
async fn run_ingest(
    store: Arc<Store>,
    files: Vec<LogFile>,
    collect: bool,
    already_failing: bool,
) -> Option<(IngestReport, Vec<Vec<UsageRecord>>)> {
    let result = tokio::task::spawn_blocking(move || {
        let mut batches = Vec::new();
        let mut keep = |batch: Vec<UsageRecord>| {
            if !batch.is_empty() {
                batches.push(batch);
            }
        };
        let on_batch: Option<&mut dyn FnMut(Vec<UsageRecord>)> =
            if collect { Some(&mut keep) } else { None };
        let report = ingest_files(&store, &files, on_batch)?;
        Ok::<_, Error>((report, batches))
    })
    .await;
    match result {
        Ok(Ok(done)) => Some(done),
        Ok(Err(error)) if already_failing => {
            tracing::debug!(%error, "reading Claude Code transcripts failed again; will retry");
            None
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "reading Claude Code transcripts failed; will retry");
            None
        }
        Err(error) => {
            tracing::warn!(%error, "the transcript reader stopped unexpectedly; will retry");
            None
        }
    }
}
