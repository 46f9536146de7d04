//! Where a use case runs: [`OnRuntime`] runs the registration of a customer on the
//! application's own runtime instead of on the HTTP worker that received the request.
//!
//! **Why.** A registration waits several times: for the duplicate check, for the KYC
//! provider, for the write. Each time it is woken, a task on an HTTP worker waits for its
//! turn behind every connection that worker is serving; under overload that is hundreds of
//! connections each being answered `503`, and the registrations that were admitted spend
//! most of their time in that line (the README's benchmark: with clients that retry at
//! once, the admitted ones took a median of 25 ms inside the service, of which the store
//! and the provider took a fraction). On the application's runtime, where only the
//! background workers (mostly waiting on the network) run besides, a registration is woken
//! without waiting behind connections, and it returns to its HTTP worker once, with its
//! answer.
//!
//! A registration stays tied to its request: when the request is dropped (its client went
//! away), the task is aborted at its next wait, as the request's own future would have been,
//! so that no registration runs on without the processing slot its request held
//! (`MAX_IN_FLIGHT_REQUESTS` bounds registrations under way, and the calls to the KYC
//! provider with them). A panic in one is an unexpected error (`500`), not a lost HTTP worker
//! (the panic hook has printed its message).
//!
//! The application's runtime is one thread. A registration's own work there is small: its
//! event rendered, its batches' bookkeeping, the provider call (30 µs of that thread per
//! registration with the sandbox provider, in the README's overload run), so the store and
//! the provider bound the rate of registrations long before that thread does.

use std::sync::Arc;

use async_trait::async_trait;
use domain::{AccountId, Customer, NewCustomer};
use ports::{CreateCustomer, CreateCustomerError, Reservation};
use tokio::runtime::Handle;
use tokio::task::JoinError;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument as _;

/// A [`CreateCustomer`] whose calls run as tasks of `runtime`.
pub struct OnRuntime {
    inner: Arc<dyn CreateCustomer>,
    runtime: Handle,
}

impl OnRuntime {
    /// `inner`'s calls, run on `runtime`.
    pub fn new(inner: Arc<dyn CreateCustomer>, runtime: Handle) -> Self {
        Self { inner, runtime }
    }

    async fn run<F>(&self, call: F) -> Result<Customer, CreateCustomerError>
    where
        F: std::future::Future<Output = Result<Customer, CreateCustomerError>> + Send + 'static,
    {
        // The request's span goes with the call, so that its logs keep their fields.
        // Aborted if the caller stops waiting (its request was dropped).
        let task = AbortOnDropHandle::new(self.runtime.spawn(call.in_current_span()));
        task.await.unwrap_or_else(|e| Err(stopped(&e)))
    }
}

/// The error of a call that panicked, or that the runtime dropped while shutting down.
fn stopped(e: &JoinError) -> CreateCustomerError {
    let what = if e.is_panic() {
        "panicked"
    } else {
        "was stopped"
    };
    CreateCustomerError::Unexpected(anyhow::anyhow!("the registration {what}"))
}

#[async_trait]
impl CreateCustomer for OnRuntime {
    async fn create_customer(
        &self,
        account_id: AccountId,
        input: NewCustomer,
    ) -> Result<Customer, CreateCustomerError> {
        let inner = self.inner.clone();
        self.run(async move { inner.create_customer(account_id, input).await })
            .await
    }

    async fn create_customer_reserved(
        &self,
        account_id: AccountId,
        input: NewCustomer,
        reservation: Reservation<Customer>,
    ) -> Result<Customer, CreateCustomerError> {
        let inner = self.inner.clone();
        self.run(async move {
            inner
                .create_customer_reserved(account_id, input, reservation)
                .await
        })
        .await
    }
}

#[cfg(test)]
mod tests;
