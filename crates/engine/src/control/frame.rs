//! Framing: one JSON object per line, bounded in size and in time.
//!
//! A peer that sends more than the limit without a newline, bytes that are not UTF-8, or half a
//! frame and then nothing gets a `FrameError`; the server answers it with an error frame and drops
//! the connection, so one broken client never holds a task or memory for long.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// The longest frame a client may send the service: calls are small.
pub const MAX_REQUEST_FRAME: usize = 64 * 1024;
/// The longest frame the service sends (a snapshot, a history report).
pub const MAX_REPLY_FRAME: usize = 8 * 1024 * 1024;
/// How long the rest of a frame may take once its first byte has arrived.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// Why no frame could be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    #[error("the connection was closed")]
    Closed,
    /// The peer closed the connection in the middle of a frame.
    #[error("the connection was closed in the middle of a frame ({0} bytes without a newline)")]
    Truncated(usize),
    /// The frame is longer than the limit.
    #[error("a frame is longer than {0} bytes")]
    TooLong(usize),
    /// The rest of a started frame did not arrive in time.
    #[error("half a frame arrived and the rest did not within {0:?}")]
    Stalled(Duration),
    /// The frame is not UTF-8 JSON of the expected shape.
    #[error("a frame is not valid: {0}")]
    Invalid(String),
    #[error("I/O error on the control socket: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one line of at most `limit` bytes. Waiting for the first byte is not bounded here (an
/// idle connection may stay open); once it has come, the rest must follow within
/// `FRAME_TIMEOUT`.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut line = Vec::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let available = match deadline {
            None => reader.fill_buf().await?,
            Some(at) => match tokio::time::timeout_at(at, reader.fill_buf()).await {
                Ok(result) => result?,
                Err(_) => return Err(FrameError::Stalled(FRAME_TIMEOUT)),
            },
        };
        if available.is_empty() {
            return Err(if line.is_empty() {
                FrameError::Closed
            } else {
                FrameError::Truncated(line.len())
            });
        }
        deadline.get_or_insert_with(|| tokio::time::Instant::now() + FRAME_TIMEOUT);
        let (taken, done) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if line.len() + taken > limit + 1 {
            return Err(FrameError::TooLong(limit));
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
    }
}

/// Reads one frame and parses it as `T`.
pub async fn read_frame<T: DeserializeOwned, R: AsyncBufRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> Result<T, FrameError> {
    let line = read_line(reader, limit).await?;
    serde_json::from_slice(&line).map_err(|e| FrameError::Invalid(e.to_string()))
}

/// Writes one frame and flushes it.
pub async fn write_frame<T: Serialize, W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &T,
) -> Result<(), FrameError> {
    let mut bytes = serde_json::to_vec(frame).map_err(|e| FrameError::Invalid(e.to_string()))?;
    bytes.push(b'\n');
    writer.write_all(&bytes).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio::io::BufReader;

    use super::*;

    #[tokio::test]
    async fn lines_are_read_whole_and_bounded() {
        let mut reader = BufReader::new(&b"{\"a\":1}\r\n{\"b\":2}\n"[..]);
        assert_eq!(read_line(&mut reader, 100).await.unwrap(), b"{\"a\":1}");
        assert_eq!(read_line(&mut reader, 100).await.unwrap(), b"{\"b\":2}");
        assert!(matches!(
            read_line(&mut reader, 100).await,
            Err(FrameError::Closed)
        ));

        let long = [b'x'; 200];
        let mut reader = BufReader::with_capacity(16, &long[..]);
        assert!(matches!(
            read_line(&mut reader, 100).await,
            Err(FrameError::TooLong(100))
        ));

        let mut reader = BufReader::new(&b"{\"half\":"[..]);
        assert!(matches!(
            read_line(&mut reader, 100).await,
            Err(FrameError::Truncated(8))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn half_a_frame_and_then_silence_is_cut_off() {
        let (client, server) = tokio::io::duplex(64);
        let (_read, mut write) = tokio::io::split(client);
        write.write_all(b"{\"id\":1,").await.unwrap();
        let mut reader = BufReader::new(server);
        let result = read_line(&mut reader, 100).await;
        assert!(matches!(result, Err(FrameError::Stalled(_))), "{result:?}");
        drop(write);
    }
}
