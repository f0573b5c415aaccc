//! `plugboard dev`: a development server (in this process, or one attached
//! to) and the plugin crate watched; every save is built and hot-reloaded
//! (see `plugboard_core::toolkit::dev`).

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use plugboard_core::{
    inspect::Inspector,
    toolkit::dev::{server::DevServer, Outcome, Session},
};

use crate::{
    output::{note, say},
    serve::{self, ServeArgs},
};

/// The flags of `plugboard dev`.
#[derive(clap::Args)]
pub(crate) struct DevArgs {
    /// The plugin crate (with Cargo.toml and plugin.json).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where the development server listens (port 0: a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Use this running server (on this machine: a loopback address)
    /// instead of starting one. It installs from the development catalog in
    /// <crate>/target/plugboard-dev/, and keeps trusting the development
    /// key and listing that catalog after `dev` stops (remove them in its
    /// admin when done).
    #[arg(long, requires = "token")]
    server: Option<String>,
    /// The attached server's admin token.
    #[arg(long, env = "PLUGBOARD_ADMIN_TOKEN")]
    token: Option<String>,
    /// Build in the release profile (default: the dev profile, faster to
    /// build).
    #[arg(long)]
    release: bool,
}

pub(crate) async fn run(args: DevArgs) -> anyhow::Result<()> {
    let crate_dir = args
        .dir
        .canonicalize()
        .with_context(|| format!("{}", args.dir.display()))?;
    let inspector = Inspector::default();
    let Some(url) = args.server.clone() else {
        return run_with_own_server(args, crate_dir, inspector).await;
    };
    let token = args.token.clone().unwrap_or_default();
    let release = args.release;
    // Attached: nothing runs here but the loop.
    tokio::task::spawn_blocking(move || {
        let server = DevServer::attach(&url, &token)?;
        say!("attached to {url}");
        watch(Session::new(&crate_dir, server, inspector, release)?)
    })
    .await?
}

async fn run_with_own_server(
    args: DevArgs,
    crate_dir: PathBuf,
    inspector: Inspector,
) -> anyhow::Result<()> {
    let data_dir = Session::state_dir(&crate_dir).join("data");
    let serve_args = ServeArgs::for_dev(&data_dir, &args.bind)?;
    let (listening, ready) = tokio::sync::oneshot::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let mut server = Box::pin(serve::run_with(serve_args, Some(listening), Some(stopped)));
    let (addr, token) = tokio::select! {
        ready = ready => ready.context("the development server did not start")?,
        ended = &mut server => {
            ended?;
            anyhow::bail!("the development server stopped before listening");
        }
    };
    let release = args.release;
    let (done, finished) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = DevServer::attach(&format!("http://{addr}"), &token)
            .map_err(anyhow::Error::from)
            .and_then(|server| Session::new(&crate_dir, server, inspector, release))
            .and_then(watch);
        let _ = done.send(result);
    });
    tokio::select! {
        ended = &mut server => ended,
        result = finished => {
            let _ = stop.send(());
            server.await?;
            result.unwrap_or(Ok(()))
        }
    }
}

/// Builds and reloads now, then on every save, until the process stops.
fn watch(mut session: Session) -> anyhow::Result<()> {
    let base = session.server().base().to_string();
    say!("dev server: {base}  (admin: {base}/admin)");
    say!(
        "watching {} (Ctrl-C to stop)",
        session.crate_dir().display()
    );
    let mut seen = session.snapshot();
    report(session.cycle())?;
    loop {
        let changed = session.wait_for_change(&mut seen);
        let names: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
        say!("changed: {}", names.join(", "));
        report(session.cycle())?;
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn report(outcome: Outcome) -> anyhow::Result<()> {
    match outcome {
        Outcome::Reloaded {
            slug,
            version,
            build,
            prepare,
            reload,
            changes,
        } => {
            say!(
                "reloaded {slug} {version}: build {}, check and pack {}, reload {} (total {})",
                ms(build),
                ms(prepare),
                ms(reload),
                ms(build + prepare + reload)
            );
            for line in changes {
                say!("  {line}");
            }
        }
        Outcome::Unchanged { slug, version } => {
            say!("{slug} {version}: the server already runs this build");
        }
        Outcome::BuildFailed => {
            note!("build failed (above); the running version keeps serving");
        }
        Outcome::CheckFailed(problems) => {
            for p in problems {
                note!("  {p}");
            }
            note!("not reloaded: `plugin check` found problems; the running version keeps serving");
        }
        Outcome::Refused(why) => {
            note!("not reloaded: {why}; the running version keeps serving");
        }
    }
    Ok(())
}
