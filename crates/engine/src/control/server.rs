//! The service's side of the control API: accepts clients on the socket, checks each one's hello,
//! answers its calls through a `Handler`, or streams events to it after `subscribe`.
//!
//! Every client is its own task with bounded frames, a bounded hello wait and bounded writes, and
//! the number of clients is capped, so a broken or hostile client is answered with an error and
//! dropped while the others go on being served.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use claude_status_core::report::Snapshot;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::sync::{broadcast, watch, Semaphore};
use tokio_util::sync::CancellationToken;

use super::frame::{read_frame, write_frame, FrameError, MAX_REQUEST_FRAME};
use super::proto::{
    Call, ControlError, ErrorKind, Event, Hello, HelloFrame, Reply, Request, PROTOCOL_VERSION,
};

/// What the service does with each call; the server only carries frames.
pub trait Handler: Send + Sync + 'static {
    /// The service's own hello (its version and pid).
    fn hello(&self) -> Hello;
    /// Answers one call (never `Subscribe`, which the server handles).
    fn call(&self, call: Call) -> BoxFuture<'_, Result<serde_json::Value, ControlError>>;
    /// The current snapshot and its changes.
    fn snapshots(&self) -> watch::Receiver<Snapshot>;
    /// Events for subscribers other than snapshots (engine events, settings changes, stopping).
    fn events(&self) -> broadcast::Receiver<Event>;
}

/// The server's bounds.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Clients served at once; the next one gets `unavailable` and is closed.
    pub max_clients: usize,
    /// How long a new client may take to send its hello.
    pub hello_timeout: Duration,
    /// How long one frame to a client may take to write before the client is dropped as stuck.
    pub write_timeout: Duration,
    /// The most often a subscriber is sent a snapshot whose verdict did not change. Gateway
    /// traffic changes the snapshot with every metered batch; a new verdict goes out at once, and
    /// a burst of other changes is folded into its latest state, so a busy gateway does not cost
    /// every front end a menu rebuild per request.
    pub snapshot_every: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_clients: 64,
            hello_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            snapshot_every: Duration::from_millis(250),
        }
    }
}

/// Binds the control socket at `path`: its directory is created (0700 when this creates it), a
/// stale socket file left by a dead service is replaced, and the socket is made 0600. The caller
/// must hold the service lock, which is what makes any existing socket stale.
#[cfg(unix)]
pub fn bind(path: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Some(parent) = path.parent() {
        if !parent.exists() {
            std::fs::create_dir_all(parent)?;
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket; move it away or set CLAUDE_STATUS_SOCKET",
                    path.display()
                ),
            ))
        }
        Err(_) => {}
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves clients from `listener` until `shutdown`; removes the socket file at the end.
#[cfg(unix)]
pub async fn serve(
    listener: tokio::net::UnixListener,
    path: PathBuf,
    handler: Arc<dyn Handler>,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_clients));
    let mut clients = tokio::task::JoinSet::new();
    let owner = socket_owner(&path);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let limits = limits.clone();
                    if let Err(refusal) = peer_allowed(&stream, owner) {
                        // The socket's 0600 mode and its 0700 folder already keep other users
                        // out; this holds even when a mode was loosened (a shared folder, a
                        // careless chmod, the moment between bind and chmod).
                        tracing::warn!("control socket: {refusal}");
                        let (_, write) = stream.into_split();
                        clients.spawn(refuse(write, limits, refusal));
                        continue;
                    }
                    let handler = Arc::clone(&handler);
                    let slot = Arc::clone(&slots).try_acquire_owned().ok();
                    let token = shutdown.child_token();
                    let (read, write) = stream.into_split();
                    clients.spawn(client(read, write, handler, limits, slot, token));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!("control socket: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
        }
    }
    // Subscribers get their `stopping` frame from the handler's events; give them a moment.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    clients.abort_all();
    let _ = std::fs::remove_file(&path);
}

/// The user the service runs as: the owner of the socket it has just bound (the file is created
/// with the process's effective uid), else of its own `/proc` entry. `None` refuses every peer.
#[cfg(unix)]
fn socket_owner(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .or_else(|_| std::fs::metadata("/proc/self"))
        .map(|meta| meta.uid())
        .ok()
}

/// Whether the peer at the other end of `stream` is the service's own user (or root, who can
/// read the service's memory anyway). The kernel vouches for the peer's uid (`SO_PEERCRED`).
#[cfg(unix)]
fn peer_allowed(stream: &tokio::net::UnixStream, owner: Option<u32>) -> Result<(), String> {
    let peer = stream
        .peer_cred()
        .map_err(|e| format!("a client was refused: its credentials could not be read ({e})"))?;
    match owner {
        Some(owner) if peer.uid() == owner || peer.uid() == 0 => Ok(()),
        Some(owner) => Err(format!(
            "a client of uid {} was refused: permission denied, this service belongs to uid {owner}",
            peer.uid()
        )),
        None => Err("a client was refused: the service's own user is unknown".to_owned()),
    }
}

/// Tells a refused peer why, within the write timeout, and closes.
#[cfg(unix)]
async fn refuse<W: AsyncWrite + Unpin>(mut write: W, limits: ServerLimits, why: String) {
    let error = ControlError::new(ErrorKind::PermissionDenied, why);
    let _ = tokio::time::timeout(
        limits.write_timeout,
        write_frame(&mut write, &error_reply(None, error)),
    )
    .await;
}

/// Serves clients from a named pipe until `shutdown`. This cannot be compiled or run on the Linux
/// machine this was written on; it follows tokio's documented pattern of creating the next pipe
/// instance before serving the connected one.
#[cfg(windows)]
pub async fn serve(
    pipe_name: PathBuf,
    handler: Arc<dyn Handler>,
    limits: ServerLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    use tokio::net::windows::named_pipe::ServerOptions;
    let name = pipe_name.as_os_str().to_owned();
    let slots = Arc::new(Semaphore::new(limits.max_clients));
    let mut server = ServerOptions::new()
        .first_pipe_instance(true)
        .reject_remote_clients(true)
        .create(&name)?;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            connected = server.connect() => {
                connected?;
                let connected_client = server;
                server = ServerOptions::new().reject_remote_clients(true).create(&name)?;
                let handler = Arc::clone(&handler);
                let limits = limits.clone();
                let slot = Arc::clone(&slots).try_acquire_owned().ok();
                let token = shutdown.child_token();
                let (read, write) = tokio::io::split(connected_client);
                tokio::spawn(client(read, write, handler, limits, slot, token));
            }
        }
    }
}

/// One accepted client: served while a slot was free, else told the service is busy.
async fn client<R, W>(
    read: R,
    write: W,
    handler: Arc<dyn Handler>,
    limits: ServerLimits,
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
    token: CancellationToken,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match slot {
        Some(_slot) => serve_client(read, write, handler, &limits, token).await,
        None => refuse_busy(write, &limits).await,
    }
}

async fn refuse_busy<W: AsyncWrite + Unpin>(mut write: W, limits: &ServerLimits) {
    let reply = error_reply(
        None,
        ControlError::new(
            ErrorKind::Unavailable,
            "the service is serving too many clients; try again",
        ),
    );
    let _ = tokio::time::timeout(limits.write_timeout, write_frame(&mut write, &reply)).await;
}

fn error_reply(id: Option<u64>, error: ControlError) -> Reply {
    Reply {
        id,
        result: None,
        error: Some(error),
    }
}

/// Writes a frame within the write timeout; `false` means the client is gone or stuck.
async fn send<T: serde::Serialize, W: AsyncWrite + Unpin>(
    write: &mut W,
    frame: &T,
    limits: &ServerLimits,
) -> bool {
    matches!(
        tokio::time::timeout(limits.write_timeout, write_frame(write, frame)).await,
        Ok(Ok(()))
    )
}

/// One client: hello, then calls until it closes, or a stream after `subscribe`.
async fn serve_client<R, W>(
    read: R,
    mut write: W,
    handler: Arc<dyn Handler>,
    limits: &ServerLimits,
    shutdown: CancellationToken,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut read = BufReader::new(read);
    let ours = handler.hello();
    let hello = tokio::time::timeout(
        limits.hello_timeout,
        read_frame::<HelloFrame, _>(&mut read, MAX_REQUEST_FRAME),
    )
    .await;
    let client = match hello {
        Ok(Ok(frame)) => frame.hello,
        Ok(Err(FrameError::Closed)) => return,
        Ok(Err(e)) => {
            let error = ControlError::new(
                ErrorKind::BadFrame,
                format!("expected a hello frame first: {e}"),
            );
            let _ = send(&mut write, &error_reply(None, error), limits).await;
            return;
        }
        Err(_) => {
            let error = ControlError::new(
                ErrorKind::BadFrame,
                format!("no hello within {:?}", limits.hello_timeout),
            );
            let _ = send(&mut write, &error_reply(None, error), limits).await;
            return;
        }
    };
    if client.protocol != PROTOCOL_VERSION {
        let error = ControlError::new(ErrorKind::VersionMismatch, Hello::mismatch(&ours, &client));
        let _ = send(&mut write, &error_reply(None, error), limits).await;
        return;
    }
    if !send(&mut write, &HelloFrame { hello: ours }, limits).await {
        return;
    }
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return,
            request = read_frame::<Request, _>(&mut read, MAX_REQUEST_FRAME) => request,
        };
        let request = match request {
            Ok(request) => request,
            Err(FrameError::Closed) => return,
            Err(e) => {
                let error = ControlError::new(ErrorKind::BadFrame, e.to_string());
                let _ = send(&mut write, &error_reply(None, error), limits).await;
                return;
            }
        };
        if request.call == Call::Subscribe {
            stream(&mut write, handler.as_ref(), limits, shutdown).await;
            return;
        }
        let reply = match handler.call(request.call).await {
            Ok(result) => Reply {
                id: Some(request.id),
                result: Some(result),
                error: None,
            },
            Err(error) => error_reply(Some(request.id), error),
        };
        if !send(&mut write, &reply, limits).await {
            return;
        }
    }
}

/// What a front end shows first: the level, its reasons, the deciding model and "does it hit
/// you?", and each model's level.
fn verdict_of(snapshot: &Snapshot) -> impl PartialEq {
    (
        snapshot.level,
        snapshot.reasons.clone(),
        snapshot.subject.clone(),
        snapshot.hits_you.clone(),
        snapshot
            .models
            .iter()
            .map(|m| (m.model.clone(), m.level, m.reasons.clone()))
            .collect::<Vec<_>>(),
    )
}

/// The subscription: the current snapshot, then every change and event until the service stops
/// or the client goes away.
async fn stream<W: AsyncWrite + Unpin>(
    write: &mut W,
    handler: &dyn Handler,
    limits: &ServerLimits,
    shutdown: CancellationToken,
) {
    let mut snapshots = handler.snapshots();
    let mut events = handler.events();
    let current = snapshots.borrow_and_update().clone();
    let mut verdict = verdict_of(&current);
    let first = Event::Snapshot {
        sent_at: Utc::now(),
        snapshot: Box::new(current),
    };
    if !send(write, &first, limits).await {
        return;
    }
    let mut last_snapshot = tokio::time::Instant::now();
    loop {
        let frame = tokio::select! {
            () = shutdown.cancelled() => Event::Stopping { reason: "the service is stopping".to_owned() },
            changed = snapshots.changed() => match changed {
                Ok(()) => {
                    // A new verdict goes out at once. Anything else (usage, a probe's time) waits
                    // out the interval; the watch channel keeps only the latest snapshot, so the
                    // wait folds a burst into one frame.
                    if verdict_of(&snapshots.borrow()) == verdict {
                        tokio::time::sleep_until(last_snapshot + limits.snapshot_every).await;
                    }
                    last_snapshot = tokio::time::Instant::now();
                    let snapshot = snapshots.borrow_and_update().clone();
                    verdict = verdict_of(&snapshot);
                    Event::Snapshot {
                        sent_at: Utc::now(),
                        snapshot: Box::new(snapshot),
                    }
                }
                Err(_) => Event::Stopping { reason: "the engine stopped".to_owned() },
            },
            event = events.recv() => match event {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(missed)) => Event::Lagged { missed },
                Err(broadcast::error::RecvError::Closed) => {
                    Event::Stopping { reason: "the service is stopping".to_owned() }
                }
            },
        };
        let last = matches!(frame, Event::Stopping { .. });
        if !send(write, &frame, limits).await || last {
            return;
        }
    }
}
