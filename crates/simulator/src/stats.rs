//! Counters of what the simulator served, so tests can check how much a client polled and how many bytes it cost.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A snapshot of the counters since the server started (switching scenarios does not reset them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests answered on the API and status page paths (the `/_sim/` control paths are not counted).
    pub requests_total: u64,
    /// Requests per path, without the query string.
    pub requests_by_path: BTreeMap<String, u64>,
    /// Responses per HTTP status code, for the same requests.
    pub responses_by_status: BTreeMap<u16, u64>,
    /// How many of those answers were `304 Not Modified`.
    pub not_modified: u64,
    /// Requests whose connection was dropped without any answer (the `resets` scenario); they
    /// are not in `responses_by_status`.
    pub dropped_without_answer: u64,
    /// Bytes read from client sockets, headers included (control paths included too, since bytes are counted on the wire).
    pub bytes_read: u64,
    /// Bytes written to client sockets, headers included.
    pub bytes_written: u64,
    /// TCP connections accepted.
    pub connections_accepted: u64,
    /// `POST /v1/messages` per model, keyed by the `model` field as the request sent it, so a
    /// benchmark can see which models an overload reached. Requests without a readable model
    /// are not in it.
    #[serde(default)]
    pub messages_by_model: BTreeMap<String, ModelCounts>,
}

/// What one model's messages met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelCounts {
    /// Messages requests for this model, whatever their answer.
    pub requests: u64,
    /// Of those, answers `529 overloaded_error` before any byte of a message.
    pub overloaded: u64,
    /// Of those, streams that answered 200 and then failed with an `overloaded_error` event.
    pub stream_errors: u64,
}

/// The live counters behind [`Stats`]. Byte counts are atomics because they change on every
/// socket poll; the per-path maps take a mutex held only for one insert.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests_total: AtomicU64,
    not_modified: AtomicU64,
    dropped: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    connections_accepted: AtomicU64,
    by_path: Mutex<BTreeMap<String, u64>>,
    by_status: Mutex<BTreeMap<u16, u64>>,
    by_model: Mutex<BTreeMap<String, ModelCounts>>,
}

/// How many distinct models `messages_by_model` keeps apart.
const MAX_MODELS: usize = 256;
/// The row that counts every model past [`MAX_MODELS`].
const OTHER_MODELS: &str = "(other models)";

/// What a messages request for one model met, for [`Counters::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageEvent {
    Request,
    Overloaded,
    StreamError,
}

impl Counters {
    pub(crate) fn connection_accepted(&self) {
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn read(&self, bytes: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn written(&self, bytes: u64) {
        self.bytes_written.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn request(&self, path: &str) {
        self.requests_total.fetch_add(1, Ordering::Relaxed);
        let mut by_path = self
            .by_path
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *by_path.entry(path.to_owned()).or_default() += 1;
    }

    pub(crate) fn response(&self, status: u16) {
        if status == 304 {
            self.not_modified.fetch_add(1, Ordering::Relaxed);
        }
        let mut by_status = self
            .by_status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *by_status.entry(status).or_default() += 1;
    }

    pub(crate) fn message(&self, model: &str, event: MessageEvent) {
        let mut by_model = self
            .by_model
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // A client can send any string as its model; past a few hundred distinct ones the rest
        // share one row, so a fuzzing client cannot grow the map without bound.
        let key = if by_model.contains_key(model) || by_model.len() < MAX_MODELS {
            model
        } else {
            OTHER_MODELS
        };
        if !by_model.contains_key(key) {
            by_model.insert(key.to_owned(), ModelCounts::default());
        }
        let Some(counts) = by_model.get_mut(key) else {
            return;
        };
        match event {
            MessageEvent::Request => counts.requests += 1,
            MessageEvent::Overloaded => counts.overloaded += 1,
            MessageEvent::StreamError => counts.stream_errors += 1,
        }
    }

    pub(crate) fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            requests_total: self.requests_total.load(Ordering::Relaxed),
            requests_by_path: self
                .by_path
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
            responses_by_status: self
                .by_status
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
            not_modified: self.not_modified.load(Ordering::Relaxed),
            dropped_without_answer: self.dropped.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            connections_accepted: self.connections_accepted.load(Ordering::Relaxed),
            messages_by_model: self
                .by_model
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        }
    }
}
