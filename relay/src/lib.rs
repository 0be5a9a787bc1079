//! `tandem-relay`: iroh's relay server for Tandem rooms, with access control, a health endpoint
//! and Prometheus metrics.
//!
//! Modes:
//! - `--dev`: plain HTTP on loopback (tests, local demos). Peers use `http://127.0.0.1:PORT`.
//! - `--self-signed DIR`: HTTPS with a certificate the relay makes for itself (kept in DIR so it
//!   survives restarts). Peers trust exactly that certificate (`tandem-peer --relay-ca
//!   DIR/cert.pem`), so a LAN or staging setup gets TLS without a CA or a public name.
//! - `--cert FILE --key FILE`: HTTPS with provided PEM files (production behind a real name).
//! - `--acme-domain NAME --acme-contact EMAIL`: HTTPS with Let's Encrypt certificates.
//!
//! It also serves the web client on the same address (see [`web`]): the built UI and the
//! y-websocket bridge at `/yjs/<room-id>` that makes browsers participants of rooms ([`bridge`]).
//! With TLS, the web client is served on `--web-addr` (plain HTTP, for a TLS proxy in front).
//!
//! On start it prints one JSON line to stdout with the bound addresses, so scripts and tests can
//! use port 0 and learn the real ports.

pub mod access;
pub mod admin;
pub mod bridge;
pub mod metrics;
pub mod rate;
pub mod record;
pub mod runs;
pub mod self_signed;
pub mod sessions;
pub mod ui;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Parser;
use iroh_relay::server::{AcmeConfig, CertConfig, RelayConfig, Server, ServerConfig, TlsConfig};

#[derive(Parser, Debug)]
#[command(name = "tandem-relay", about = "Tandem's self-hosted iroh relay")]
struct Args {
    /// Plain HTTP on loopback, no TLS (development and tests only).
    #[arg(long)]
    dev: bool,
    /// HTTP address (relay in dev mode; captive-portal probe otherwise).
    #[arg(long, env = "TANDEM_RELAY_HTTP", default_value = "127.0.0.1:3340")]
    http_addr: SocketAddr,
    /// HTTPS address (not used with --dev).
    #[arg(long, env = "TANDEM_RELAY_HTTPS", default_value = "0.0.0.0:443")]
    https_addr: SocketAddr,
    /// HTTPS with a self-signed certificate kept in this directory (made on first start).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["dev", "cert", "acme_domain"])]
    self_signed: Option<PathBuf>,
    /// Names the self-signed certificate is valid for (repeatable).
    #[arg(long = "tls-name", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])]
    tls_names: Vec<String>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, env = "TANDEM_RELAY_CERT", requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "TANDEM_RELAY_KEY", requires = "cert")]
    key: Option<PathBuf>,
    /// Domain to get a Let's Encrypt certificate for (instead of --cert/--key).
    #[arg(long, env = "TANDEM_RELAY_ACME_DOMAIN")]
    acme_domain: Option<String>,
    /// Contact email for Let's Encrypt.
    #[arg(long, env = "TANDEM_RELAY_ACME_CONTACT")]
    acme_contact: Option<String>,
    /// Where ACME state and certificates are cached.
    #[arg(long, env = "TANDEM_RELAY_ACME_CACHE", default_value = "/var/lib/tandem-relay/acme")]
    acme_cache: PathBuf,
    /// Use Let's Encrypt's staging directory.
    #[arg(long)]
    acme_staging: bool,
    /// Health and metrics (`/healthz`, `/metrics`).
    #[arg(long, env = "TANDEM_RELAY_ADMIN", default_value = "127.0.0.1:9340")]
    admin_addr: SocketAddr,
    /// Only these endpoint ids (hex) may use the relay (repeatable). Default: anyone.
    #[arg(long = "allow-id")]
    allow_ids: Vec<String>,
    /// File with one allowed endpoint id (hex) per line.
    #[arg(long)]
    allow_file: Option<PathBuf>,
    /// Require `Authorization: Bearer TOKEN` with one of these tokens (repeatable).
    #[arg(long = "token", env = "TANDEM_RELAY_TOKEN")]
    tokens: Vec<String>,
    /// The built UI (default: ../share/tandem/ui next to the binary, else ./ui/dist, else the
    /// source tree's ui/dist).
    #[arg(long, env = "TANDEM_RELAY_UI_DIR")]
    ui_dir: Option<PathBuf>,
    /// Where the web bridge keeps its secret and the room peers of browsers
    /// (default: a fresh temporary directory with --dev, /var/lib/tandem-relay/web otherwise).
    #[arg(long, env = "TANDEM_RELAY_WEB_DATA")]
    web_data: Option<PathBuf>,
    /// Most browser sessions (each is a room peer in this process) the relay serves at once;
    /// beyond it a new browser is told to try again later (close 1013).
    #[arg(long, default_value_t = 256)]
    max_web_sessions: usize,
    /// Most browser sessions one room may have on this relay at once.
    #[arg(long, default_value_t = 64)]
    max_web_sessions_per_room: usize,
    /// Most browser sessions whose member no room peer has admitted yet (strangers' invites).
    #[arg(long, default_value_t = 16)]
    max_web_sessions_unadmitted: usize,
    /// New browser sockets one IP address may open per minute (beyond: HTTP 429).
    #[arg(long, default_value_t = 60)]
    web_sockets_per_minute_per_ip: u32,
    /// Days after which a browser member's directory under --web-data is deleted when unused.
    #[arg(long, default_value_t = 30)]
    web_data_keep_days: u64,
    /// Plain-HTTP address for the web client when the relay itself serves HTTPS (put a TLS proxy
    /// in front). With --dev the web client shares the relay's HTTP address.
    #[arg(long, env = "TANDEM_RELAY_WEB_ADDR")]
    web_addr: Option<SocketAddr>,
    /// Public origin of the web client (e.g. https://relay.example.com) for invite links made
    /// from the browser; default: the Host the browser used.
    #[arg(long, env = "TANDEM_RELAY_PUBLIC_URL")]
    public_url: Option<String>,
}

/// Parses arguments and runs until Ctrl-C (used by the binary and by test wrappers).
pub fn main_entry() -> std::process::ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem-relay: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem-relay: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    let mut ids = args.allow_ids.clone();
    if let Some(f) = &args.allow_file {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        ids.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    let acl = Arc::new(access::Acl::new(&ids, &args.tokens)?);

    // With --dev the public HTTP address is the front router (web + iroh's paths spliced to
    // iroh's server on a loopback port); see `web`.
    let front = if args.dev {
        Some(
            tokio::net::TcpListener::bind(args.http_addr)
                .await
                .with_context(|| format!("binding {}", args.http_addr))?,
        )
    } else {
        None
    };
    let iroh_http = if args.dev {
        SocketAddr::from(([127, 0, 0, 1], 0))
    } else {
        args.http_addr
    };
    let mut relay = RelayConfig::new(iroh_http);
    relay.access = acl.clone();
    relay.key_cache_capacity = Some(4096);
    if !args.dev {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth();
        let self_signed = match &args.self_signed {
            Some(dir) => Some(self_signed::load_or_create(dir, &args.tls_names)?),
            None => None,
        };
        let (cert_path, key_path) = match &self_signed {
            Some(s) => (Some(&s.cert), Some(&s.key)),
            None => (args.cert.as_ref(), args.key.as_ref()),
        };
        let cert = match (cert_path, key_path, &args.acme_domain) {
            (Some(cert), Some(key), _) => {
                use rustls_pki_types::pem::PemObject;
                let chain = rustls_pki_types::CertificateDer::pem_file_iter(cert)
                    .with_context(|| format!("reading {}", cert.display()))?
                    .collect::<Result<Vec<_>, _>>()
                    .context("parsing the certificate chain")?;
                let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key)
                    .with_context(|| format!("reading {}", key.display()))?;
                let server_config = builder.with_single_cert(chain, key).context("certificate and key")?;
                CertConfig::Manual { server_config }
            }
            (None, None, Some(domain)) => {
                let mut acme = AcmeConfig::letsencrypt(!args.acme_staging)
                    .domains(vec![domain.clone()])
                    .cache_path(args.acme_cache.clone());
                if let Some(c) = &args.acme_contact {
                    acme = acme.contact(vec![format!("mailto:{c}")]);
                }
                CertConfig::LetsEncrypt {
                    acme_config: acme,
                    server_config_builder: builder,
                }
            }
            _ => bail!("give --dev, --self-signed DIR, --cert and --key, or --acme-domain"),
        };
        relay.tls = Some(TlsConfig::new(args.https_addr, cert));
    } else if !args.http_addr.ip().is_loopback() {
        tracing::warn!(addr = %args.http_addr, "dev mode (no TLS) on a non-loopback address");
    }

    let mut config = ServerConfig::default();
    config.relay = Some(relay);
    let server = Server::spawn(config).await.context("starting the relay server")?;
    let admin = admin::Admin::bind(args.admin_addr, server.metrics().clone(), acl.clone()).await?;

    let relay_url = match (server.https_addr(), server.http_addr(), &front) {
        (Some(a), _, _) if !args.dev => {
            // A wildcard bind is not an address to dial; the certificate names loopback.
            let a = if a.ip().is_unspecified() {
                SocketAddr::from(([127, 0, 0, 1], a.port()))
            } else {
                a
            };
            format!("https://{a}")
        }
        (_, _, Some(f)) => format!("http://{}", f.local_addr()?),
        (_, Some(a), _) => format!("http://{a}"),
        _ => bail!("the relay bound no address"),
    };

    let ui = ui::Ui::new(args.ui_dir.clone().or_else(ui::default_dir));
    match ui.dir() {
        Some(d) => tracing::info!(dir = %d.display(), "serving the web UI"),
        None => tracing::warn!("no built web UI found (cd ui && npm run build, or --ui-dir); /yjs still works"),
    }
    let warm = ui.clone();
    tokio::task::spawn_blocking(move || warm.warm());
    let mut temp_web_data = None;
    let web_data = match &args.web_data {
        Some(d) => d.clone(),
        None if args.dev => {
            let d = std::env::temp_dir().join(format!("tandem-relay-web-{}", std::process::id()));
            temp_web_data = Some(d.clone());
            d
        }
        None => PathBuf::from("/var/lib/tandem-relay/web"),
    };
    let limits = sessions::Limits {
        total: args.max_web_sessions,
        per_room: args.max_web_sessions_per_room,
        unadmitted: args.max_web_sessions_unadmitted,
        sockets_per_minute_per_ip: args.web_sockets_per_minute_per_ip,
    };
    let sessions = sessions::Sessions::new(web_data, relay_url.clone(), acl.a_token(), acl.clone(), limits)?;
    let keep = std::time::Duration::from_secs(args.web_data_keep_days.saturating_mul(24 * 3600));
    let pruner = {
        let sessions = sessions.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                sessions.prune(keep).await;
            }
        })
    };

    let mut web_url = None;
    let web_task = if let Some(front) = front {
        let iroh_addr = server.http_addr().context("iroh's HTTP address")?;
        web_url = Some(relay_url.clone());
        tokio::spawn(web::serve_front(
            front,
            iroh_addr,
            ui,
            sessions.clone(),
            args.public_url.clone(),
        ))
    } else if let Some(addr) = args.web_addr {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the web address {addr}"))?;
        web_url = Some(format!("http://{}", l.local_addr()?));
        tokio::spawn(web::serve_web_only(l, ui, sessions.clone(), args.public_url.clone()))
    } else {
        tokio::spawn(async {})
    };

    let ca_cert = args.self_signed.as_ref().map(|d| d.join(self_signed::CERT_FILE));
    println!(
        "{}",
        serde_json::json!({
            "relay_url": relay_url,
            "web_url": web_url,
            "admin_addr": admin.addr().to_string(),
            "ca_cert": ca_cert,
        })
    );
    tracing::info!(%relay_url, admin = %admin.addr(), web = ?web_url, "relay ready");

    let admin_task = tokio::spawn(admin.serve());
    wait_for_signal().await;
    tracing::info!("shutting down");
    admin_task.abort();
    web_task.abort();
    pruner.abort();
    sessions.shutdown().await;
    server.shutdown().await.ok();
    if let Some(d) = temp_web_data {
        let _ = std::fs::remove_dir_all(d);
    }
    Ok(())
}

/// Ctrl-C or SIGTERM (what test harnesses and service managers send).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    tokio::signal::ctrl_c().await.ok();
}
