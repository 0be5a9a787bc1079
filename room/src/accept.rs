//! The accept loop every iroh service of Tandem runs: room peers (`tandem/room/2`) and the
//! execution node's room path (`tandem/exec/1`).
//!
//! Why one loop: each incoming connection gets its own task, handshake included, so a slow or
//! silent dialer never holds up the next one, and finished tasks are reaped as they end, so a
//! long-lived endpoint does not accumulate them. Both services need exactly that; only what a
//! connection does differs.

use std::fmt::Display;
use std::future::Future;

use iroh::endpoint::Connection;
use iroh::Endpoint;
use tokio::task::JoinSet;

/// Accepts connections on `endpoint` until it closes, running `handle` for each on its own task.
/// A failed handshake or a session ending with an error is logged at debug level, tagged with
/// `what`: peers come and go, that is not the operator's problem.
pub async fn serve_connections<H, F, E>(endpoint: &Endpoint, what: &'static str, handle: H)
where
    H: Fn(Connection) -> F + Clone + Send + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Display,
{
    let mut sessions = JoinSet::new();
    loop {
        let incoming = tokio::select! {
            i = endpoint.accept() => i,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
        };
        let Some(incoming) = incoming else { break };
        let handle = handle.clone();
        sessions.spawn(async move {
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, what, "incoming connection failed");
                    return;
                }
            };
            if let Err(e) = handle(conn).await {
                tracing::debug!(error = %e, what, "session ended");
            }
        });
    }
}
