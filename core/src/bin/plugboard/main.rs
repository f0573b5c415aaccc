//! The `plugboard` binary.

mod output;
mod serve;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use output::say;
use plugboard_core::{
    marketplace::{
        author,
        browse::CatalogFile,
        catalog::{Catalog, CatalogIo},
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
    Serve(serve::ServeArgs),
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
    /// Internal: opens a library and reports it as JSON (the install check
    /// runs it in a child process; see `plugboard_core::inspect`).
    #[command(name = "__inspect-library", hide = true)]
    InspectLibrary {
        /// Where to write the answer (a new file).
        #[arg(long)]
        answer: PathBuf,
        /// The library.
        #[arg(last = true)]
        library: PathBuf,
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
    /// Checks a plugin crate, folder or bundle for what a server would
    /// refuse (manifest, slug and version, capabilities the code needs, UI
    /// modules, panic = "abort"); lists every problem, exit code 1 if any.
    Check {
        /// The plugin crate or folder (with plugin.json), or a bundle.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Check this already-built library instead of building the crate.
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print the report as JSON (for tools).
        #[arg(long)]
        json: bool,
    },
    /// Builds the plugin crate (release), checks it (`plugin check`) and
    /// writes its bundle; prints the sha256. Refuses a plugin that fails
    /// the check.
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

fn main() -> ExitCode {
    // Logs go to standard error: standard output is the commands' result,
    // read by scripts and pipes.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::InspectLibrary { answer, library } = &cli.command {
        return plugboard_core::inspect::child_main(answer, library);
    }
    output::finish(run(cli))
}

#[actix_web::main]
async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
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
            say!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(())
        }
        Command::Serve(args) => serve::run(args).await,
        Command::InspectLibrary { library, .. } => {
            anyhow::bail!("{} is run before the runtime starts", library.display())
        }
    }
}

fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
    let KeysCommand::New { out } = cmd;
    if out.exists() {
        anyhow::bail!("{} exists; not overwriting a key", out.display());
    }
    let key = KeyPair::generate()?;
    write_private(&out, &(serde_json::to_string_pretty(&key)? + "\n"))?;
    say!("key id     {}", key.key_id);
    say!("public key {}", key.public_key);
    say!("written to {} (keep it private)", out.display());
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
        PluginCommand::Check {
            path,
            library,
            json,
        } => {
            let inspector = plugboard_core::inspect::Inspector::default();
            let report =
                plugboard_core::marketplace::check::check(&inspector, &path, library.as_deref());
            if json {
                say!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for p in &report.problems {
                    say!("{}: {}", p.code, p.message);
                }
            }
            let name = match (&report.slug, &report.version) {
                (Some(s), Some(v)) => format!("{s} {v}"),
                _ => path.display().to_string(),
            };
            if report.problems.is_empty() {
                if !json {
                    say!("{name}: no problem found");
                }
                Ok(())
            } else {
                anyhow::bail!("{name}: {} problem(s)", report.problems.len())
            }
        }
        PluginCommand::Pack {
            crate_dir,
            library,
            out,
        } => {
            let library = match library {
                Some(l) => l,
                None => author::build(&crate_dir)?,
            };
            let inspector = plugboard_core::inspect::Inspector::default();
            let report =
                plugboard_core::marketplace::check::check(&inspector, &crate_dir, Some(&library));
            if !report.problems.is_empty() {
                let list: Vec<String> = report
                    .problems
                    .iter()
                    .map(|p| format!("  {}: {}", p.code, p.message))
                    .collect();
                anyhow::bail!(
                    "not packed: `plugin check` found {} problem(s):\n{}",
                    report.problems.len(),
                    list.join("\n")
                );
            }
            let packed = author::pack(&crate_dir, Some(&library), &out)?;
            say!("{}", packed.path.display());
            say!("sha256 {}", packed.sha256);
            Ok(())
        }
        PluginCommand::Sign { key, bundle } => {
            let sig = author::sign(&bundle, &key)?;
            say!("signed {} with key {}", bundle.display(), sig.key_id);
            say!("sha256 {}", sig.sha256);
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
            let result = plugboard_core::marketplace::Marketplace::new(runtime.clone())
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
                let folder = runtime.config().plugins_dir().join(slug);
                report.push(format!(
                    "installed {step} ({state}) into {}",
                    folder.display()
                ));
            }
            runtime.shutdown().await;
            result?;
            for line in report {
                say!("{line}");
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
        &plugboard_core::inspect::Inspector::default(),
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
    say!(
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
