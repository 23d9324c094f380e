//! Metering on the side: what each Messages exchange cost and how it went, read from a copy of
//! the response bytes by a task of its own, so the client's bytes never wait for it.
//!
//! The response body hands each chunk (a reference-counted `Bytes`, not a copy) to a [`Tap`],
//! which offers it to the exchange's meter task with `try_send`. A full queue drops the chunk
//! from metering, never from the client. The meter task reads `message_start` and the final
//! `message_delta` of a stream, or the `usage` of a JSON reply (its first 1 MiB), and turns them
//! into one [`UsageRecord`]; the prompt and the answer's content are never kept. The writer task
//! then stores records in the usage ledger in batches and hands them to the monitor.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use claude_status_core::gateway::ResilienceEvent;
use claude_status_core::monitor::Observation;
use claude_status_core::probe::header;
use claude_status_core::ratelimit::parse_ratelimit_headers;
use claude_status_core::sse::{SseEvent, SseParser, StreamEvent, StreamTimings, Usage};
use claude_status_core::usage::{TokenCounts, UsageRecord, UsageSource};
use hyper::header::{HeaderMap, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::headers::{metering_headers, request_id};
use super::json_field;
use super::stats::{bump, Counters};
use crate::store::{GatewayShape, RateLimitReading, Store};

/// How much of a JSON reply metering reads: far more than any reply's `usage` needs, far less
/// than a large reply would cost to hold.
pub const JSON_TEE_LIMIT: usize = 1024 * 1024;

/// Chunks waiting for one exchange's meter task. A stream of the Messages API sends a few
/// hundred events at most between two polls of an idle runtime; a full queue only costs
/// metering accuracy.
const TAP_QUEUE: usize = 256;

/// Records waiting for the ledger writer.
const RECORD_QUEUE: usize = 4096;

/// The most records written in one ledger transaction.
const BATCH_MAX: usize = 512;

/// The most records kept for the ledger while its writes fail (another program holds the database
/// locked, the disk is full), to be written with the next batch: a minute at 100 requests a
/// second. Past it the oldest go, counted as ledger errors.
const UNWRITTEN_MAX: usize = 6000;

/// How long the ledger writer leaves the store alone after a failed write.
const WRITE_BACKOFF: Duration = Duration::from_secs(1);

/// Keeps the newest [`UNWRITTEN_MAX`] records waiting for a write and says how many older ones
/// went.
fn drop_oldest_unwritten(unwritten: &mut Vec<UsageRecord>) -> usize {
    let dropped = unwritten.len().saturating_sub(UNWRITTEN_MAX);
    if dropped > 0 {
        unwritten.drain(..dropped);
        tracing::warn!("the gateway dropped {dropped} usage records it could not store");
    }
    dropped
}

/// Rate-limit readings are kept at most this often: every reply carries the headers, and at
/// thousands of requests a second one reading a second says as much as all of them.
const READING_EVERY: Duration = Duration::from_secs(1);

/// What the gateway knew about an exchange when the response headers arrived.
#[derive(Debug, Clone)]
pub(crate) struct ExchangeHead {
    /// When the client's request arrived.
    pub started: Instant,
    pub at: DateTime<Utc>,
    pub status: u16,
    /// The response headers. Cloning a `HeaderMap` shares its values, so the request path pays
    /// one allocation; the meter task picks out the few it reads.
    pub headers: HeaderMap,
    /// The request's credentials, only when the advisor counts prefixes with `count_tokens`
    /// (`MeterSink::credentials`); `None` otherwise, which costs the request path nothing.
    pub credentials: Option<super::count::Credentials>,
}

/// How a response body ended, as the body saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Complete,
    UpstreamBroke,
    ClientGone,
}

#[derive(Debug)]
enum TapMessage {
    Chunk(Instant, Bytes),
    End(Instant, Ending),
}

/// The response body's side of metering: offers chunks to the meter task without ever waiting.
#[derive(Debug)]
pub(crate) struct Tap {
    tx: mpsc::Sender<TapMessage>,
    /// Bytes still worth sending (the JSON tee limit); streams are read whole.
    budget: usize,
    lossy: bool,
    ended: bool,
    counters: Arc<Counters>,
}

impl Tap {
    /// Offers one chunk of the body, as it is handed to the client.
    pub(crate) fn chunk(&mut self, data: &Bytes) {
        if self.lossy || self.budget == 0 || data.is_empty() {
            return;
        }
        let data = if data.len() > self.budget {
            data.slice(..self.budget)
        } else {
            data.clone()
        };
        self.budget -= data.len();
        if self
            .tx
            .try_send(TapMessage::Chunk(Instant::now(), data))
            .is_err()
        {
            self.lossy = true;
            bump(&self.counters.metering_dropped);
        }
    }

    /// The body ended; later calls (and the drop) do nothing.
    pub(crate) fn end(&mut self, ending: Ending) {
        if self.ended {
            return;
        }
        self.ended = true;
        match ending {
            Ending::ClientGone => bump(&self.counters.client_disconnects),
            Ending::UpstreamBroke => bump(&self.counters.upstream_broken),
            Ending::Complete => {}
        }
        // When the queue is full the meter task still learns of the end: the channel closes.
        let _ = self.tx.try_send(TapMessage::End(Instant::now(), ending));
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // The body was dropped before its end: the client went away (or the server stopped),
        // and with the body the upstream request is dropped too.
        self.end(Ending::ClientGone);
    }
}

/// What one exchange left for the ledger.
#[derive(Debug)]
pub(crate) struct Metered {
    record: UsageRecord,
    reading: Option<RateLimitReading>,
    /// Plan-window readings from the `anthropic-ratelimit-unified-*` headers (subscriber
    /// traffic; observed, not documented).
    plan: Vec<claude_status_core::plan::PlanReading>,
    /// The answer was an event stream (a streamed exchange's duration is not an answer time).
    streamed: bool,
    /// The request's prefix and caching, for the prompt-cache advisor: a keyed hash and a length,
    /// never text.
    shape: super::prefix::RequestShape,
}

/// What the writer task is handed: a metered exchange, or one of the gateway's own decisions.
// Nearly every item is an exchange, so the smaller variant wastes little queue space, while boxing
// the larger one would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Written {
    Exchange(Metered),
    Resilience(ResilienceEvent),
}

/// Where meter tasks deliver their records.
#[derive(Debug, Clone)]
pub(crate) struct MeterSink {
    tx: mpsc::Sender<Written>,
    counters: Arc<Counters>,
    prefix_key: Arc<super::prefix::PrefixKey>,
    counter: Option<Arc<super::count::PrefixCounter>>,
}

impl MeterSink {
    /// What a request must hand its meter for the advisor's count: its credentials when
    /// counting is on, nothing otherwise.
    pub(crate) fn credentials(&self, headers: &HeaderMap) -> Option<super::count::Credentials> {
        self.counter
            .as_ref()
            .map(|_| super::count::Credentials::of(headers))
    }

    /// Starts metering one exchange: a task that reads the chunks the returned tap offers.
    /// `request_body` is scanned for its `model` by that task, then dropped.
    pub(crate) fn exchange(&self, head: ExchangeHead, request_body: Bytes) -> Tap {
        let (tx, rx) = mpsc::channel(TAP_QUEUE);
        let is_stream = head
            .headers
            .get(CONTENT_TYPE)
            .and_then(|kind| kind.to_str().ok())
            .is_some_and(|kind| kind.to_ascii_lowercase().starts_with("text/event-stream"));
        tokio::spawn(meter_exchange(head, request_body, rx, self.clone()));
        Tap {
            tx,
            budget: if is_stream {
                usize::MAX
            } else {
                JSON_TEE_LIMIT
            },
            lossy: false,
            ended: false,
            counters: Arc::clone(&self.counters),
        }
    }

    /// Meters an answer whose body was read whole (a failed attempt before a retry).
    pub(crate) fn complete(&self, head: ExchangeHead, request_body: Bytes, body: &Bytes) {
        let mut tap = self.exchange(head, request_body);
        tap.chunk(body);
        tap.end(Ending::Complete);
    }

    fn submit(&self, metered: Metered) {
        bump(&self.counters.metered);
        if self.tx.try_send(Written::Exchange(metered)).is_err() {
            bump(&self.counters.metering_dropped);
        }
    }

    /// Records a retry or a fallback for the ledger; like metering, it never waits.
    pub(crate) fn resilience(&self, event: ResilienceEvent) {
        if self.tx.try_send(Written::Resilience(event)).is_err() {
            bump(&self.counters.metering_dropped);
        }
    }
}

/// Reads one exchange's chunks and submits its record.
async fn meter_exchange(
    head: ExchangeHead,
    request_body: Bytes,
    mut rx: mpsc::Receiver<TapMessage>,
    sink: MeterSink,
) {
    let requested_model = json_field::model(&request_body);
    // The prefix is read here, off the client's path, and the body is dropped before the answer
    // is read: only the hash and the length stay.
    let (shape, (tools, system)) = super::prefix::shape_and_ranges(&sink.prefix_key, &request_body);
    if let (Some(counter), Some(credentials), Some(prefix), true) = (
        &sink.counter,
        head.credentials.clone(),
        &shape.prefix,
        (200..300).contains(&head.status),
    ) {
        let part = |range: Option<std::ops::Range<usize>>| {
            range
                .filter(|range| range.end <= request_body.len())
                .map(|range| request_body.slice(range))
        };
        let model = requested_model.clone().unwrap_or_default();
        counter.offer(&model, &prefix.key, part(tools), part(system), credentials);
    }
    drop(request_body);
    let headers = metering_headers(&head.headers);

    let mut reader = BodyReader::new(&headers);
    let mut ended_at = None;
    let mut ending = Ending::ClientGone;
    while let Some(message) = rx.recv().await {
        match message {
            TapMessage::Chunk(at, data) => {
                reader.push(&data, at.saturating_duration_since(head.started))
            }
            TapMessage::End(at, how) => {
                ended_at = Some(at);
                ending = how;
                break;
            }
        }
    }
    let ended_at = ended_at.unwrap_or_else(Instant::now);
    let latency = ended_at.saturating_duration_since(head.started);
    let streamed = matches!(reader.kind, BodyKind::Stream(_));
    let metered = reader.finish(&head, &headers, requested_model, latency, ending);
    if metered.stream_failed {
        bump(&sink.counters.stream_errors);
    }
    let plan = claude_status_core::plan::readings_from_unified_headers(
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
        head.at,
    );
    sink.submit(Metered {
        record: metered.record,
        reading: metered.reading,
        plan,
        streamed,
        shape,
    });
}

/// The body as metering reads it: decompressed when the client asked for compression, then
/// parsed as events or gathered as JSON.
struct BodyReader {
    decoder: Decoder,
    kind: BodyKind,
}

enum BodyKind {
    /// Boxed: the parser and timings are large next to a byte buffer.
    Stream(Box<StreamState>),
    Json {
        body: Vec<u8>,
    },
}

struct StreamState {
    parser: SseParser,
    timings: StreamTimings,
    first_delta_at: Option<Duration>,
    broken: bool,
    /// Reused for every chunk's events.
    events: Vec<SseEvent>,
}

enum Decoder {
    Identity,
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Deflate(flate2::write::ZlibDecoder<Vec<u8>>),
    /// An encoding we cannot read (br, zstd): usage stays unknown, the status still counts.
    Unreadable,
}

struct Finished {
    record: UsageRecord,
    reading: Option<RateLimitReading>,
    stream_failed: bool,
}

impl BodyReader {
    fn new(headers: &[(String, String)]) -> BodyReader {
        let content_type = header(headers, "content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        let decoder = match header(headers, "content-encoding")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("" | "identity") => Decoder::Identity,
            Some("gzip" | "x-gzip") => Decoder::Gzip(flate2::write::GzDecoder::new(Vec::new())),
            Some("deflate") => Decoder::Deflate(flate2::write::ZlibDecoder::new(Vec::new())),
            Some(_) => Decoder::Unreadable,
        };
        let kind = if content_type.starts_with("text/event-stream") {
            BodyKind::Stream(Box::new(StreamState {
                parser: SseParser::new(),
                timings: StreamTimings::new(),
                first_delta_at: None,
                broken: false,
                events: Vec::new(),
            }))
        } else {
            BodyKind::Json { body: Vec::new() }
        };
        BodyReader { decoder, kind }
    }

    fn push(&mut self, data: &[u8], elapsed: Duration) {
        let decoded = match &mut self.decoder {
            Decoder::Identity => {
                self.consume(data, elapsed);
                return;
            }
            Decoder::Gzip(decoder) => decoder
                .write_all(data)
                .map(|()| std::mem::take(decoder.get_mut())),
            Decoder::Deflate(decoder) => decoder
                .write_all(data)
                .map(|()| std::mem::take(decoder.get_mut())),
            Decoder::Unreadable => return,
        };
        match decoded {
            Ok(plain) => self.consume(&plain, elapsed),
            Err(_) => self.decoder = Decoder::Unreadable,
        }
    }

    /// Takes what a decoder still holds at the end of the body.
    fn flush(&mut self, elapsed: Duration) {
        let rest = match &mut self.decoder {
            Decoder::Gzip(decoder) => decoder
                .try_finish()
                .map(|()| std::mem::take(decoder.get_mut())),
            Decoder::Deflate(decoder) => decoder
                .try_finish()
                .map(|()| std::mem::take(decoder.get_mut())),
            Decoder::Identity | Decoder::Unreadable => return,
        };
        if let Ok(plain) = rest {
            self.consume(&plain, elapsed);
        }
    }

    fn consume(&mut self, plain: &[u8], elapsed: Duration) {
        match &mut self.kind {
            BodyKind::Stream(stream) => {
                let StreamState {
                    parser,
                    timings,
                    first_delta_at,
                    broken,
                    events,
                } = &mut **stream;
                if *broken {
                    return;
                }
                if parser.push_into(plain, events).is_err() {
                    *broken = true;
                    return;
                }
                for event in events.drain(..) {
                    observe(timings, first_delta_at, &event, elapsed);
                }
            }
            BodyKind::Json { body } => {
                let room = JSON_TEE_LIMIT.saturating_sub(body.len());
                body.extend_from_slice(&plain[..plain.len().min(room)]);
            }
        }
    }

    fn finish(
        mut self,
        head: &ExchangeHead,
        headers: &[(String, String)],
        requested_model: Option<String>,
        latency: Duration,
        ending: Ending,
    ) -> Finished {
        self.flush(latency);
        let mut status = head.status;
        let mut stream_failed = false;
        let mut ttft = None;
        let (usage, message_id, reply_model) = match &mut self.kind {
            BodyKind::Stream(stream) => {
                let StreamState {
                    parser,
                    timings,
                    first_delta_at,
                    broken,
                    ..
                } = &mut **stream;
                if !*broken && ending == Ending::Complete {
                    if let Ok(Some(event)) = parser.finish() {
                        observe(timings, first_delta_at, &event, latency);
                    }
                }
                ttft = *first_delta_at;
                // An error event after the 200 stands for the status it would have been, so the
                // user's own overloads count as 529s for the health assessment.
                if let Some((error_type, _)) = &timings.stream_error {
                    stream_failed = true;
                    status = match error_type.as_str() {
                        "overloaded_error" => 529,
                        "rate_limit_error" => 429,
                        "api_error" => 500,
                        "timeout_error" => 504,
                        _ => status,
                    };
                }
                (
                    timings.usage.clone(),
                    timings.message_id.clone(),
                    timings.model.clone(),
                )
            }
            BodyKind::Json { body } => match serde_json::from_slice::<Reply>(body) {
                Ok(reply) => (
                    reply
                        .usage
                        .as_ref()
                        .map(Usage::from_api)
                        .unwrap_or_default(),
                    reply
                        .id
                        .filter(|_| reply.kind.as_deref() == Some("message")),
                    reply.model,
                ),
                Err(_) => (Usage::default(), None, None),
            },
        };
        let model = reply_model
            .or(requested_model)
            .unwrap_or_else(|| "unknown".to_owned());
        let request_id = request_id(headers);
        let snapshot = parse_ratelimit_headers(headers);
        let reading = (!snapshot.is_empty()).then(|| RateLimitReading {
            at: head.at,
            source: UsageSource::Gateway,
            model: Some(model.clone()),
            snapshot,
        });
        let record = UsageRecord {
            at: head.at,
            source: UsageSource::Gateway,
            model,
            tokens: TokenCounts::from_usage(&usage),
            status: Some(status),
            latency_ms: Some(millis(latency)),
            ttft_ms: ttft.map(millis),
            service_tier: usage.service_tier.clone(),
            message_id,
            request_id,
            session_id: None,
            project: None,
            reported_cost_usd: None,
            is_sidechain: false,
        };
        Finished {
            record,
            reading,
            stream_failed,
        }
    }
}

/// Folds one event into the stream's timings. Deltas are only timed, not decoded: they carry the
/// answer's text, which metering neither needs nor keeps.
fn observe(
    timings: &mut StreamTimings,
    first_delta_at: &mut Option<Duration>,
    event: &SseEvent,
    elapsed: Duration,
) {
    match event.event.as_deref() {
        Some("content_block_delta") => {
            first_delta_at.get_or_insert(elapsed);
        }
        Some("message_start" | "message_delta" | "message_stop" | "error") => {
            if let Ok(decoded) = StreamEvent::decode(event) {
                timings.observe(&decoded, elapsed);
            }
        }
        _ => {}
    }
}

/// The fields of a JSON reply metering reads; `content` is skipped unread.
#[derive(Debug, Deserialize)]
struct Reply {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<String>,
    model: Option<String>,
    usage: Option<Value>,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Where metered records go: the usage ledger, and the monitor as `Observation::Usage`.
pub(crate) struct MeterOutputs {
    pub store: Option<Arc<Store>>,
    pub observations: Option<mpsc::Sender<Observation>>,
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Verdicts kept from the gateway's own records, when no monitor gives them.
    pub verdicts: Option<Arc<super::providers::OwnVerdicts>>,
    /// The key request prefixes are hashed under.
    pub prefix_key: super::prefix::PrefixKey,
    /// Counts new prefixes with `count_tokens`, when the user turned it on.
    pub counter: Option<Arc<super::count::PrefixCounter>>,
}

/// Creates the sink and the writer task's future. The writer ends when every sink is dropped
/// and the queue is empty, so awaiting it after the server stops flushes the last records.
pub(crate) fn writer(
    outputs: MeterOutputs,
    counters: Arc<Counters>,
) -> (MeterSink, impl std::future::Future<Output = ()>) {
    let (tx, rx) = mpsc::channel(RECORD_QUEUE);
    let sink = MeterSink {
        tx,
        counters: Arc::clone(&counters),
        prefix_key: Arc::new(outputs.prefix_key.clone()),
        counter: outputs.counter.clone(),
    };
    (sink, write_records(rx, outputs, counters))
}

async fn write_records(
    mut rx: mpsc::Receiver<Written>,
    outputs: MeterOutputs,
    counters: Arc<Counters>,
) {
    let MeterOutputs {
        store,
        mut observations,
        metrics,
        verdicts,
        prefix_key: _,
        counter: _,
    } = outputs;
    let mut last_reading: Option<Instant> = None;
    let mut batch = Vec::with_capacity(BATCH_MAX);
    // Records whose write failed, written again ahead of the next batch: the ledger deduplicates
    // by request, so a record written twice is still one row, whereas dropping them lost every
    // request the gateway served while another program held the database locked (issue 16).
    let mut unwritten: Vec<UsageRecord> = Vec::new();
    let mut write_again_at: Option<Instant> = None;
    loop {
        // Records held back by a failed write are written again when the back-off ends, whether
        // or not another request comes: the last requests before a quiet spell are not left
        // waiting for the next one.
        let retry_in = (!unwritten.is_empty()).then(|| {
            write_again_at.map_or(Duration::ZERO, |at| {
                at.saturating_duration_since(Instant::now())
            })
        });
        let received = match retry_in {
            None => rx.recv_many(&mut batch, BATCH_MAX).await,
            Some(wait) => tokio::select! {
                received = rx.recv_many(&mut batch, BATCH_MAX) => received,
                () = tokio::time::sleep(wait) => usize::MAX,
            },
        };
        if received == 0 {
            break;
        }
        let mut records = Vec::with_capacity(batch.len());
        // The same requests as the spike alerts see them: whether each was streamed is known
        // only here, not in the ledger.
        let mut traffic = Vec::with_capacity(batch.len());
        let mut reading = None;
        let mut plan = Vec::new();
        let mut events = Vec::new();
        let mut shapes = Vec::new();
        for written in batch.drain(..) {
            match written {
                Written::Exchange(metered) => {
                    if let Some(metrics) = &metrics {
                        metrics.observe_gateway(&metered.record, metered.streamed);
                        if let Some(reading) = &metered.reading {
                            metrics.observe_ratelimit(reading.at, &reading.snapshot);
                        }
                    }
                    shapes.push(GatewayShape::of(
                        &metered.record,
                        metered.streamed,
                        metered.shape,
                    ));
                    traffic.push(claude_status_core::spikes::TrafficSample::from_record(
                        &metered.record,
                        metered.streamed,
                    ));
                    records.push(metered.record);
                    if metered.reading.is_some() {
                        reading = metered.reading;
                    }
                    // The batch's last readings speak for it: they are the newest.
                    if !metered.plan.is_empty() {
                        plan = metered.plan;
                    }
                }
                Written::Resilience(event) => {
                    if let Some(metrics) = &metrics {
                        metrics.observe_fallback(&event);
                    }
                    events.push(event);
                }
            }
        }
        let reading = reading.filter(|_| {
            let due = last_reading.is_none_or(|at| at.elapsed() >= READING_EVERY);
            if due {
                last_reading = Some(Instant::now());
            }
            due
        });
        // After a failed write the ledger is left alone for a second: under another program's
        // lock every attempt holds the store for its busy wait, and one attempt per request
        // starved the monitor's own writes (its probe rounds slowed to one in two seconds). The
        // records wait in `unwritten` meanwhile, so nothing is lost by waiting.
        let backing_off = write_again_at.is_some_and(|at| Instant::now() < at);
        if backing_off {
            unwritten.extend(records.iter().cloned());
            if drop_oldest_unwritten(&mut unwritten) > 0 {
                bump(&counters.ledger_errors);
            }
        }
        if let (Some(store), false) = (&store, backing_off) {
            let store = Arc::clone(store);
            let mut to_store = std::mem::take(&mut unwritten);
            to_store.extend(records.iter().cloned());
            let plan_to_store = plan.clone();
            let written = tokio::task::spawn_blocking(move || {
                if let Err(e) = store.ingest_batch(&to_store, &[]) {
                    return Err((e, to_store));
                }
                let rest = || {
                    store.record_gateway_shapes(&shapes)?;
                    store.record_gateway_events(&events)?;
                    if let Some(reading) = reading {
                        store.record_ratelimit_reading(&reading)?;
                    }
                    store.record_plan_readings(&plan_to_store)
                };
                rest().map(|_| ()).map_err(|e| (e, Vec::new()))
            })
            .await;
            write_again_at = match &written {
                Ok(Ok(())) => None,
                _ => Some(Instant::now() + WRITE_BACKOFF),
            };
            match written {
                Ok(Ok(())) => {}
                Ok(Err((e, kept))) => {
                    bump(&counters.ledger_errors);
                    tracing::warn!("the gateway could not store usage records: {e}");
                    unwritten = kept;
                    drop_oldest_unwritten(&mut unwritten);
                }
                Err(e) => {
                    bump(&counters.ledger_errors);
                    tracing::warn!("the gateway's ledger writer failed: {e}");
                }
            }
        }
        if !plan.is_empty() {
            if let Some(sender) = &observations {
                let readings = Observation::PlanReadings {
                    readings: plan,
                    replay: false,
                };
                if sender.send(readings).await.is_err() {
                    observations = None;
                }
            }
        }
        if records.is_empty() {
            continue;
        }
        if let Some(verdicts) = &verdicts {
            verdicts.record(&records);
        }
        if let Some(sender) = &observations {
            // Waiting here only slows metering (whose queue then drops), never a client.
            if sender.send(Observation::Usage { records }).await.is_err() {
                observations = None;
            }
        }
        if let Some(sender) = &observations {
            let samples = Observation::Traffic {
                samples: traffic,
                replay: false,
            };
            if sender.send(samples).await.is_err() {
                observations = None;
            }
        }
    }
    // The gateway is stopping: one last try for what a failed write left behind.
    if let (Some(store), false) = (store, unwritten.is_empty()) {
        let count = unwritten.len();
        let written =
            tokio::task::spawn_blocking(move || store.ingest_batch(&unwritten, &[])).await;
        if !matches!(written, Ok(Ok(_))) {
            bump(&counters.ledger_errors);
            tracing::warn!("the gateway stopped with {count} usage records it could not store");
        }
    }
}
