//! The one request connection this process keeps to the service: calls from the menu and the
//! dashboard's commands go through it, one at a time, and a connection that broke (the service
//! restarted) is opened again once before a call is given up.

use std::path::PathBuf;

use claude_status_engine::control::frame::FrameError;
use claude_status_engine::control::proto::Call;
use claude_status_engine::control::{ClientError, ControlClient};
use serde::de::DeserializeOwned;

/// A shared, lazily opened connection to the service.
#[derive(Debug)]
pub struct ServiceClient {
    socket: PathBuf,
    role: &'static str,
    /// A tokio mutex: it is held across the call's await, so calls never interleave on the one
    /// connection (a reply is matched to its request by order).
    connection: tokio::sync::Mutex<Option<ControlClient>>,
}

impl ServiceClient {
    pub fn new(socket: PathBuf, role: &'static str) -> Self {
        Self {
            socket,
            role,
            connection: tokio::sync::Mutex::new(None),
        }
    }

    /// Makes one call and reads its result as `T`.
    pub async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T, ClientError> {
        let value = self.call_value(call).await?;
        serde_json::from_value(value)
            .map_err(|e| ClientError::Frame(FrameError::Invalid(e.to_string())))
    }

    /// Makes one call, reconnecting once when the kept connection turns out to be broken.
    pub async fn call_value(&self, call: Call) -> Result<serde_json::Value, ClientError> {
        let mut connection = self.connection.lock().await;
        let mut reconnected = false;
        loop {
            if connection.is_none() {
                reconnected = true;
                *connection = Some(ControlClient::connect(&self.socket, self.role).await?);
            }
            let Some(client) = connection.as_mut() else {
                continue;
            };
            match client.call_value(call.clone()).await {
                Err(e) if is_broken(&e) => {
                    *connection = None;
                    // A connection opened for this very call that breaks says the service is in
                    // trouble; a kept one may simply predate a restart of the service.
                    if reconnected {
                        return Err(e);
                    }
                }
                Err(ClientError::Timeout(after)) => {
                    // A late reply would come on this connection; start afresh.
                    *connection = None;
                    return Err(ClientError::Timeout(after));
                }
                other => return other,
            }
        }
    }

    /// Forgets the kept connection (the service went away).
    pub async fn reset(&self) {
        *self.connection.lock().await = None;
    }
}

/// Whether the connection itself failed (as opposed to the service refusing the call).
fn is_broken(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Frame(
            FrameError::Closed
                | FrameError::Truncated(_)
                | FrameError::Io(_)
                | FrameError::Stalled(_)
        )
    )
}
