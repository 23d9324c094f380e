//! The service's local control API: one long-running `claude-status service` owns the engine, and
//! every front end (the tray, the dashboard, `check`, the status line) talks to it here.
//!
//! The transport is a Unix domain socket (mode 0600, in a 0700 directory) on Linux and macOS and a
//! named pipe on Windows; never a TCP port. Frames are single lines of JSON (`frame.rs`), bounded
//! in size and in time. The first exchange is a hello that carries both sides' protocol versions,
//! so a client of another version gets a clear sentence instead of garbage (`proto.rs`). After the
//! hello a connection is either a request/response channel or, after `subscribe`, a one-way
//! stream of snapshots and engine events.

pub mod blocking;
pub mod client;
pub mod frame;
pub mod path;
pub mod proto;
pub mod server;

pub use client::{ClientError, ControlClient, Subscription};
pub use path::{socket_path, SOCKET_ENV};
pub use proto::{Call, ControlError, ErrorKind, Event, Hello, PROTOCOL_VERSION};
pub use server::{serve, Handler, ServerLimits};
