//! The listener: counts connections and bytes on the wire, and lets a handler drop its connection without an answer.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::stats::Counters;

/// A TCP listener whose connections count the bytes they carry into shared [`Counters`].
#[derive(Debug)]
pub(crate) struct CountingListener {
    inner: TcpListener,
    counters: Arc<Counters>,
}

impl CountingListener {
    pub(crate) fn new(inner: TcpListener, counters: Arc<Counters>) -> Self {
        Self { inner, counters }
    }
}

impl Listener for CountingListener {
    type Io = CountingStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    self.counters.connection_accepted();
                    let stream = CountingStream {
                        inner: stream,
                        counters: Arc::clone(&self.counters),
                        abort: Arc::new(AtomicBool::new(false)),
                    };
                    return (stream, addr);
                }
                Err(error) => {
                    // Like axum's own TcpListener: a per-connection failure is not fatal, and
                    // a resource failure (too many open files) deserves a pause before retrying.
                    tracing::debug!(%error, "accept failed");
                    if !matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One accepted connection. Every byte read or written passes through here and is counted.
#[derive(Debug)]
pub(crate) struct CountingStream {
    inner: TcpStream,
    counters: Arc<Counters>,
    abort: Arc<AtomicBool>,
}

impl CountingStream {
    /// Once a handler asked to drop the connection, every further IO fails. Zero linger
    /// makes the close a TCP reset, which is what a crashed proxy looks like to a client.
    fn check_abort(&self) -> io::Result<()> {
        if self.abort.load(Ordering::Acquire) {
            if let Err(error) = self.inner.set_zero_linger() {
                tracing::debug!(%error, "could not set zero linger");
            }
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "simulator dropped the connection",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check_abort()?;
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            self.counters.read((buf.filled().len() - before) as u64);
        }
        result
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check_abort()?;
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = result {
            self.counters.written(written as u64);
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check_abort()?;
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = result {
            self.counters.written(written as u64);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check_abort()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Marks a response that was never sent because its connection was dropped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DroppedConnection;

/// What a handler knows about its connection: a switch that drops it without an answer.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    abort: Arc<AtomicBool>,
}

impl Connection {
    /// Makes the connection fail instead of sending the response, so the client sees a reset
    /// rather than any HTTP status. This is done at the IO level because hyper offers no way
    /// for a handler to abort its own connection, and a panicking handler would still answer 500.
    ///
    /// The returned response is never sent; it only carries a marker so the request counters
    /// record a dropped connection instead of a status code.
    pub(crate) fn drop_without_answer(&self) -> Response {
        self.abort.store(true, Ordering::Release);
        let mut response = StatusCode::BAD_GATEWAY.into_response();
        response.extensions_mut().insert(DroppedConnection);
        response
    }
}

impl Connected<IncomingStream<'_, CountingListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, CountingListener>) -> Self {
        Self {
            abort: Arc::clone(&stream.io().abort),
        }
    }
}
