//! A blocking, single-call client of the control API for the status line: no async runtime to
//! start, one connection, one hello, one call, every step bounded by one deadline. Claude Code
//! runs its status line often and waits for it, so a service that does not answer at once is
//! treated as absent and the caller falls back to the store.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::proto::{Call, HelloFrame, Reply};
use super::Hello;

/// The longest reply the status line reads.
const MAX_REPLY: u64 = 1024 * 1024;

/// Why the call gave nothing; the status line only logs it.
#[derive(Debug)]
pub enum BlockingError {
    /// No service listens there (no socket, or nobody behind it).
    NotRunning,
    /// The service answered too late, or with something else than a reply.
    Failed(String),
}

impl std::fmt::Display for BlockingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockingError::NotRunning => write!(f, "no service is running"),
            BlockingError::Failed(why) => write!(f, "the service did not answer: {why}"),
        }
    }
}

/// Sends `call` to the service at `socket` and returns its result, all within `budget`.
#[cfg(unix)]
pub fn call_once(
    socket: &Path,
    role: &str,
    call: &Call,
    budget: Duration,
) -> Result<serde_json::Value, BlockingError> {
    use std::os::unix::net::UnixStream;
    let deadline = Instant::now() + budget;
    let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            BlockingError::NotRunning
        }
        _ => BlockingError::Failed(e.to_string()),
    })?;
    let failed = |e: std::io::Error| BlockingError::Failed(e.to_string());
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| BlockingError::Failed(format!("no answer within {budget:?}")))
    };
    stream.set_write_timeout(Some(left()?)).map_err(failed)?;
    let mut writer = &stream;
    let hello = serde_json::to_vec(&HelloFrame {
        hello: Hello::ours(role),
    })
    .map_err(|e| BlockingError::Failed(e.to_string()))?;
    // `Call` serialises as {"call": name, "args": {...}}; the frame flattens it beside the id.
    let mut frame = match serde_json::to_value(call) {
        Ok(serde_json::Value::Object(fields)) => fields,
        _ => {
            return Err(BlockingError::Failed(format!(
                "cannot encode {}",
                call.name()
            )))
        }
    };
    frame.insert("id".to_owned(), serde_json::Value::from(1u64));
    let mut bytes = hello;
    bytes.push(b'\n');
    bytes.extend(serde_json::to_vec(&frame).map_err(|e| BlockingError::Failed(e.to_string()))?);
    bytes.push(b'\n');
    writer.write_all(&bytes).map_err(failed)?;
    let mut reader = BufReader::new((&stream).take(MAX_REPLY));
    let mut line = Vec::new();
    for expected in ["hello", "reply"] {
        line.clear();
        stream.set_read_timeout(Some(left()?)).map_err(failed)?;
        reader.read_until(b'\n', &mut line).map_err(failed)?;
        if line.last() != Some(&b'\n') {
            return Err(BlockingError::Failed(format!(
                "the {expected} was cut short"
            )));
        }
        if expected == "hello" {
            match serde_json::from_slice::<HelloFrame>(&line) {
                Ok(frame) if frame.hello.protocol == super::PROTOCOL_VERSION => {}
                Ok(frame) => {
                    return Err(BlockingError::Failed(Hello::mismatch(
                        &frame.hello,
                        &Hello::ours(role),
                    )))
                }
                Err(_) => {
                    return Err(BlockingError::Failed(
                        "the service refused the hello".into(),
                    ))
                }
            }
        }
    }
    let reply: Reply =
        serde_json::from_slice(&line).map_err(|e| BlockingError::Failed(e.to_string()))?;
    match (reply.result, reply.error) {
        (_, Some(error)) => Err(BlockingError::Failed(error.message)),
        (Some(result), None) => Ok(result),
        (None, None) => Ok(serde_json::Value::Null),
    }
}

/// Named pipes are not spoken here: the status line reads the store instead on Windows.
#[cfg(not(unix))]
pub fn call_once(
    _socket: &Path,
    _role: &str,
    _call: &Call,
    _budget: Duration,
) -> Result<serde_json::Value, BlockingError> {
    Err(BlockingError::NotRunning)
}
