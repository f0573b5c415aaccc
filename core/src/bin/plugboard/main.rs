//! The `plugboard` binary.

mod dev;
mod output;
mod plugin;
mod serve;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use output::say;
use plugboard_core::marketplace::{author, catalog::Screenshot, signing::KeyPair};
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
    /// The plugin author's loop: a development server, and on every save
    /// of the plugin crate a build, `plugin check` and a hot reload through
    /// the marketplace's update path.
    Dev(dev::DevArgs),
    /// Publisher keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Packing, signing and installing plugin bundles.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
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
        /// Icon: a URL, or a path relative to the catalog.
        #[arg(long)]
        icon: Option<String>,
        /// Screenshot as `URL` or `URL=caption` (URL may be relative to the
        /// catalog); repeatable.
        #[arg(long = "screenshot")]
        screenshots: Vec<String>,
        /// Web site.
        #[arg(long)]
        homepage: Option<String>,
        /// Licence (an SPDX expression).
        #[arg(long)]
        license: Option<String>,
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
        Command::Plugin(cmd) => plugin::run(cmd).await,
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
        Command::Dev(args) => dev::run(args).await,
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

fn catalog(cmd: CatalogCommand) -> anyhow::Result<()> {
    let CatalogCommand::Add {
        catalog,
        bundle,
        url,
        author: who,
        category,
        tags,
        icon,
        screenshots,
        homepage,
        license,
    } = cmd;
    let screenshots = screenshots
        .into_iter()
        .map(|s| match s.split_once('=') {
            Some((url, caption)) => Screenshot {
                url: url.to_string(),
                caption: caption.to_string(),
            },
            None => Screenshot {
                url: s,
                caption: String::new(),
            },
        })
        .collect();
    let entry = author::catalog_add(
        &plugboard_core::inspect::Inspector::default(),
        &catalog,
        &bundle,
        author::Listing {
            download_url: url,
            author: who,
            category,
            tags,
            icon_url: icon,
            screenshots,
            homepage,
            license,
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
