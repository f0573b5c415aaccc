//! `plugboard serve`: the runtime behind the HTTP server until a stop signal.

use std::{net::TcpListener, path::PathBuf, time::Duration};

use anyhow::Context as _;
use plugboard_core::{
    exec::CallLimits,
    fault::FaultPolicy,
    http::{self, auth::TokenSource, AdminToken},
    marketplace::signing::PublicKey,
    Runtime, RuntimeConfig,
};

use crate::output::{note, say};

/// The flags of `plugboard serve`.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Holds plugins/, the SQLite database and the admin token.
    #[arg(long, env = "PLUGBOARD_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Address to listen on (host:port; port 0 picks a free one).
    #[arg(long, env = "PLUGBOARD_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Database URL (default: SQLite file in the data folder).
    #[arg(long, env = "PLUGBOARD_DATABASE_URL")]
    database_url: Option<String>,
    /// HTTP worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Panics that move a plugin to Errored …
    #[arg(long, default_value_t = 5)]
    max_panics: u32,
    /// … within this many seconds.
    #[arg(long, default_value_t = 60)]
    panic_window_secs: u64,
    /// How long a plugin's route, hook, filter or event handler may run, in
    /// milliseconds, unless its manifest says otherwise.
    #[arg(long, default_value_t = 30_000)]
    call_deadline_ms: u64,
    /// How long a plugin's cron job may run, in seconds, unless its
    /// manifest says otherwise.
    #[arg(long, default_value_t = 600)]
    job_deadline_secs: u64,
    /// No plugin's manifest may ask for a longer deadline (seconds).
    #[arg(long, default_value_t = 900)]
    max_deadline_secs: u64,
    /// Calls one plugin may have running at once, unless its manifest says
    /// otherwise; more get 503.
    #[arg(long, default_value_t = 64)]
    plugin_capacity: u32,
    /// No plugin's manifest may ask for a larger capacity.
    #[arg(long, default_value_t = 1024)]
    max_plugin_capacity: u32,
    /// Past this many distinct library builds of one plugin mapped by the
    /// process (a library is never unmapped; reloading a build already
    /// mapped reuses it), a warning is logged and shown in the admin.
    #[arg(long, env = "PLUGBOARD_MAX_MAPPED_IMAGES", default_value_t = 8)]
    max_mapped_images: usize,
    /// Starts with no dynamic plugin loaded or enabled, leaving their
    /// recorded states as they are (when a plugin keeps taking the server
    /// down). Restart without it to bring them back.
    #[arg(long)]
    safe_mode: bool,
    /// Also serve `GET /metrics` on this address (host:port), without a
    /// token and nothing else; for a Prometheus scraper on a private
    /// network. Without it, `/metrics` on the main address takes the admin
    /// token.
    #[arg(long, env = "PLUGBOARD_METRICS_BIND")]
    metrics_bind: Option<String>,
    /// This replica's name among several on one PostgreSQL database
    /// (default: the host name). Stable across restarts, unique among the
    /// replicas running.
    #[arg(long, env = "PLUGBOARD_REPLICA")]
    replica: Option<String>,
    /// The origin browsers reach the admin at (`https://admin.example.com`)
    /// when a proxy or load balancer is in front: the CSRF check compares
    /// a browser's `Origin` with it instead of the request's `Host`.
    #[arg(long, env = "PLUGBOARD_PUBLIC_ORIGIN")]
    public_origin: Option<String>,
    /// The address of a proxy or load balancer in front (repeatable, or
    /// comma-separated in the variable): requests from it are counted by
    /// the sign-in limiter under the client its `X-Forwarded-For` names.
    #[arg(
        long = "trusted-proxy",
        env = "PLUGBOARD_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// A catalog source to make sure is configured (file path or URL); repeatable.
    #[arg(long = "catalog-source")]
    catalog_sources: Vec<String>,
    /// A publisher public key (hex) to make sure is trusted; repeatable.
    #[arg(long = "trusted-key")]
    trusted_keys: Vec<String>,
}

impl ServeArgs {
    /// The development server of `plugboard dev`: SQLite in `data_dir`,
    /// listening on `bind`, every other setting at its default. Settings
    /// that `serve` also reads from `PLUGBOARD_*` variables (a database
    /// URL, a replica name, a metrics address, proxies, an origin) are
    /// cleared: a shell set up for a real deployment must not make the dev
    /// server join it.
    pub(crate) fn for_dev(data_dir: &std::path::Path, bind: &str) -> anyhow::Result<ServeArgs> {
        #[derive(clap::Parser)]
        struct Line {
            #[command(flatten)]
            args: ServeArgs,
        }
        let mut args = <Line as clap::Parser>::try_parse_from([
            "serve".as_ref(),
            "--data-dir".as_ref(),
            data_dir.as_os_str(),
            "--bind".as_ref(),
            bind.as_ref(),
        ])?
        .args;
        args.database_url = None;
        args.replica = None;
        args.metrics_bind = None;
        args.public_origin = None;
        args.trusted_proxies = Vec::new();
        args.catalog_sources = Vec::new();
        args.trusted_keys = Vec::new();
        args.safe_mode = false;
        Ok(args)
    }
}

/// Told where the server listens, and its admin token, once it does.
pub(crate) type Listening = tokio::sync::oneshot::Sender<(std::net::SocketAddr, String)>;

/// Starts the runtime, serves until Ctrl-C or SIGTERM, and shuts the
/// runtime down, also when anything after its start fails (or standard
/// output is closed before the server runs).
pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    run_with(args, None, None).await
}

/// [`run`], telling `listening` where it listens, and also stopping when
/// `stop` fires (`plugboard dev` runs its server this way).
pub(crate) async fn run_with(
    args: ServeArgs,
    listening: Option<Listening>,
    stop: Option<tokio::sync::oneshot::Receiver<()>>,
) -> anyhow::Result<()> {
    let mut config = RuntimeConfig::new(args.data_dir.clone());
    config.database_url = args.database_url.clone();
    config.safe_mode = args.safe_mode;
    config.max_mapped_images = args.max_mapped_images;
    if let Some(name) = &args.replica {
        config.replica = plugboard_core::shared_state::Replica::named(name.clone());
    }
    let max_deadline = Duration::from_secs(args.max_deadline_secs.max(1));
    config.limits = CallLimits {
        deadline: Duration::from_millis(args.call_deadline_ms.max(1)).min(max_deadline),
        job_deadline: Duration::from_secs(args.job_deadline_secs.max(1)).min(max_deadline),
        lifecycle_deadline: CallLimits::default().lifecycle_deadline.min(max_deadline),
        max_deadline,
        capacity: args
            .plugin_capacity
            .clamp(1, args.max_plugin_capacity.max(1)),
        max_capacity: args.max_plugin_capacity.max(1),
    };
    config.fault_policy = FaultPolicy {
        max_panics: args.max_panics.max(1),
        window: std::time::Duration::from_secs(args.panic_window_secs),
    };
    let runtime = Runtime::start(config, plugboard_builtin_plugins::ALL)
        .await
        .context("starting the runtime")?;
    let result = serve(&runtime, &args, listening, stop).await;
    runtime.shutdown().await;
    result
}

async fn serve(
    runtime: &Runtime,
    args: &ServeArgs,
    listening: Option<Listening>,
    stop: Option<tokio::sync::oneshot::Receiver<()>>,
) -> anyhow::Result<()> {
    for p in runtime.problems() {
        note!("plugin not loaded: {}", p.error);
    }
    if args.safe_mode {
        note!("safe mode: no dynamic plugin was loaded; restart without --safe-mode to bring them back");
    }
    let services = plugboard_core::Services::new(runtime.clone());
    if let Some(origin) = &args.public_origin {
        services.accounts.set_public_origin(origin);
    }
    services
        .accounts
        .set_trusted_proxies(args.trusted_proxies.clone());
    for key in &args.trusted_keys {
        let key = PublicKey::parse(key).context("--trusted-key")?;
        services
            .marketplace
            .sources()
            .trust(&key, "command line")
            .await?;
    }
    for location in &args.catalog_sources {
        services.marketplace.sources().add(location, false).await?;
    }
    let data_dir = &args.data_dir;
    let (token, source) =
        AdminToken::load_or_create(data_dir, std::env::var("PLUGBOARD_ADMIN_TOKEN").ok())
            .context("preparing the admin token")?;
    let bind = &args.bind;
    let listener = TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
    let addr = listener.local_addr()?;
    say!("plugboard listening on http://{addr}");
    say!("admin in a browser: http://{addr}/admin");
    if let Some(password) =
        plugboard_core::users::bootstrap(runtime, std::env::var("PLUGBOARD_ADMIN_PASSWORD").ok())
            .await
            .context("creating the first admin account")?
    {
        say!(
            "first start: sign in as \"admin\" with the one-time password {password} (shown only now)"
        );
    }
    let token_file = data_dir.join("admin-token");
    match source {
        TokenSource::Generated => say!(
            "admin token (saved to {}): {}",
            token_file.display(),
            token.value()
        ),
        TokenSource::File => say!("admin token: see {}", token_file.display()),
        TokenSource::Environment => say!("admin token: from PLUGBOARD_ADMIN_TOKEN"),
    }
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let metrics = match &args.metrics_bind {
        Some(bind) => {
            let listener = TcpListener::bind(bind)
                .with_context(|| format!("binding --metrics-bind {bind}"))?;
            say!(
                "metrics (no token): http://{}/metrics",
                listener.local_addr()?
            );
            Some(http::metrics::metrics_server(runtime.clone(), listener)?)
        }
        None => None,
    };
    let cluster = plugboard_core::cluster::Cluster::start(
        runtime,
        &services.marketplace,
        Some(format!("http://{addr}")),
    )
    .await
    .context("joining the other replicas")?;
    if cluster.is_some() {
        say!(
            "replica {:?}: following the other replicas on this database",
            runtime.replica().name
        );
    }
    let token_value = token.value().to_string();
    let server = http::server(services, token, listener, workers)?;
    if let Some(tell) = listening {
        let _ = tell.send((addr, token_value));
    }
    let handle = server.handle();
    let metrics_handle = metrics.as_ref().map(|m| m.handle());
    let stopping = runtime.clone();
    tokio::spawn(async move {
        match stop {
            Some(stop) => {
                tokio::select! {
                    _ = stop_requested() => {}
                    _ = stop => {}
                }
            }
            None => stop_requested().await,
        }
        stopping.stop_streams();
        if let Some(m) = metrics_handle {
            m.stop(true).await;
        }
        handle.stop(true).await;
    });
    if let Some(m) = metrics {
        tokio::spawn(m);
    }
    server.await?;
    if let Some(cluster) = cluster {
        cluster.leave().await;
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM (how service managers and containers stop a process).
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
