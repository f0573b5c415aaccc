//! The `plugboard` binary.

use std::{net::TcpListener, path::PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use plugboard_core::{
    fault::FaultPolicy,
    http::{self, auth::TokenSource, AdminToken},
    Runtime, RuntimeConfig,
};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "plugboard",
    version,
    about = "An in-process plugin platform for web apps"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server: built-in plugins plus every plugin in <data-dir>/plugins.
    Serve {
        /// Holds plugins/, the SQLite database and the admin token.
        #[arg(long, env = "PLUGBOARD_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        /// Address to listen on.
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
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            data_dir,
            bind,
            database_url,
            workers,
            max_panics,
            panic_window_secs,
        } => {
            let config = RuntimeConfig {
                data_dir: data_dir.clone(),
                database_url,
                fault_policy: FaultPolicy {
                    max_panics: max_panics.max(1),
                    window: std::time::Duration::from_secs(panic_window_secs),
                },
            };
            let runtime = Runtime::start(config, plugboard_builtin_plugins::ALL)
                .await
                .context("starting the runtime")?;
            for p in runtime.problems() {
                eprintln!("plugin not loaded: {}", p.error);
            }
            let (token, source) =
                AdminToken::load_or_create(&data_dir, std::env::var("PLUGBOARD_ADMIN_TOKEN").ok())
                    .context("preparing the admin token")?;
            let listener = TcpListener::bind(&bind).with_context(|| format!("binding {bind}"))?;
            let addr = listener.local_addr()?;
            println!("plugboard listening on http://{addr}");
            match source {
                TokenSource::Generated => println!(
                    "admin token (saved to {}): {}",
                    data_dir.join("admin-token").display(),
                    token.value()
                ),
                TokenSource::File => println!(
                    "admin token: see {}",
                    data_dir.join("admin-token").display()
                ),
                TokenSource::Environment => println!("admin token: from PLUGBOARD_ADMIN_TOKEN"),
            }
            let workers = workers.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            });
            let server = http::server(runtime.clone(), token, listener, workers)?;
            let handle = server.handle();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                handle.stop(true).await;
            });
            server.await?;
            runtime.shutdown().await;
            Ok(())
        }
    }
}
