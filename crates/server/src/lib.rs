//! The service's composition root: configuration, choice of adapters, wiring and start-up.
//! `main.rs` only parses the command line and calls in here, so black-box tests can start
//! the real application on port 0.

pub mod config;
mod http;
mod lifecycle;
mod placement;
pub mod secret;
pub mod startup;
pub mod telemetry;
pub mod webhooks;

pub use config::{Cli, Command, Config};
pub use startup::Application;
