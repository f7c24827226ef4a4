//! A TCP proxy on loopback between the pool and a server, which can stall (hold
//! every byte in both directions, for open and new connections alike) and sever
//! (close every open connection at once).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running proxy; stops (closing every connection) when dropped.
#[derive(Debug)]
pub struct Proxy {
    /// The loopback port clients connect to.
    pub port: u16,
    stalled: watch::Sender<bool>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

/// Copies `from` to `to`, never while the proxy is stalled.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut stalled: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if stalled.wait_for(|s| !*s).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        // Bytes read just before a stall are held until it ends.
        if stalled.wait_for(|s| !*s).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl Proxy {
    /// Listens on a random loopback port and forwards to `127.0.0.1:upstream`.
    pub async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("proxy listener");
        let port = listener.local_addr().expect("proxy address").port();
        let (stalled, _) = watch::channel(false);
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = {
            let stalled = stalled.clone();
            let tasks = tasks.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let rx = stalled.subscribe();
                    let handle = tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else { return };
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        let (cr, cw) = client.into_split();
                        let (sr, sw) = server.into_split();
                        let up = pump(cr, sw, rx.clone());
                        let down = pump(sr, cw, rx);
                        tokio::join!(up, down);
                    });
                    let mut list = tasks.lock().expect("proxy tasks");
                    list.retain(|h| !h.is_finished());
                    list.push(handle);
                }
            })
        };
        Proxy { port, stalled, tasks, accept }
    }

    /// Holds every byte from now on.
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// Lets the held bytes through and forwards again.
    pub fn resume(&self) {
        self.stalled.send_replace(false);
    }

    /// Closes every open connection (new ones are still accepted).
    pub fn sever(&self) {
        for h in self.tasks.lock().expect("proxy tasks").drain(..) {
            h.abort();
        }
    }

    /// Open proxied connections.
    pub fn open_connections(&self) -> usize {
        self.tasks.lock().expect("proxy tasks").iter().filter(|h| !h.is_finished()).count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.sever();
    }
}
