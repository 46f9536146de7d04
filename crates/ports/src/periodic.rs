//! The loop of the service's periodic housekeeping.

use std::future::Future;
use std::time::Duration;

/// Runs `round` at once and then every `every` until `shutdown` turns true (or its sender
/// goes). A round in progress is not interrupted.
pub(crate) async fn every<F, Fut>(
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    while !*shutdown.borrow() {
        round().await;
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            () = tokio::time::sleep(every) => {}
        }
    }
}
