//! Writes a realistic, deterministic set of Claude Code transcripts for tests and benchmarks.
//!
//! Usage: `cargo run --release -p claude-status-engine --example gen_claude_logs -- DIR SIZE_MB SEED [SHAPE]`
//!
//! `SHAPE` is `small` (the default: thousands of sessions of 2–25 turns, about 55 KB a file, as
//! a laptop gathers over months) or `large` (a few sessions of 5,000–10,000 turns each, about
//! 20 MB a file, as long-running agents write), because the two load an ingest differently: per
//! file, or per byte.
//!
//! `DIR` becomes a Claude config directory (`DIR/projects/<project>/<session>.jsonl`, with
//! subagents in `<session>/subagents/agent-<id>.jsonl`), so `CLAUDE_CONFIG_DIR=DIR` points any
//! tool at it. The shapes are those of the real Claude Code 2.1.233 transcript in
//! `shared/fixtures/claude-code/`: user lines with long text, assistant lines with the full usage
//! object (cache-creation split, service tier, iterations, speed), several lines per response with
//! the same ids and growing `output_tokens`, sidechain (subagent) files, `/btw` replays of a
//! parent's message, synthetic API-error lines, a few lines cut short, and models old, current
//! and not yet priced. The same seed always gives the same bytes.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// SplitMix64: tiny, fast, and its output for a seed never changes between versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64) as usize]
    }

    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    /// An id in the shape of the API's (`msg_011C…`, `req_011C…`): base58-ish, 24 characters.
    fn api_id(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let mut id = format!("{prefix}_011C");
        for _ in 0..20 {
            id.push(ALPHABET[self.range(0, ALPHABET.len() as u64) as usize] as char);
        }
        id
    }
}

/// Models and how often they appear (weights).
const MODELS: &[(&str, u64)] = &[
    ("claude-opus-4-6", 30),
    ("claude-sonnet-4-5-20250929", 30),
    ("claude-haiku-4-5-20251001", 20),
    ("claude-sonnet-4-6[1m]", 10),
    ("claude-opus-4-1-20250805", 5),
    // A model no price list knows yet.
    ("claude-opus-7-0-20280101", 5),
];

const WORDS: &[&str] = &[
    "refactor",
    "the",
    "parser",
    "so",
    "that",
    "it",
    "handles",
    "streaming",
    "tokens",
    "and",
    "add",
    "tests",
    "for",
    "edge",
    "cases",
    "in",
    "module",
    "store",
    "please",
    "check",
    "why",
    "build",
    "fails",
    "on",
    "CI",
    "with",
    "error",
    "migration",
    "schema",
    "function",
    "returns",
    "None",
    "when",
    "input",
    "is",
    "empty",
    "rust",
    "tokio",
    "channel",
    "closed",
];

/// 2026-06-01T00:00:00Z; sessions spread over the following 60 days.
const START_MS: i64 = 1_780_272_000_000;
const SPAN_MS: i64 = 60 * 86_400_000;

fn timestamp(ms: i64) -> String {
    let time = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn text(rng: &mut Rng, min_words: u64, max_words: u64) -> String {
    let count = rng.range(min_words, max_words);
    let mut out = String::with_capacity(count as usize * 7);
    for i in 0..count {
        if i > 0 {
            out.push(' ');
        }
        let word: &&str = rng.pick(WORDS);
        out.push_str(word);
    }
    out
}

struct Session<'a> {
    session_id: &'a str,
    cwd: &'a str,
    version: &'a str,
    sidechain: bool,
    agent_id: Option<&'a str>,
}

struct Usage {
    input: u64,
    output: u64,
    cache_5m: u64,
    cache_1h: u64,
    cache_read: u64,
    tier: &'static str,
    speed: &'static str,
    split: bool,
}

fn usage_json(out: &mut String, u: &Usage) {
    let creation = u.cache_5m + u.cache_1h;
    let _ = write!(
        out,
        r#""usage":{{"input_tokens":{},"cache_creation_input_tokens":{},"cache_read_input_tokens":{},"output_tokens":{},"server_tool_use":{{"web_search_requests":0,"web_fetch_requests":0}},"service_tier":"{}""#,
        u.input, creation, u.cache_read, u.output, u.tier
    );
    if u.split {
        let _ = write!(
            out,
            r#","cache_creation":{{"ephemeral_1h_input_tokens":{},"ephemeral_5m_input_tokens":{}}},"inference_geo":"not_available","iterations":[{{"input_tokens":{},"output_tokens":{},"cache_read_input_tokens":{},"cache_creation_input_tokens":{},"cache_creation":{{"ephemeral_5m_input_tokens":{},"ephemeral_1h_input_tokens":{}}},"type":"message"}}]"#,
            u.cache_1h,
            u.cache_5m,
            u.input,
            u.output,
            u.cache_read,
            creation,
            u.cache_5m,
            u.cache_1h
        );
    }
    let _ = write!(out, r#","speed":"{}"}}"#, u.speed);
}

fn common_tail(out: &mut String, s: &Session<'_>, uuid: &str, ts: &str) {
    let _ = write!(
        out,
        r#","uuid":"{uuid}","timestamp":"{ts}","userType":"external","entrypoint":"cli","cwd":"{}","sessionId":"{}","version":"{}","gitBranch":"main""#,
        s.cwd, s.session_id, s.version
    );
    if let Some(agent) = s.agent_id {
        let _ = write!(out, r#","agentId":"{agent}""#);
    }
    out.push_str("}\n");
}

fn user_line(out: &mut String, rng: &mut Rng, s: &Session<'_>, parent: &str, uuid: &str, ms: i64) {
    let _ = write!(
        out,
        r#"{{"parentUuid":"{parent}","isSidechain":{},"type":"user","message":{{"role":"user","content":"{}"}}"#,
        s.sidechain,
        text(rng, 40, 700)
    );
    common_tail(out, s, uuid, &timestamp(ms));
}

#[allow(clippy::too_many_arguments)]
fn assistant_line(
    out: &mut String,
    rng: &mut Rng,
    s: &Session<'_>,
    parent: &str,
    uuid: &str,
    ms: i64,
    model: &str,
    message_id: &str,
    request_id: &str,
    usage: &Usage,
) {
    let content = if rng.chance(0.3) {
        format!(
            r#"{{"type":"tool_use","id":"toolu_{}","name":"Bash","input":{{"command":"cargo test -p engine"}}}}"#,
            rng.range(100_000, 999_999)
        )
    } else {
        format!(r#"{{"type":"text","text":"{}"}}"#, text(rng, 5, 120))
    };
    let _ = write!(
        out,
        r#"{{"parentUuid":"{parent}","isSidechain":{},"message":{{"model":"{model}","id":"{message_id}","type":"message","role":"assistant","content":[{content}],"stop_reason":null,"stop_sequence":null,"#,
        s.sidechain
    );
    usage_json(out, usage);
    let _ = write!(out, r#"}},"requestId":"{request_id}","type":"assistant""#);
    common_tail(out, s, uuid, &timestamp(ms));
}

fn error_line(out: &mut String, rng: &mut Rng, s: &Session<'_>, parent: &str, uuid: &str, ms: i64) {
    let (status, error, words) = if rng.chance(0.6) {
        (
            429,
            "rate_limit",
            "API Error: 429 rate_limit_error: This request would exceed your rate limit",
        )
    } else {
        (
            529,
            "overloaded",
            "API Error: Repeated 529 Overloaded errors",
        )
    };
    let message_id = rng.uuid();
    let _ = write!(
        out,
        r#"{{"parentUuid":"{parent}","isSidechain":{},"type":"assistant","message":{{"id":"{message_id}","model":"<synthetic>","role":"assistant","stop_reason":"stop_sequence","stop_sequence":"","type":"message","usage":{{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"content":[{{"type":"text","text":"{words}"}}]}},"error":"{error}","isApiErrorMessage":true,"apiErrorStatus":{status}"#,
        s.sidechain
    );
    common_tail(out, s, uuid, &timestamp(ms));
}

/// One conversation: turns of a user line and a response written as 1–4 lines.
/// Returns the (message id, usage) of some responses, for `/btw` replays.
fn write_session(
    out: &mut String,
    rng: &mut Rng,
    s: &Session<'_>,
    mut ms: i64,
    turns: u64,
    replay_from: &[(String, String, i64)],
) -> Vec<(String, String, i64)> {
    let mut parent = rng.uuid();
    let mut responses = Vec::new();
    // Replay a parent's message with a new request id, as `/btw` side questions do.
    for (message_id, model, at) in replay_from {
        let uuid = rng.uuid();
        let usage = Usage {
            input: 3,
            output: rng.range(1, 400),
            cache_5m: 0,
            cache_1h: 0,
            cache_read: rng.range(1_000, 80_000),
            tier: "standard",
            speed: "standard",
            split: true,
        };
        let request_id = rng.api_id("req");
        assistant_line(
            out,
            rng,
            s,
            &parent,
            &uuid,
            *at + 1,
            model,
            message_id,
            &request_id,
            &usage,
        );
        parent = uuid;
    }
    let model = MODELS[weighted(rng)].0;
    for _ in 0..turns {
        ms += rng.range(2_000, 240_000) as i64;
        let uuid = rng.uuid();
        user_line(out, rng, s, &parent, &uuid, ms);
        parent = uuid;
        if rng.chance(0.03) {
            ms += rng.range(500, 5_000) as i64;
            let uuid = rng.uuid();
            error_line(out, rng, s, &parent, &uuid, ms);
            parent = uuid;
            continue;
        }
        let message_id = rng.api_id("msg");
        let request_id = rng.api_id("req");
        let cache_read = rng.range(0, 150_000);
        let creation = rng.range(0, 20_000);
        let (cache_5m, cache_1h) = match rng.range(0, 3) {
            0 => (creation, 0),
            1 => (0, creation),
            _ => {
                let part = rng.range(0, creation + 1);
                (part, creation - part)
            }
        };
        let final_output = rng.range(1, 4_000);
        let lines = rng.range(1, 5);
        let speed = if model == "claude-opus-4-6" && rng.chance(0.05) {
            "fast"
        } else {
            "standard"
        };
        let tier = if rng.chance(0.05) {
            "priority"
        } else {
            "standard"
        };
        let split = rng.chance(0.9);
        for line in 1..=lines {
            ms += rng.range(50, 3_000) as i64;
            // Early lines carry partial output; the last carries the total.
            let output = if line == lines {
                final_output
            } else {
                (final_output * line / lines).max(1)
            };
            let usage = Usage {
                input: rng.range(1, 30),
                output,
                cache_5m,
                cache_1h,
                cache_read,
                tier,
                speed,
                split,
            };
            // Input is fixed per response in reality; keep it stable across its lines.
            let usage = Usage {
                input: 3 + (cache_read % 17),
                ..usage
            };
            let uuid = rng.uuid();
            assistant_line(
                out,
                rng,
                s,
                &parent,
                &uuid,
                ms,
                model,
                &message_id,
                &request_id,
                &usage,
            );
            parent = uuid;
        }
        if rng.chance(0.002) {
            // A line cut short by a crash, followed by more lines.
            out.push_str(r#"{"parentUuid":"x","isSidechain":false,"message":{"model":"claude-opus-4-6","usage":{"input_tokens":5,"#);
            out.push('\n');
        }
        if rng.chance(0.05) {
            responses.push((message_id, model.to_owned(), ms));
        }
    }
    responses
}

fn weighted(rng: &mut Rng) -> usize {
    let total: u64 = MODELS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.range(0, total);
    for (index, (_, weight)) in MODELS.iter().enumerate() {
        if roll < *weight {
            return index;
        }
        roll -= weight;
    }
    0
}

fn write_file(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = BufWriter::new(std::fs::File::create(path)?);
    file.write_all(contents.as_bytes())?;
    file.flush()
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let large = match args.get(4).map(String::as_str) {
        None | Some("small") => false,
        Some("large") => true,
        Some(_) => {
            eprintln!("SHAPE is `small` or `large`");
            std::process::exit(2);
        }
    };
    if !(4..=5).contains(&args.len()) {
        eprintln!("usage: gen_claude_logs DIR SIZE_MB SEED [small|large]");
        std::process::exit(2);
    }
    let dir = PathBuf::from(&args[1]);
    let size_mb: f64 = args[2].parse().map_err(std::io::Error::other)?;
    let seed: u64 = args[3].parse().map_err(std::io::Error::other)?;
    let target = (size_mb * 1_048_576.0) as u64;
    let mut rng = Rng(seed);
    let projects: Vec<(String, String)> = (0..40)
        .map(|i| {
            let cwd = format!("/home/dev/work/project-{i:02}");
            (cwd.replace('/', "-"), cwd)
        })
        .collect();
    let versions = ["1.0.98", "2.0.14", "2.1.114", "2.1.233"];
    let mut written = 0u64;
    let mut files = 0u64;
    let mut out = String::new();
    while written < target {
        let (slug, cwd) = rng.pick(&projects).clone();
        let session_id = rng.uuid();
        let version = *rng.pick(&versions);
        let start = START_MS + rng.range(0, SPAN_MS as u64) as i64;
        let session = Session {
            session_id: &session_id,
            cwd: &cwd,
            version,
            sidechain: false,
            agent_id: None,
        };
        out.clear();
        let turns = if large {
            rng.range(5_000, 10_000)
        } else {
            rng.range(2, 25)
        };
        let replayable = write_session(&mut out, &mut rng, &session, start, turns, &[]);
        let session_dir = dir.join("projects").join(&slug);
        write_file(&session_dir.join(format!("{session_id}.jsonl")), &out)?;
        written += out.len() as u64;
        files += 1;
        // Subagents: sidechain conversations in `<session>/subagents/`, some replaying a parent
        // message (`/btw`), which ccusage drops in favour of the parent's copy.
        for _ in 0..rng.range(0, 3) {
            let agent_id = format!("{:08x}", rng.next() as u32);
            let agent = Session {
                session_id: &session_id,
                cwd: &cwd,
                version,
                sidechain: true,
                agent_id: Some(&agent_id),
            };
            out.clear();
            let replays: Vec<_> = replayable.iter().take(2).cloned().collect();
            let turns = rng.range(1, 15);
            write_session(&mut out, &mut rng, &agent, start + 10_000, turns, &replays);
            let path = session_dir
                .join(&session_id)
                .join("subagents")
                .join(format!("agent-{agent_id}.jsonl"));
            write_file(&path, &out)?;
            written += out.len() as u64;
            files += 1;
        }
    }
    println!(
        "wrote {files} files, {:.1} MB, under {}",
        written as f64 / 1_048_576.0,
        dir.join("projects").display()
    );
    Ok(())
}
