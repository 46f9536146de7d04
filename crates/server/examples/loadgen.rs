//! A small HTTP/1.1 load generator for `.ci/bench`, for the figures wrk cannot give:
//! latency per status (accepted requests apart from refusals) at many connections, and a
//! login flood from many client addresses.
//!
//! `loadgen overload --addr 127.0.0.1:8080 --connections 1000 --seconds 10 --token T`
//! keeps every connection busy with `POST /customer` (a new e-mail each time) and reports
//! count and latency per status (with `--healthz`, `GET /healthz` instead: the HTTP stack
//! alone at that many connections). `loadgen logins --addr … --attempts 300 --addresses 30`
//! sends `POST /auth/login` with random account ids, from `127.0.0.2`, `127.0.0.3`, … (one
//! connection per address) and reports the statuses. Not part of the service.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

#[derive(Parser)]
struct Cli {
    /// The service's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    #[command(subcommand)]
    run: Run,
}

#[derive(Subcommand)]
enum Run {
    /// Every connection sends POST /customer back to back for the whole time.
    Overload {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// A bearer token.
        #[arg(long, env = "API_TOKEN")]
        token: String,
        /// After a refusal, wait as long as its `Retry-After` asks, plus up to as long
        /// again at random (as well-behaved clients do, so that refused clients do not
        /// all come back in the same instant), instead of sending again at once.
        #[arg(long)]
        honour_retry_after: bool,
        /// Send `GET /healthz` instead: the HTTP stack alone at as many connections, the
        /// least latency any answer can have on this machine at that load.
        #[arg(long)]
        healthz: bool,
    },
    /// POST /auth/login with random account ids from many client addresses.
    Logins {
        #[arg(long, default_value_t = 300)]
        attempts: usize,
        /// Client addresses, 127.0.0.2 upwards; one connection from each.
        #[arg(long, default_value_t = 30)]
        addresses: u8,
    },
}

/// How long the overload run takes to open all its connections.
const RAMP: Duration = Duration::from_secs(1);

/// One answer: its status, how long it took, its `Retry-After` in seconds.
struct Answer {
    status: u16,
    micros: u64,
    retry_after: Option<u64>,
}

/// A keep-alive HTTP/1.1 connection.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr, from: Option<IpAddr>) -> std::io::Result<Self> {
        let socket = TcpSocket::new_v4()?;
        if let Some(from) = from {
            socket.bind(SocketAddr::new(from, 0))?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends `request` and reads the answer; also whether the server closes the
    /// connection after it.
    async fn exchange(&mut self, request: &[u8]) -> std::io::Result<(Answer, bool)> {
        let started = Instant::now();
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).to_ascii_lowercase();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status line"))?;
        let header = |name: &str| {
            head.lines()
                .find_map(|line| line.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        let length: usize = header("content-length:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let close = header("connection:").is_some_and(|v| v == "close");
        let retry_after = header("retry-after:").and_then(|v| v.parse().ok());
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        self.buffer.drain(..head_end + length);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        Ok((
            Answer {
                status,
                micros,
                retry_after,
            },
            close,
        ))
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buffer.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    out.into_bytes()
}

fn customer_body(n: u64, run: u128) -> String {
    format!(
        "{{\"customer_name\":\"Bench User\",\"customer_email\":\"overload-{run}-{n}@example.com\",\
         \"customer_phone\":\"+1 (415) 555-2671\",\"customer_country\":\"US\",\"send_kyc_mail\":false}}"
    )
}

/// Prints count and latency percentiles per status.
fn report(answers: Vec<Answer>, errors: u64, seconds: f64) {
    let mut by_status: BTreeMap<u16, Vec<&Answer>> = BTreeMap::new();
    for answer in &answers {
        by_status.entry(answer.status).or_default().push(answer);
    }
    #[expect(clippy::print_stdout, reason = "the report is the output")]
    {
        println!(
            "requests={} errors={errors} seconds={seconds:.1} rate={:.0}",
            answers.len(),
            answers.len() as f64 / seconds
        );
        for (status, list) in by_status {
            let mut micros: Vec<u64> = list.iter().map(|a| a.micros).collect();
            micros.sort_unstable();
            let at = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
            let retry = list.iter().filter(|a| a.retry_after.is_some()).count();
            println!(
                "status={status} count={} rate={:.0} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} with_retry_after={retry}",
                list.len(),
                list.len() as f64 / seconds,
                at(0.5),
                at(0.99),
                at(1.0),
            );
        }
    }
}

async fn overload(
    addr: SocketAddr,
    connections: usize,
    seconds: u64,
    token: String,
    honour_retry_after: bool,
    healthz: bool,
) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let counter = Arc::new(AtomicU64::new(0));
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let auth = format!("Bearer {token}");
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|i| {
            let (counter, auth) = (counter.clone(), auth.clone());
            // Connections open over the first second, as clients arrive, not in one instant.
            let ramp = RAMP.mul_f64(i as f64 / connections as f64);
            tokio::spawn(async move {
                tokio::time::sleep(ramp).await;
                let mut answers = Vec::new();
                let mut errors = 0u64;
                let mut conn = None;
                while Instant::now() < deadline {
                    let c = match conn.take() {
                        Some(c) => c,
                        None => match Connection::open(addr, None).await {
                            Ok(c) => c,
                            Err(_) => {
                                errors += 1;
                                tokio::time::sleep(Duration::from_millis(10)).await;
                                continue;
                            }
                        },
                    };
                    let mut c = c;
                    let req = if healthz {
                        b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n".to_vec()
                    } else {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let body = customer_body(n, run);
                        request("POST", "/customer", &[("Authorization", &auth)], &body)
                    };
                    match c.exchange(&req).await {
                        Ok((answer, close)) => {
                            let pause = answer
                                .retry_after
                                .filter(|_| honour_retry_after && answer.status == 503);
                            answers.push(answer);
                            if !close {
                                conn = Some(c);
                            }
                            if let Some(seconds) = pause {
                                let base = Duration::from_secs(seconds);
                                let jitter = base.mul_f64(rand::random::<f64>());
                                let until = Instant::now() + base + jitter;
                                tokio::time::sleep_until(until.min(deadline).into()).await;
                            }
                        }
                        Err(_) => errors += 1,
                    }
                }
                (answers, errors)
            })
        })
        .collect();
    let mut answers = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((a, e)) = task.await {
            answers.extend(a);
            errors += e;
        }
    }
    report(answers, errors, started.elapsed().as_secs_f64());
}

async fn logins(addr: SocketAddr, attempts: usize, addresses: u8) {
    let per_address = attempts.div_ceil(usize::from(addresses.max(1)));
    let started = Instant::now();
    let tasks: Vec<_> = (0..addresses)
        .map(|i| {
            tokio::spawn(async move {
                let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i));
                let mut answers = Vec::new();
                let mut errors = 0u64;
                let mut conn = None;
                for _ in 0..per_address {
                    let mut c = match conn.take() {
                        Some(c) => c,
                        None => match Connection::open(addr, Some(from)).await {
                            Ok(c) => c,
                            Err(_) => {
                                errors += 1;
                                continue;
                            }
                        },
                    };
                    let body = format!(
                        "{{\"account_id\":\"{}\",\"app_secret\":\"sk_{}\"}}",
                        uuid::Uuid::new_v4(),
                        uuid::Uuid::new_v4().simple()
                    );
                    match c
                        .exchange(&request("POST", "/auth/login", &[], &body))
                        .await
                    {
                        Ok((answer, close)) => {
                            answers.push(answer);
                            if !close {
                                conn = Some(c);
                            }
                        }
                        Err(_) => errors += 1,
                    }
                }
                (answers, errors)
            })
        })
        .collect();
    let mut answers = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((a, e)) = task.await {
            answers.extend(a);
            errors += e;
        }
    }
    report(answers, errors, started.elapsed().as_secs_f64());
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.run {
            Run::Overload {
                connections,
                seconds,
                token,
                honour_retry_after,
                healthz,
            } => {
                overload(
                    cli.addr,
                    connections,
                    seconds,
                    token,
                    honour_retry_after,
                    healthz,
                )
                .await;
            }
            Run::Logins {
                attempts,
                addresses,
            } => logins(cli.addr, attempts, addresses).await,
        }
    });
    Ok(())
}
