//! `plugboard plugin …`: the author's and the operator's plugin commands.

use std::path::PathBuf;

use clap::Subcommand;
use plugboard_core::{
    marketplace::{
        author,
        browse::CatalogFile,
        catalog::{Catalog, CatalogIo},
        check::{self, CheckOptions},
        install::TrustPolicy,
        signing::PublicKey,
    },
    toolkit::scaffold::{scaffold, Sources},
    Runtime, RuntimeConfig,
};

use crate::output::say;

#[derive(Subcommand)]
pub(crate) enum PluginCommand {
    /// Makes a new plugin crate (outside any workspace) that builds and
    /// passes its own tests: Cargo.toml, plugin.json, src/lib.rs, tests on
    /// the test host, README with the next commands.
    New {
        /// The plugin's slug (lower-case letters, digits and single '-').
        slug: String,
        /// Where to make it (default: ./<slug>); must not exist.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// `minimal` (one route) or `full` (routes with access levels, KV,
        /// SQL with a migration, a subscription, a job, configuration, a
        /// widget).
        #[arg(long, default_value = "full")]
        template: String,
        /// Depend on plugin-api at this path (and on the test host beside
        /// it), besides its version. Default: the Plugboard sources this
        /// binary was built from, when they are still there.
        #[arg(long)]
        plugin_api_path: Option<PathBuf>,
    },
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
        /// The catalog the plugin is published in: the version must be
        /// newer than every version it lists.
        #[arg(long)]
        catalog: Option<PathBuf>,
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
        /// The catalog the plugin is published in: the version must be
        /// newer than every version it lists.
        #[arg(long)]
        catalog: Option<PathBuf>,
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

pub(crate) async fn run(cmd: PluginCommand) -> anyhow::Result<()> {
    match cmd {
        PluginCommand::New {
            slug,
            dir,
            template,
            plugin_api_path,
        } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&slug));
            let sources = match &plugin_api_path {
                Some(p) => Sources::with_plugin_api(&std::path::absolute(p)?),
                None => Sources::of_this_build(),
            };
            let files = scaffold(&slug, &dir, template.parse()?, &sources)?;
            say!("made {} ({} files):", dir.display(), files.len());
            for f in &files {
                say!("  {}", f.strip_prefix(&dir).unwrap_or(f).display());
            }
            say!("next: cd {} && cargo test", dir.display());
            Ok(())
        }
        PluginCommand::Check {
            path,
            library,
            json,
            catalog,
        } => {
            let published = catalog.as_deref().map(Catalog::read).transpose()?;
            let inspector = plugboard_core::inspect::Inspector::default();
            let options = CheckOptions {
                library: library.as_deref(),
                published: published.as_ref(),
            };
            let report = check::check(&inspector, &path, options);
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
            catalog,
        } => {
            let published = catalog.as_deref().map(Catalog::read).transpose()?;
            let library = match library {
                Some(l) => l,
                None => author::build(&crate_dir)?,
            };
            let inspector = plugboard_core::inspect::Inspector::default();
            let options = CheckOptions {
                library: Some(&library),
                published: published.as_ref(),
            };
            let report = check::check(&inspector, &crate_dir, options);
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
                // The command line installs what the manifest asks for
                // (its operator runs it knowingly, like `apt -y`).
                asks: None,
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
