//! The `plugboard` binary.

use std::{net::TcpListener, path::PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use plugboard_core::{
    fault::FaultPolicy,
    http::{self, auth::TokenSource, AdminToken},
    marketplace::{
        author,
        browse::CatalogFile,
        catalog::Catalog,
        install::TrustPolicy,
        signing::{KeyPair, PublicKey},
    },
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
        /// A catalog source to make sure is configured (file path or URL); repeatable.
        #[arg(long = "catalog-source")]
        catalog_sources: Vec<String>,
        /// A publisher public key (hex) to make sure is trusted; repeatable.
        #[arg(long = "trusted-key")]
        trusted_keys: Vec<String>,
    },
    /// Publisher keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Packing, signing and installing plugin bundles.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Editing a catalog file.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Prints a JSON Schema: `manifest` (plugin.json), `catalog`,
    /// `ui-manifest` (GET /api/ui/manifest) or `ui-declaration` (the
    /// manifest's `ui` section).
    Schema {
        /// Which one.
        #[arg(value_parser = ["manifest", "catalog", "ui-manifest", "ui-declaration"])]
        what: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Generates an ed25519 signing key; prints its id and public key.
    New {
        /// Where to write the key file (JSON, mode 0600). Keep it private.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Builds the plugin crate (release) and writes its bundle; prints the sha256.
    Pack {
        /// The plugin crate (with Cargo.toml and plugin.json).
        crate_dir: PathBuf,
        /// Use this already-built library instead of running cargo.
        #[arg(long)]
        library: Option<PathBuf>,
        /// Output folder.
        #[arg(long, default_value = "dist")]
        out: PathBuf,
    },
    /// Signs a bundle; writes <bundle>.sig.
    Sign {
        /// The key file from `plugboard keys new`.
        #[arg(long)]
        key: PathBuf,
        /// The bundle.
        bundle: PathBuf,
    },
    /// Installs a plugin from a catalog into a data folder (server stopped).
    Install {
        /// The data folder.
        #[arg(long, env = "PLUGBOARD_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite file in the data folder).
        #[arg(long, env = "PLUGBOARD_DATABASE_URL")]
        database_url: Option<String>,
        /// The catalog file.
        #[arg(long)]
        catalog: PathBuf,
        /// A trusted publisher public key (hex); repeatable.
        #[arg(long = "trusted-key")]
        trusted_keys: Vec<String>,
        /// Accept unsigned bundles from this catalog.
        #[arg(long)]
        allow_unsigned: bool,
        /// Enable it once installed.
        #[arg(long)]
        enable: bool,
        /// The plugin.
        slug: String,
        /// A version (default: the newest).
        #[arg(long)]
        version: Option<String>,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Writes or updates the entry for a bundle (and its .sig) in a catalog file.
    Add {
        /// The catalog file (created if missing).
        #[arg(long)]
        catalog: PathBuf,
        /// The bundle.
        bundle: PathBuf,
        /// Download URL (default: the bundle's file name, next to the catalog).
        #[arg(long)]
        url: Option<String>,
        /// Author.
        #[arg(long, default_value = "")]
        author: String,
        /// Category.
        #[arg(long, default_value = "")]
        category: String,
        /// Tag; repeatable.
        #[arg(long = "tag")]
        tags: Vec<String>,
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
        Command::Keys(cmd) => keys(cmd),
        Command::Plugin(cmd) => plugin(cmd).await,
        Command::Catalog(cmd) => catalog(cmd),
        Command::Schema { what } => {
            let schema = match what.as_str() {
                "manifest" => plugboard_core::marketplace::schema::manifest(),
                "catalog" => plugboard_core::marketplace::schema::catalog(),
                "ui-manifest" => plugboard_frontend_manifest::manifest_schema(),
                _ => plugboard_frontend_manifest::declaration_schema(),
            };
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(())
        }
        Command::Serve {
            data_dir,
            bind,
            database_url,
            workers,
            max_panics,
            panic_window_secs,
            catalog_sources,
            trusted_keys,
        } => {
            let mut config = RuntimeConfig::new(data_dir.clone());
            config.database_url = database_url;
            config.fault_policy = FaultPolicy {
                max_panics: max_panics.max(1),
                window: std::time::Duration::from_secs(panic_window_secs),
            };
            let runtime = Runtime::start(config, plugboard_builtin_plugins::ALL)
                .await
                .context("starting the runtime")?;
            for p in runtime.problems() {
                eprintln!("plugin not loaded: {}", p.error);
            }
            for key in &trusted_keys {
                let key = PublicKey::parse(key).context("--trusted-key")?;
                runtime.marketplace().trust(&key, "command line").await?;
            }
            for location in &catalog_sources {
                runtime.marketplace().add(location, false).await?;
            }
            let (token, source) =
                AdminToken::load_or_create(&data_dir, std::env::var("PLUGBOARD_ADMIN_TOKEN").ok())
                    .context("preparing the admin token")?;
            let listener = TcpListener::bind(&bind).with_context(|| format!("binding {bind}"))?;
            let addr = listener.local_addr()?;
            println!("plugboard listening on http://{addr}");
            println!("admin in a browser: http://{addr}/admin");
            if let Some(password) = runtime
                .auth()
                .bootstrap(std::env::var("PLUGBOARD_ADMIN_PASSWORD").ok())
                .await
                .context("creating the first admin account")?
            {
                println!(
                    "first start: sign in as \"admin\" with the one-time password {password} (shown only now)"
                );
            }
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
            let stopping = runtime.clone();
            tokio::spawn(async move {
                stop_requested().await;
                stopping.stop_streams();
                handle.stop(true).await;
            });
            server.await?;
            runtime.shutdown().await;
            Ok(())
        }
    }
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

fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
    let KeysCommand::New { out } = cmd;
    if out.exists() {
        anyhow::bail!("{} exists; not overwriting a key", out.display());
    }
    let key = KeyPair::generate()?;
    write_private(&out, &(serde_json::to_string_pretty(&key)? + "\n"))?;
    println!("key id     {}", key.key_id);
    println!("public key {}", key.public_key);
    println!("written to {} (keep it private)", out.display());
    Ok(())
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())?;
    Ok(())
}

async fn plugin(cmd: PluginCommand) -> anyhow::Result<()> {
    match cmd {
        PluginCommand::Pack {
            crate_dir,
            library,
            out,
        } => {
            let packed = author::pack(&crate_dir, library.as_deref(), &out)?;
            println!("{}", packed.path.display());
            println!("sha256 {}", packed.sha256);
            Ok(())
        }
        PluginCommand::Sign { key, bundle } => {
            let sig = author::sign(&bundle, &key)?;
            println!("signed {} with key {}", bundle.display(), sig.key_id);
            println!("sha256 {}", sig.sha256);
            Ok(())
        }
        PluginCommand::Install {
            data_dir,
            database_url,
            catalog,
            trusted_keys,
            allow_unsigned,
            enable,
            slug,
            version,
        } => {
            let cat = Catalog::read(&catalog)?;
            let trust = TrustPolicy {
                keys: trusted_keys
                    .iter()
                    .map(|k| PublicKey::parse(k))
                    .collect::<Result<_, _>>()?,
                allow_unsigned,
            };
            let mut config = RuntimeConfig::new(&data_dir);
            config.database_url = database_url;
            let runtime = Runtime::start(config, plugboard_builtin_plugins::ALL).await?;
            let result = runtime
                .install_from_catalog(
                    CatalogFile {
                        catalog: &cat,
                        location: &catalog.display().to_string(),
                        trust: &trust,
                    },
                    &slug,
                    version.as_deref(),
                    enable,
                    "cli",
                )
                .await;
            let mut report = Vec::new();
            for step in result.as_deref().unwrap_or_default() {
                let slug = step.split(' ').next().unwrap_or_default();
                let state = match runtime.store().get(slug).await {
                    Ok(record) => record.state.as_str().to_string(),
                    Err(e) => e.to_string(),
                };
                let folder = data_dir.join("plugins").join(slug);
                report.push(format!(
                    "installed {step} ({state}) into {}",
                    folder.display()
                ));
            }
            runtime.shutdown().await;
            result?;
            for line in report {
                println!("{line}");
            }
            Ok(())
        }
    }
}

fn catalog(cmd: CatalogCommand) -> anyhow::Result<()> {
    let CatalogCommand::Add {
        catalog,
        bundle,
        url,
        author: who,
        category,
        tags,
    } = cmd;
    let entry = author::catalog_add(
        &catalog,
        &bundle,
        author::Listing {
            download_url: url,
            author: who,
            category,
            tags,
            icon_url: None,
        },
    )?;
    println!(
        "{} {} {} in {}",
        entry.slug,
        entry.version,
        if entry.signature.is_some() {
            "(signed)"
        } else {
            "(unsigned)"
        },
        catalog.display()
    );
    Ok(())
}
