//! The Claude Code usage source: reads the JSONL transcripts Claude Code writes under
//! `~/.claude/projects/` into the usage ledger, once ([`ingest_all`]) or as they grow
//! ([`follow`]).
//!
//! Each transcript is read from where the last run stopped (its offset in the store) and only up
//! to its last complete line, so a line being written is read once it is finished. A file that
//! shrank or was replaced (another inode) is read again from the start; the ledger's unique key
//! (message id, request id) keeps its records from being counted twice.
//!
//! Reading is spread over the cores: worker threads each take whole files, read and parse them,
//! and hand chunks of records to the calling thread, which alone writes to SQLite (SQLite has one
//! writer anyway). A chunk carries the offset just past its last line, and a batch of chunks is
//! committed with those offsets in one transaction, so a process killed mid-ingest resumes
//! exactly where its last commit ended.
//!
//! A line longer than [`MAX_LINE_BYTES`] is not held in memory: it is skipped to its newline and
//! counted as oversized. A skip that reaches the end of the file stores the offset there, inside
//! the line; a read that resumes at an offset not just past a newline knows it is inside such a
//! line and skips on to its end, so the skipped bytes are read once, never again.

pub mod discover;
mod follow;
pub mod parse;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use claude_status_core::usage::UsageRecord;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::{Store, UsageFileOffset};

pub use discover::{default_projects_dirs, find_log_files, logs_override, LogFile};
pub use follow::{follow, follow_with, FollowConfig};
pub use parse::{parse_line, FileContext, ParsedLine};

/// How many records one transaction writes when the caller wants them back after the commit
/// (the follower hands them to the service): a batch is then held in memory, so it stays at a
/// couple of megabytes.
pub const BATCH_RECORDS: usize = 5_000;

/// How many records one transaction writes when nobody wants them back (a one-off ingest): only
/// SQLite holds them, within its page cache, and every commit rewrites the index pages it
/// touched, so commits are rare.
pub const BULK_RECORDS: usize = 50_000;

/// The longest a transaction stays open, so that other users of the store (the dashboard, the
/// status line) wait at most this long behind an ingest, and a kill loses at most this much work.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(500);

/// How much of a file one read takes: large enough that a read costs little per byte, small
/// enough that two workers' buffers and the chunks in flight stay a few megabytes.
const READ_BLOCK: usize = 1 << 20;

/// The longest transcript line that is parsed; a longer one is skipped and counted in
/// [`IngestReport::oversized`]. A usage line holds one reply, and a reply is bounded by the
/// model's output limit (128k tokens, well under 2 MiB of JSON), so 16 MiB loses no usage while
/// keeping a worker's memory at this plus one block, whatever a file holds (a hostile or corrupt
/// transcript may be one line of a gigabyte).
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// What one ingest did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Transcripts found.
    pub files: usize,
    /// Of those, the ones that had something new to read.
    pub files_read: usize,
    /// Of those, the ones read again from the start because they shrank or were replaced.
    pub files_reset: usize,
    /// Complete lines read.
    pub lines: u64,
    /// Usage records found in them (API-error lines included).
    pub records: u64,
    /// Records of a request already seen (an earlier line of the same response, or a row
    /// already in the ledger); they update the row rather than add one.
    pub duplicates: u64,
    /// Of the records, synthetic API-error lines.
    pub api_errors: u64,
    /// Lines that looked like usage but did not parse; skipped, never fatal.
    pub malformed: u64,
    /// Lines longer than [`MAX_LINE_BYTES`], skipped unread (each counted when its skip starts).
    /// `default` so that a report from a service that predates the field still reads.
    #[serde(default)]
    pub oversized: u64,
    /// Bytes read.
    pub bytes: u64,
    #[serde(with = "duration_ms")]
    pub elapsed: Duration,
}

impl IngestReport {
    fn add_chunk(&mut self, chunk: &Chunk) {
        self.lines += chunk.lines;
        self.records += chunk.records.len() as u64 + chunk.collapsed;
        self.duplicates += chunk.collapsed;
        self.api_errors += chunk.api_errors;
        self.malformed += chunk.malformed;
        self.oversized += chunk.oversized;
        self.bytes += chunk.bytes;
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Reads everything new in the transcripts under `projects_dirs` into the ledger.
pub fn ingest_all(store: &Store, projects_dirs: &[PathBuf]) -> Result<IngestReport> {
    let started = Instant::now();
    let files = find_log_files(projects_dirs);
    forget_deleted_files(store, projects_dirs, &files)?;
    let mut report = ingest_files(store, &files, None)?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Reads everything new in `files` into the ledger, handing each committed batch's records to
/// `on_batch` (after the commit) when one is given.
pub fn ingest_files(
    store: &Store,
    files: &[LogFile],
    on_batch: Option<&mut dyn FnMut(Vec<UsageRecord>)>,
) -> Result<IngestReport> {
    let started = Instant::now();
    let known = store.usage_file_offsets()?;
    let mut report = IngestReport {
        files: files.len(),
        ..IngestReport::default()
    };
    // Decide up front which files have something new, so idle files cost one `stat` each.
    let mut work = Vec::new();
    for file in files {
        let Ok(metadata) = std::fs::metadata(&file.path) else {
            continue;
        };
        let stat = FileStat::of(&metadata);
        let start = match known.get(&file.path) {
            None => 0,
            Some(stored) => {
                let replaced = matches!((stored.inode, stat.inode), (Some(a), Some(b)) if a != b);
                if replaced || stat.size < stored.offset {
                    report.files_reset += 1;
                    0
                } else if stat.size == stored.offset {
                    continue;
                } else {
                    stored.offset
                }
            }
        };
        work.push(FileWork {
            file: file.clone(),
            start,
            stat,
        });
    }
    report.files_read = work.len();
    if work.is_empty() {
        report.elapsed = started.elapsed();
        return Ok(report);
    }

    let workers = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 8)
        .min(work.len());
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::sync_channel::<Chunk>(workers * 4);
    let write_result = std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let work = &work;
            let next = &next;
            scope.spawn(move || {
                // One buffer for all of a worker's files: fresh pages for every file were a
                // tenth of the kernel's time in a profile of thousands of small transcripts.
                let mut buffer = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = work.get(index) else {
                        break;
                    };
                    if read_file(item, &mut buffer, &sender).is_err() {
                        // The writer has stopped (it failed); nothing more to do.
                        break;
                    }
                    // A line far longer than a block grew it; do not keep that memory.
                    if buffer.capacity() > 2 * READ_BLOCK {
                        buffer.clear();
                        buffer.shrink_to(READ_BLOCK);
                    }
                }
            });
        }
        drop(sender);
        write_chunks(store, receiver, &mut report, on_batch)
    });
    write_result?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Writes chunks as they come, each into the open transaction, committing after
/// [`BATCH_RECORDS`] records (or [`BULK_RECORDS`] when no caller wants the records back) or
/// [`COMMIT_INTERVAL`], whichever comes first. Each chunk's offset is written with its records,
/// so a commit always holds both.
fn write_chunks(
    store: &Store,
    receiver: mpsc::Receiver<Chunk>,
    report: &mut IngestReport,
    mut on_batch: Option<&mut dyn FnMut(Vec<UsageRecord>)>,
) -> Result<()> {
    let limit = if on_batch.is_some() {
        BATCH_RECORDS
    } else {
        BULK_RECORDS
    };
    // The transaction opens on the first chunk of a batch, so the write lock is never held while
    // the workers have nothing to hand over yet.
    while let Ok(first) = receiver.recv() {
        let opened = Instant::now();
        let mut kept: Vec<UsageRecord> = Vec::new();
        let mut pending = Some(first);
        let (finished, outcome) = store.ingest_transaction(|writer| {
            let mut written = 0;
            loop {
                let chunk = match pending.take() {
                    Some(chunk) => chunk,
                    None => {
                        let left = COMMIT_INTERVAL.saturating_sub(opened.elapsed());
                        match receiver.recv_timeout(left) {
                            Ok(chunk) => chunk,
                            Err(mpsc::RecvTimeoutError::Timeout) => return Ok(false),
                            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(true),
                        }
                    }
                };
                report.add_chunk(&chunk);
                if chunk.malformed > 0 {
                    tracing::debug!(file = %chunk.offset.path.display(), malformed = chunk.malformed, "skipped malformed transcript lines");
                }
                if chunk.oversized > 0 {
                    tracing::warn!(file = %chunk.offset.path.display(), oversized = chunk.oversized, limit = MAX_LINE_BYTES, "skipped transcript lines longer than the limit");
                }
                for record in &chunk.records {
                    writer.record(record)?;
                }
                writer.offset(&chunk.offset)?;
                written += chunk.records.len();
                if on_batch.is_some() {
                    kept.extend(chunk.records);
                }
                if written >= limit || opened.elapsed() >= COMMIT_INTERVAL {
                    return Ok(false);
                }
            }
        })?;
        report.duplicates += outcome.duplicates as u64;
        if let Some(on_batch) = on_batch.as_mut() {
            on_batch(kept);
        }
        if finished {
            break;
        }
    }
    Ok(())
}

/// What a file looks like on disk right now.
#[derive(Debug, Clone, Copy)]
struct FileStat {
    size: u64,
    mtime_ms: Option<i64>,
    inode: Option<u64>,
}

impl FileStat {
    fn of(metadata: &std::fs::Metadata) -> FileStat {
        let mtime_ms = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok());
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            Some(metadata.ino())
        };
        #[cfg(not(unix))]
        let inode = None;
        FileStat {
            size: metadata.len(),
            mtime_ms,
            inode,
        }
    }
}

struct FileWork {
    file: LogFile,
    start: u64,
    stat: FileStat,
}

/// Records parsed from consecutive complete lines of one file, and the offset just past them.
struct Chunk {
    records: Vec<UsageRecord>,
    offset: UsageFileOffset,
    lines: u64,
    /// Records dropped because a later line of the same request in this chunk replaced them.
    collapsed: u64,
    api_errors: u64,
    malformed: u64,
    oversized: u64,
    bytes: u64,
}

/// Reads a file from its start offset to its last complete line, sending one chunk per block.
/// Fails only when the writer has gone away; a file that cannot be read is logged and skipped.
///
/// A line longer than [`MAX_LINE_BYTES`] is skipped block by block to its newline, so the buffer
/// never holds more than the limit and one block.
fn read_file(
    item: &FileWork,
    buffer: &mut Vec<u8>,
    sender: &mpsc::SyncSender<Chunk>,
) -> std::result::Result<(), ()> {
    let path = &item.file.path;
    let context = FileContext::within(&item.file.projects_dir, path);
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) => {
            tracing::warn!(file = %path.display(), %error, "cannot open a transcript; skipping it");
            return Ok(());
        }
    };
    // Every stored offset is just past a newline, except where an earlier read skipped an
    // overlong line up to the end of the file (or took a last line without its newline, which
    // a well-formed file never follows with more on the same line): the byte before says which.
    let mut skipping = false;
    if item.start > 0 {
        let mut before = [0u8; 1];
        let positioned = file.seek(SeekFrom::Start(item.start - 1)).is_ok()
            && file.read_exact(&mut before).is_ok();
        if !positioned {
            return Ok(());
        }
        skipping = before[0] != b'\n';
    }
    let mut offset = item.start;
    let mut sent = false;
    // The worker's buffer grows to what is left of the file, up to a block, so a small transcript
    // (most of them) costs its own size; `read_to_end` fills spare capacity without zeroing it.
    buffer.clear();
    let mut at_end = false;
    while !at_end {
        // Read up to one block beyond what is left over from the last one. `read_to_end` retries
        // an interrupted read itself; exact reservation keeps the buffer at one block and a line.
        let keep = buffer.len();
        let wanted = usize::try_from(item.stat.size.saturating_sub(offset + keep as u64))
            .map_or(READ_BLOCK, |n| n.min(READ_BLOCK));
        buffer.reserve_exact(wanted + 1);
        if let Err(error) = (&mut file).take(READ_BLOCK as u64).read_to_end(buffer) {
            tracing::warn!(file = %path.display(), %error, "reading a transcript failed");
            at_end = true;
        }
        // Fewer bytes than a block means the end of the file (as it is now).
        if buffer.len() - keep < READ_BLOCK {
            at_end = true;
        }
        let mut skipped = 0u64;
        let mut oversized = 0u64;
        if skipping {
            // Inside an overlong line: drop everything up to and with its newline.
            let end = memchr::memchr(b'\n', buffer).map_or(buffer.len(), |i| i + 1);
            skipping = end == buffer.len() && buffer.last() != Some(&b'\n');
            buffer.drain(..end);
            skipped = end as u64;
        }
        let mut complete = memchr::memrchr(b'\n', buffer).map_or(0, |i| i + 1);
        // A last line without its newline counts once it is a whole JSON value: Claude Code
        // always ends its lines, but a file copied by hand may not. Anything else at the end is
        // a line still being written, and waits for the next read.
        if at_end && !skipping && complete < buffer.len() && is_whole_json(&buffer[complete..]) {
            complete = buffer.len();
        }
        if buffer.len() - complete > MAX_LINE_BYTES {
            // The unfinished last line is already over the limit: parse what is before it, and
            // skip the line from here on, without keeping it.
            skipped += (buffer.len() - complete) as u64;
            oversized += 1;
            skipping = true;
        } else if complete == 0 && skipped == 0 && !at_end {
            // One line longer than a block (and within the limit): read on.
            continue;
        }
        let mut chunk = parse_chunk(&buffer[..complete], &context, item);
        chunk.bytes += skipped;
        chunk.oversized = oversized;
        offset += complete as u64 + skipped;
        let chunk = Chunk {
            offset: UsageFileOffset {
                path: path.clone(),
                size: item.stat.size.max(offset),
                mtime_ms: item.stat.mtime_ms,
                offset,
                inode: item.stat.inode,
            },
            ..chunk
        };
        // A chunk that moved the offset is sent even without lines (a skip must be stored, or it
        // would be read again), and a new file's first is always sent, to record its inode.
        if complete > 0 || skipped > 0 || (item.start == 0 && !sent) {
            sender.send(chunk).map_err(|_| ())?;
            sent = true;
        }
        if skipping {
            buffer.clear();
        } else {
            buffer.drain(..complete);
        }
    }
    Ok(())
}

fn is_whole_json(bytes: &[u8]) -> bool {
    let trimmed = bytes.trim_ascii();
    !trimmed.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok()
}

/// Parses complete lines, collapsing repeated lines of one request to the one with the most
/// tokens (Claude Code writes one line per content block, with the same ids).
fn parse_chunk(bytes: &[u8], context: &FileContext, item: &FileWork) -> Chunk {
    let mut records: Vec<UsageRecord> = Vec::new();
    let hasher = std::collections::hash_map::RandomState::new();
    let mut by_request: HashMap<u64, usize> = HashMap::new();
    let mut chunk = Chunk {
        records: Vec::new(),
        offset: UsageFileOffset {
            path: item.file.path.clone(),
            size: 0,
            mtime_ms: None,
            offset: 0,
            inode: None,
        },
        lines: 0,
        collapsed: 0,
        api_errors: 0,
        malformed: 0,
        oversized: 0,
        bytes: bytes.len() as u64,
    };
    // `memchr` finds the newlines a word at a time; a byte-by-byte split was a tenth of the
    // ingest's time on a profile.
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for end in ends {
        let line = &bytes[start..end];
        start = end + 1;
        if line.is_empty() {
            continue;
        }
        chunk.lines += 1;
        match parse_line(line, context) {
            ParsedLine::Record(record) => {
                if record.status.is_some() {
                    chunk.api_errors += 1;
                }
                let Some(message_id) = record.message_id.as_deref() else {
                    records.push(record);
                    continue;
                };
                // Keyed by a hash of the ids, not by copies of them (two allocations a record);
                // a hit is checked against the ids, and a collision merely leaves the two
                // records for the ledger's unique key to settle.
                let key = hasher.hash_one((message_id, record.request_id.as_deref()));
                match by_request.get(&key) {
                    Some(&index)
                        if records[index].message_id == record.message_id
                            && records[index].request_id == record.request_id =>
                    {
                        chunk.collapsed += 1;
                        if record.tokens.total() > records[index].tokens.total() {
                            records[index] = record;
                        }
                    }
                    Some(_) => records.push(record),
                    None => {
                        by_request.insert(key, records.len());
                        records.push(record);
                    }
                }
            }
            ParsedLine::Skipped => {}
            ParsedLine::Malformed => chunk.malformed += 1,
        }
    }
    chunk.records = records;
    chunk
}

/// Drops the stored offsets of transcripts under `projects_dirs` that are gone, so that a new
/// file created later under the same name is read from its start.
fn forget_deleted_files(store: &Store, projects_dirs: &[PathBuf], found: &[LogFile]) -> Result<()> {
    let found: HashSet<&Path> = found.iter().map(|f| f.path.as_path()).collect();
    let gone: Vec<PathBuf> = store
        .usage_file_offsets()?
        .into_keys()
        .filter(|path| projects_dirs.iter().any(|dir| path.starts_with(dir)))
        .filter(|path| !found.contains(path.as_path()) && !path.exists())
        .collect();
    if gone.is_empty() {
        return Ok(());
    }
    store.forget_usage_files(&gone)?;
    Ok(())
}

/// The `projects/` directories to read: `--logs DIR` when given, else the environment and the
/// defaults (see [`discover`]).
pub fn projects_dirs(logs: Option<&Path>) -> Result<Vec<PathBuf>> {
    match logs {
        Some(dir) => Ok(vec![logs_override(dir)?]),
        None => default_projects_dirs(),
    }
}
