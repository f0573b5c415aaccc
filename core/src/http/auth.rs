//! The admin bearer token: from `PLUGBOARD_ADMIN_TOKEN`, or generated on the
//! first start into `<data-dir>/admin-token` (mode 0600).

use std::{
    future::{ready, Ready},
    path::Path,
};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::error::ApiError;

/// The token that admin requests must carry as `Authorization: Bearer …`.
#[derive(Clone)]
pub struct AdminToken(String);

/// Where the token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The environment.
    Environment,
    /// Read from the token file.
    File,
    /// Generated now (and written to the token file).
    Generated,
}

impl AdminToken {
    /// A token with this value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The token value.
    pub fn value(&self) -> &str {
        &self.0
    }

    /// The configured token: `env_value` if set, else the token file, else a
    /// new random token written to the file with mode 0600.
    pub fn load_or_create(
        data_dir: &Path,
        env_value: Option<String>,
    ) -> std::io::Result<(AdminToken, TokenSource)> {
        if let Some(v) = env_value.filter(|v| !v.is_empty()) {
            return Ok((AdminToken(v), TokenSource::Environment));
        }
        let path = data_dir.join("admin-token");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let t = existing.trim().to_string();
            if !t.is_empty() {
                return Ok((AdminToken(t), TokenSource::File));
            }
        }
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, &token)?;
        Ok((AdminToken(token), TokenSource::Generated))
    }

    fn matches(&self, given: &str) -> bool {
        // Constant-time with respect to the contents.
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Proof that the request carried the admin token; an extractor.
pub struct Admin;

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Admin, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(token) = req.app_data::<web::Data<AdminToken>>() else {
            return ready(Err(ApiError::internal("admin token not configured")));
        };
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        ready(match given {
            Some(g) if token.matches(g.trim()) => Ok(Admin),
            Some(_) => Err(ApiError::unauthorized("wrong admin token")),
            None => Err(ApiError::unauthorized(
                "missing bearer token (Authorization: Bearer …)",
            )),
        })
    }
}
