//! HTTP settings: where to listen, how clients reach the service, threads, shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

/// How the HTTP server listens and runs.
#[derive(Debug, Clone, Args)]
pub struct HttpSettings {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen_addr: SocketAddr,

    /// Base URL under which clients reach this service (used in sandbox links).
    /// Default: http://LISTEN_ADDR.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// HTTP worker threads (0: one for every two CPU cores, at least one).
    #[arg(long, env = "HTTP_WORKERS", default_value_t = 0, global = true)]
    pub http_workers: usize,

    /// Blocking threads per HTTP worker for the database calls of the requests it serves
    /// (registrations run on the application's runtime, with its blocking threads). Few on purpose: under load a
    /// thread that finishes a call takes the next waiting one without being woken, where
    /// many threads are each put to sleep and woken again for every call (the README's
    /// benchmark: 4 against 16 gave +22 % reads, +5 % creates and a lower p99).
    #[arg(long, env = "BLOCKING_THREADS", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024), global = true)]
    pub blocking_threads: u64,

    /// Seconds to let in-flight requests finish on shutdown.
    #[arg(
        long,
        env = "SHUTDOWN_GRACE_SECONDS",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_grace_seconds: u64,
}

impl HttpSettings {
    /// PUBLIC_URL, or `http://` and the address actually bound.
    pub fn public_url_or(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }

    /// How long in-flight requests may take to finish on shutdown.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config;

    #[test]
    fn a_bad_listen_address_names_the_setting() {
        let err = crate::Config::from_args(["server", "--listen-addr", "nowhere"]).unwrap_err();
        assert!(err.to_string().contains("listen-addr"), "{err}");
    }

    #[test]
    fn the_public_url_defaults_to_the_bound_address() {
        let bound = "127.0.0.1:4321".parse().unwrap();
        assert_eq!(
            config(&[]).http.public_url_or(bound),
            "http://127.0.0.1:4321"
        );
        let set = config(&["--public-url", "https://onboarding.example"]);
        assert_eq!(set.http.public_url_or(bound), "https://onboarding.example");
    }
}
