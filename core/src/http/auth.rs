//! The admin bearer token: from `PLUGBOARD_ADMIN_TOKEN`, or generated on the
//! first start into `<data-dir>/admin-token` (mode 0600).

use std::path::Path;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use plugboard_frontend_manifest::Role;

use super::error::ApiError;
use crate::auth::Session;

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
        let token = crate::auth::random_hex(24);
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

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "plugboard_session";

/// The value of cookie `name` in the request.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Who is calling: the bearer token (an admin script) or a signed-in
/// session. For a session, a request that changes state must come from the
/// same origin and echo the session's CSRF token in `X-CSRF-Token`.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The admin bearer token.
    Token,
    /// A browser session.
    Session(Session),
}

impl Caller {
    /// The caller's role.
    pub fn role(&self) -> Role {
        match self {
            Caller::Token => Role::Admin,
            Caller::Session(s) => s.role,
        }
    }
    /// The caller's name (`token` for the bearer token).
    pub fn name(&self) -> &str {
        match self {
            Caller::Token => "token",
            Caller::Session(s) => &s.username,
        }
    }
    /// How audit rows name the caller: `admin token`, or
    /// `account {id} ({username})` (unambiguous even for an account named
    /// like a system actor).
    pub fn actor(&self) -> String {
        match self {
            Caller::Token => "admin token".to_string(),
            Caller::Session(s) => format!("account {} ({})", s.account_id, s.username),
        }
    }
    /// The caller as hook and event payloads name it:
    /// `{"id", "username", "role"}` (`id` is null for the admin token).
    pub fn actor_json(&self) -> serde_json::Value {
        match self {
            Caller::Token => {
                serde_json::json!({ "id": null, "username": "admin token", "role": "admin" })
            }
            Caller::Session(s) => serde_json::json!({
                "id": s.account_id, "username": s.username, "role": s.role.as_str()
            }),
        }
    }
    /// The caller as a plugin route sees it, holding the permissions among
    /// `declared` that its role was granted for `plugin` (admins hold all).
    pub fn for_plugin(
        &self,
        grants: &crate::access::Grants,
        plugin: &str,
        declared: &[crate::access::PermissionDecl],
    ) -> plugboard_plugin_api::Caller {
        match self {
            Caller::Token => plugboard_plugin_api::Caller::Token,
            Caller::Session(s) => {
                plugboard_plugin_api::Caller::Account(plugboard_plugin_api::CallerAccount {
                    id: s.account_id,
                    username: s.username.clone(),
                    role: s.role.as_str().to_string(),
                    permissions: grants.held(plugin, s.role.as_str(), declared),
                })
            }
        }
    }
}

fn unsafe_method(req: &HttpRequest) -> bool {
    !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS")
}

/// Checks a session's request against CSRF: same origin (when the browser
/// says where it comes from) and the echoed token.
fn csrf_ok(
    req: &HttpRequest,
    session: &Session,
    public_origin: Option<&str>,
) -> Result<(), ApiError> {
    if !unsafe_method(req) {
        return Ok(());
    }
    let host = req.connection_info().host().to_string();
    if let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) {
        let origin_host = origin.split("://").nth(1).unwrap_or(origin);
        let same = match public_origin {
            // Behind a proxy: the origin the operator named, exactly.
            Some(public) => origin.eq_ignore_ascii_case(public),
            None => origin_host == host,
        };
        if !same {
            return Err(ApiError::forbidden(
                "csrf_failed",
                format!("cross-origin request from {origin} refused"),
            ));
        }
    }
    let given = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let want = session.csrf_token.as_bytes();
    let same = want.len() == given.len()
        && want
            .iter()
            .zip(given.as_bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "csrf_failed",
            "missing or wrong X-CSRF-Token header",
        ))
    }
}

/// What the request's credentials come to.
enum Credentials {
    /// Neither a bearer token nor a session cookie.
    None,
    /// A session cookie for a session that has ended (or never existed).
    Ended,
    /// Someone.
    Caller(Caller),
}

/// Reads the bearer token or the session cookie. A wrong token is refused;
/// a live session must pass the CSRF checks, and one that must change its
/// password may only reach `/api/auth/*`.
async fn credentials(req: &HttpRequest) -> Result<Credentials, ApiError> {
    let Some(token) = req.app_data::<web::Data<AdminToken>>() else {
        return Err(ApiError::internal("admin token not configured"));
    };
    if let Some(given) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return if token.matches(given.trim()) {
            Ok(Credentials::Caller(Caller::Token))
        } else {
            Err(ApiError::unauthorized("wrong admin token"))
        };
    }
    let Some(value) = cookie(req, SESSION_COOKIE) else {
        return Ok(Credentials::None);
    };
    let accounts = req
        .app_data::<web::Data<crate::auth::Auth>>()
        .ok_or_else(|| ApiError::internal("accounts not configured"))?;
    let Some(session) = accounts.session(&value).await? else {
        return Ok(Credentials::Ended);
    };
    csrf_ok(req, &session, accounts.public_origin())?;
    if session.must_change_password && !req.path().starts_with("/api/auth/") {
        return Err(ApiError::forbidden(
            "password_change_required",
            "choose a new password first (POST /api/auth/password)",
        ));
    }
    Ok(Credentials::Caller(Caller::Session(session)))
}

async fn caller(req: HttpRequest) -> Result<Caller, ApiError> {
    match credentials(&req).await? {
        Credentials::Caller(c) => Ok(c),
        Credentials::None => Err(ApiError::unauthorized(
            "sign in (session cookie) or send Authorization: Bearer …",
        )),
        Credentials::Ended => Err(ApiError::unauthorized(
            "the session has ended; sign in again",
        )),
    }
}

/// Who is calling, where nobody is a valid answer (plugin routes decide by
/// their access level): `None` without credentials or with a session that
/// has ended. A wrong bearer token, a failed CSRF check or a session that
/// must change its password are still errors.
pub async fn optional_caller(req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    Ok(match credentials(req).await? {
        Credentials::Caller(c) => Some(c),
        Credentials::None | Credentials::Ended => None,
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(caller(req.clone()))
    }
}

/// Proof that the caller is an admin (bearer token, or an admin's session
/// passing the CSRF checks); an extractor.
pub struct Admin(pub Caller);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Admin, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let c = caller(req).await?;
            if c.role() == Role::Admin {
                Ok(Admin(c))
            } else {
                Err(ApiError::forbidden(
                    "forbidden",
                    format!("{} is not an admin", c.name()),
                ))
            }
        })
    }
}
