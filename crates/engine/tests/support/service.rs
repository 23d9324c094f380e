//! The whole service as the tray and `claude-status service` run it, on a control socket in a
//! temporary directory, against a simulator the test started: [`start_service`], a client of it,
//! and a bounded stop. Included by path (`#[path]`) by the tests that use it, so the other tests
//! do not compile it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use claude_status_engine::control::ControlClient;
use claude_status_engine::service::config::BaseConfig;
use claude_status_engine::service::{MemorySecrets, Service, ServiceOptions};
use claude_status_simulator::SimHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A service against the simulator, serving on a socket in a temporary directory.
pub struct Running {
    pub socket: PathBuf,
    #[allow(dead_code)] // Not every includer reads it.
    pub data_dir: PathBuf,
    pub secrets: Arc<MemorySecrets>,
    pub stop: CancellationToken,
    pub task: tokio::task::JoinHandle<claude_status_engine::Result<()>>,
    pub sim: SimHandle,
    _dir: tempfile::TempDir,
}

/// Starts the service against `sim` (checking every second, keys in memory) once `configure` has
/// had its say on the configuration, and waits until its socket answers.
pub async fn start_service(sim: SimHandle, configure: impl FnOnce(&mut BaseConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut base = BaseConfig::for_tests(&sim.base_url(), data_dir.clone());
    base.interval_override = Some(Duration::from_secs(1));
    configure(&mut base);
    let socket = dir.path().join("control.sock");
    let secrets = Arc::new(MemorySecrets::default());
    let service = Service::start(
        ServiceOptions {
            base,
            socket: socket.clone(),
            legacy_settings: None,
        },
        secrets.clone(),
        None,
    )
    .await
    .unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(service.serve(stop.clone()));
    wait_for_socket(&socket).await;
    Running {
        socket,
        data_dir,
        secrets,
        stop,
        task,
        sim,
        _dir: dir,
    }
}

/// Waits (10 s at most) until a client can connect on `socket`.
pub async fn wait_for_socket(socket: &Path) {
    let give_up = Instant::now() + Duration::from_secs(10);
    while ControlClient::connect(socket, "test").await.is_err() {
        assert!(
            Instant::now() < give_up,
            "the service never answered on {}",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Running {
    pub async fn client(&self) -> ControlClient {
        ControlClient::connect(&self.socket, "test").await.unwrap()
    }

    /// Stops the service (20 s at most, and it must have served without an error), then the
    /// simulator.
    pub async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the service stops within 20 s")
            .unwrap()
            .unwrap();
        self.sim.shutdown().await;
    }
}
