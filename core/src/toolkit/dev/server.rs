//! The development server `plugboard dev` talks to: the one it runs
//! in-process (`plugboard serve` on a data folder of the crate's own) or
//! one it attaches to (`--server URL --token T`). Either way, only through
//! the admin API, as
//! an operator's tools would: the dev catalog is a catalog source, the dev
//! key a trusted key, and each build is installed through the marketplace's
//! update path (verification, load check, hot reload with drain).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::toolkit::admin_client::{AdminClient, AdminError};

/// Why the server could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// An admin call failed.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// Not a server on this machine.
    #[error("{0} is not a loopback address: plugboard dev installs from files on this machine and makes the server trust its development key, so it attaches only to a server here (127.0.0.1, ::1, localhost)")]
    NotLoopback(String),
    /// The install job failed: the server's reason.
    #[error("the server refused the build: {0}")]
    Refused(String),
}

/// A development server.
pub struct DevServer {
    client: AdminClient,
}

impl DevServer {
    /// A server already running at `base` (`http://host:port`), with its
    /// admin token. Only a loopback address is accepted: the server reads
    /// the development catalog from this machine's disk, and will trust the
    /// development key.
    pub fn attach(base: &str, token: &str) -> Result<DevServer, ServerError> {
        let host = base
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default();
        let host = host
            .rsplit_once(':')
            .map_or(host, |(h, port)| {
                if port.chars().all(|c| c.is_ascii_digit()) {
                    h
                } else {
                    host
                }
            })
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(ServerError::NotLoopback(base.to_string()));
        }
        let server = DevServer {
            client: AdminClient::new(base, token),
        };
        server.api("GET", "/api/admin/plugins", None)?;
        Ok(server)
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        self.client.base()
    }

    /// One admin API call: the JSON answer, or the server's error.
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, ServerError> {
        Ok(self.client.call(method, path, body)?)
    }

    /// Trusts `public_key` and lists the catalog at `catalog` as a source
    /// (each once).
    pub fn prepare(&self, public_key: &str, catalog: &Path) -> Result<(), ServerError> {
        let keys = self.api("GET", "/api/admin/trusted-keys", None)?;
        let known = keys["keys"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k["public_key"] == public_key));
        if !known {
            self.api(
                "POST",
                "/api/admin/trusted-keys",
                Some(json!({ "public_key": public_key, "name": "plugboard dev" })),
            )?;
        }
        let location = catalog.display().to_string();
        let sources = self.api("GET", "/api/admin/catalog/sources", None)?;
        let listed = sources["sources"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["location"] == location.as_str()));
        if !listed {
            self.api(
                "POST",
                "/api/admin/catalog/sources",
                Some(json!({ "location": location })),
            )?;
        }
        Ok(())
    }

    /// Installs (first time) or hot-reloads `slug` at `version` from the
    /// catalog, enabled, and waits for the install job's end; how long the
    /// server took.
    pub fn publish(&self, slug: &str, version: &str) -> Result<Duration, ServerError> {
        let started = Instant::now();
        self.api("POST", "/api/admin/catalog/sync", None)?;
        let job = self.api(
            "POST",
            "/api/admin/plugins/install",
            Some(json!({ "slug": slug, "version": version, "enable": true, "downgrade": true })),
        )?;
        let id = job["id"]
            .as_u64()
            .ok_or_else(|| ServerError::Refused(format!("no install id in {job}")))?;
        loop {
            let job = self.api("GET", &format!("/api/admin/installs/{id}"), None)?;
            match job["stage"]
                .as_str()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("done") => return Ok(started.elapsed()),
                Some("failed") => {
                    return Err(ServerError::Refused(
                        job["error"]
                            .as_str()
                            .unwrap_or("no reason given")
                            .to_string(),
                    ))
                }
                _ => {}
            }
            if started.elapsed() > Duration::from_secs(300) {
                return Err(ServerError::Refused(format!(
                    "install {id} did not end within 300 s"
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The plugin as the admin API shows it.
    pub fn plugin(&self, slug: &str) -> Result<Value, ServerError> {
        self.api("GET", &format!("/api/admin/plugins/{slug}"), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_server_on_this_machine_is_attached_to() {
        // Addresses that read as local to a hasty eye and are not: user
        // info before the host, a look-alike name, a port-less trick.
        for hostile in [
            "http://127.0.0.1@evil.example/",
            "http://localhost:80@evil.example",
            "http://localhost.evil.example:8080",
            "http://evil.example/127.0.0.1",
            "http://10.0.0.5:8080",
            "127.0.0.1:8080",
        ] {
            match DevServer::attach(hostile, "token") {
                Err(ServerError::NotLoopback(_)) => {}
                Err(other) => panic!("{hostile}: refused for another reason: {other}"),
                Ok(_) => panic!("{hostile}: attached"),
            }
        }
        // A loopback address passes the check (and then finds no server).
        for local in [
            "http://127.0.0.1:9",
            "http://[::1]:9",
            "http://localhost:9/",
        ] {
            assert!(
                matches!(
                    DevServer::attach(local, "token"),
                    Err(ServerError::Admin(_))
                ),
                "{local}"
            );
        }
    }
}
