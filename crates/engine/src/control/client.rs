//! The front ends' side of the control API: connect, say hello, call, or subscribe.
//!
//! Every wait is bounded: connecting, the hello, each call. A service that is not running is
//! `ClientError::NotRunning`, which front ends treat as "do it yourself" (`check`) or "start one"
//! (the tray); a service of another version is `VersionMismatch` with the sentence to show.

use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::io::BufReader;

use super::frame::{read_frame, write_frame, FrameError, MAX_REPLY_FRAME};
use super::proto::{Call, ControlError, ErrorKind, Event, Hello, HelloFrame, Reply, Request};

/// How long connecting and the hello may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a call may take (a `check_now` runs a whole round of probes).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

#[cfg(unix)]
type ReadHalf = tokio::net::unix::OwnedReadHalf;
#[cfg(unix)]
type WriteHalf = tokio::net::unix::OwnedWriteHalf;
#[cfg(windows)]
type ReadHalf = tokio::io::ReadHalf<tokio::net::windows::named_pipe::NamedPipeClient>;
#[cfg(windows)]
type WriteHalf = tokio::io::WriteHalf<tokio::net::windows::named_pipe::NamedPipeClient>;

/// Why a call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket.
    #[error("no Claude Status service is running ({socket})")]
    NotRunning { socket: String },
    /// The service speaks another protocol version; the text says which and what to do.
    #[error("{0}")]
    VersionMismatch(String),
    /// The service refused the call.
    #[error(transparent)]
    Refused(#[from] ControlError),
    /// The service did not answer in time.
    #[error("the Claude Status service did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection broke or carried something unreadable.
    #[error("the connection to the Claude Status service failed: {0}")]
    Frame(#[from] FrameError),
}

impl ClientError {
    /// Whether the service is simply not there (so the caller may do the work itself).
    pub fn is_not_running(&self) -> bool {
        matches!(self, ClientError::NotRunning { .. })
    }
}

/// A connection after a successful hello.
#[derive(Debug)]
pub struct ControlClient {
    read: BufReader<ReadHalf>,
    write: WriteHalf,
    service: Hello,
    next_id: u64,
}

impl ControlClient {
    /// Connects to the service at `socket` and exchanges hellos as `role`.
    pub async fn connect(socket: &Path, role: &str) -> Result<ControlClient, ClientError> {
        Self::connect_as(socket, Hello::ours(role)).await
    }

    /// Connects with a given hello (tests speak other versions with it).
    pub async fn connect_as(socket: &Path, hello: Hello) -> Result<ControlClient, ClientError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, Self::open(socket, hello)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout(CONNECT_TIMEOUT)),
        }
    }

    async fn open(socket: &Path, hello: Hello) -> Result<ControlClient, ClientError> {
        let (read, mut write) = connect_raw(socket).await?;
        let mut read = BufReader::new(read);
        write_frame(
            &mut write,
            &HelloFrame {
                hello: hello.clone(),
            },
        )
        .await?;
        let line = super::frame::read_line(&mut read, MAX_REPLY_FRAME).await?;
        if let Ok(frame) = serde_json::from_slice::<HelloFrame>(&line) {
            if frame.hello.protocol != hello.protocol {
                return Err(ClientError::VersionMismatch(Hello::mismatch(
                    &frame.hello,
                    &hello,
                )));
            }
            return Ok(ControlClient {
                read,
                write,
                service: frame.hello,
                next_id: 1,
            });
        }
        match serde_json::from_slice::<Reply>(&line) {
            Ok(Reply {
                error: Some(error), ..
            }) if error.kind == ErrorKind::VersionMismatch => {
                Err(ClientError::VersionMismatch(error.message))
            }
            Ok(Reply {
                error: Some(error), ..
            }) => Err(ClientError::Refused(error)),
            _ => Err(ClientError::Frame(FrameError::Invalid(
                "the service's first frame is neither a hello nor an error".to_owned(),
            ))),
        }
    }

    /// The service's hello: its version and pid.
    pub fn service(&self) -> &Hello {
        &self.service
    }

    /// Makes one call and reads its result as `T`.
    pub async fn call<T: DeserializeOwned>(&mut self, call: Call) -> Result<T, ClientError> {
        let value = self.call_value(call).await?;
        serde_json::from_value(value)
            .map_err(|e| ClientError::Frame(FrameError::Invalid(e.to_string())))
    }

    /// Makes one call and returns its raw result.
    pub async fn call_value(&mut self, call: Call) -> Result<serde_json::Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let exchange = async {
            write_frame(&mut self.write, &Request { id, call }).await?;
            loop {
                let reply: Reply = read_frame(&mut self.read, MAX_REPLY_FRAME).await?;
                if reply.id.is_some() && reply.id != Some(id) {
                    // A reply to an earlier call that timed out on our side; skip it.
                    continue;
                }
                return match (reply.result, reply.error) {
                    (_, Some(error)) => Err(ClientError::Refused(error)),
                    (Some(result), None) => Ok(result),
                    (None, None) => Ok(serde_json::Value::Null),
                };
            }
        };
        match tokio::time::timeout(CALL_TIMEOUT, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout(CALL_TIMEOUT)),
        }
    }

    /// Turns this connection into a subscription.
    pub async fn subscribe(mut self) -> Result<Subscription, ClientError> {
        let id = self.next_id;
        write_frame(
            &mut self.write,
            &Request {
                id,
                call: Call::Subscribe,
            },
        )
        .await?;
        Ok(Subscription {
            read: self.read,
            _write: self.write,
            service: self.service,
        })
    }
}

/// A stream of the service's events.
#[derive(Debug)]
pub struct Subscription {
    read: BufReader<ReadHalf>,
    _write: WriteHalf,
    service: Hello,
}

impl Subscription {
    /// Connects and subscribes in one step.
    pub async fn open(socket: &Path, role: &str) -> Result<Subscription, ClientError> {
        ControlClient::connect(socket, role)
            .await?
            .subscribe()
            .await
    }

    /// The service's hello.
    pub fn service(&self) -> &Hello {
        &self.service
    }

    /// The next event; waits as long as the service has nothing to say. `Err` once the
    /// connection is gone.
    pub async fn next(&mut self) -> Result<Event, ClientError> {
        let line = super::frame::read_line(&mut self.read, MAX_REPLY_FRAME).await?;
        if let Ok(event) = serde_json::from_slice::<Event>(&line) {
            return Ok(event);
        }
        match serde_json::from_slice::<Reply>(&line) {
            Ok(Reply {
                error: Some(error), ..
            }) => Err(ClientError::Refused(error)),
            _ => Err(ClientError::Frame(FrameError::Invalid(
                "an unreadable event frame".to_owned(),
            ))),
        }
    }
}

#[cfg(unix)]
async fn connect_raw(socket: &Path) -> Result<(ReadHalf, WriteHalf), ClientError> {
    match tokio::net::UnixStream::connect(socket).await {
        Ok(stream) => Ok(stream.into_split()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Err(ClientError::NotRunning {
                socket: socket.display().to_string(),
            })
        }
        Err(e) => Err(ClientError::Frame(FrameError::Io(e))),
    }
}

#[cfg(windows)]
async fn connect_raw(socket: &Path) -> Result<(ReadHalf, WriteHalf), ClientError> {
    use tokio::net::windows::named_pipe::ClientOptions;
    match ClientOptions::new().open(socket.as_os_str()) {
        Ok(pipe) => Ok(tokio::io::split(pipe)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ClientError::NotRunning {
            socket: socket.display().to_string(),
        }),
        Err(e) => Err(ClientError::Frame(FrameError::Io(e))),
    }
}
