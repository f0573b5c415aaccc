//! Sign-in for the browser admin: accounts with a role and an argon2
//! password hash, sessions (the browser holds a random token in an
//! `HttpOnly` cookie; the database holds its SHA-256 and a CSRF token), and
//! a [`limiter`] that counts each attempt before its password is verified
//! and bounds how many verifications run at once.
//!
//! The first start creates the account `admin` with the password from
//! `PLUGBOARD_ADMIN_PASSWORD`, or a generated one printed once.

pub mod limiter;
pub mod password;

use std::time::Duration;

use chrono::{DateTime, Utc};
use plugboard_frontend_manifest::Role;
use sea_orm::{
    sea_query::{Expr, ExprTrait, JoinType, Order, Query},
    ConnectionTrait, DatabaseConnection, DbErr, Statement, StatementBuilder,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
pub use limiter::{Limiter, Refusal};
pub use password::hash_password;
use password::verify_password;

/// An account as shown to admins (never its hash).
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub username: String,
    /// Its role.
    pub role: Role,
}

/// A signed-in session.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// Whose: the account's id.
    pub account_id: i64,
    /// Whose: the account's name.
    pub username: String,
    /// Their role.
    pub role: Role,
    /// The token state-changing requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The account still has its generated first password: until it is
    /// changed, the session may only change it or sign out.
    pub must_change_password: bool,
}

/// Why a sign-in or an account change failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user or wrong password (not told apart).
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failures: wait this many seconds.
    #[error("too many failed sign-ins; try again in {0} s")]
    Throttled(u64),
    /// Too many sign-ins at once: retry after this many seconds.
    #[error("too many sign-ins at once; try again in {0} s")]
    Busy(u64),
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The name is taken.
    #[error("account {0:?} already exists")]
    Exists(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl From<Refusal> for AuthError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Throttled(secs) => AuthError::Throttled(secs),
            Refusal::Busy(secs) => AuthError::Busy(secs),
        }
    }
}

/// Accounts, sessions and the sign-in limiter.
pub struct Auth {
    conn: DatabaseConnection,
    limiter: Limiter,
    /// The origin browsers use (`https://admin.example.com`), when the
    /// server sits behind a proxy that rewrites the `Host` header.
    public_origin: std::sync::OnceLock<String>,
    /// Proxies (load balancers) whose `X-Forwarded-For` names the client.
    trusted_proxies: std::sync::OnceLock<Vec<std::net::IpAddr>>,
}

/// `n` random bytes from the OS, as hex.
pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < 8 {
        Err(AuthError::Invalid(
            "a password has at least 8 characters".into(),
        ))
    } else {
        Ok(())
    }
}

impl Auth {
    /// Over `conn`, with a limiter sized for this machine.
    pub fn new(conn: DatabaseConnection) -> Self {
        let limiter = Limiter::for_this_machine();
        if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // Several replicas may share this database: so do the counts.
            limiter.share(conn.clone());
        }
        Self::with_limiter(conn, limiter)
    }

    /// Over `conn`, with `limiter`.
    pub fn with_limiter(conn: DatabaseConnection, limiter: Limiter) -> Self {
        Self {
            conn,
            limiter,
            public_origin: Default::default(),
            trusted_proxies: Default::default(),
        }
    }

    /// Trusts `proxies` (their addresses) to name the client in
    /// `X-Forwarded-For`: behind a load balancer every request comes from
    /// it, and the sign-in limiter must count the real clients. Set once.
    pub fn set_trusted_proxies(&self, proxies: Vec<std::net::IpAddr>) -> bool {
        self.trusted_proxies.set(proxies).is_ok()
    }

    /// The client of a request from `peer` carrying `forwarded_for` (the
    /// `X-Forwarded-For` values, in order): `peer` itself unless it is a
    /// trusted proxy; then the rightmost address that is not a trusted
    /// proxy (the left part is written by the client and proves nothing).
    ///
    /// ```
    /// use plugboard_core::auth::Auth;
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// # let conn = rt.block_on(sea_orm::Database::connect("sqlite::memory:")).unwrap();
    /// let auth = Auth::new(conn);
    /// auth.set_trusted_proxies(vec!["10.0.0.2".parse().unwrap()]);
    /// let peer = "10.0.0.2".parse().unwrap();
    /// assert_eq!(auth.client_of(peer, &["6.6.6.6, 203.0.113.9"]), "203.0.113.9");
    /// assert_eq!(auth.client_of("203.0.113.7".parse().unwrap(), &["1.2.3.4"]), "203.0.113.7");
    /// ```
    pub fn client_of(&self, peer: std::net::IpAddr, forwarded_for: &[&str]) -> String {
        let trusted = self.trusted_proxies.get().map(Vec::as_slice).unwrap_or(&[]);
        if !trusted.contains(&peer) {
            return peer.to_string();
        }
        let hops: Vec<&str> = forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            match hop.parse::<std::net::IpAddr>() {
                Ok(ip) if trusted.contains(&ip) => continue,
                Ok(ip) => return ip.to_string(),
                Err(_) => break,
            }
        }
        peer.to_string()
    }

    /// Sets the public origin (`scheme://host[:port]`) the CSRF check
    /// compares a browser's `Origin` with, instead of the request's host
    /// (behind a proxy). Set once; `false` if it was set already.
    pub fn set_public_origin(&self, origin: &str) -> bool {
        self.public_origin
            .set(origin.trim_end_matches('/').to_string())
            .is_ok()
    }

    /// The public origin, when set.
    pub fn public_origin(&self) -> Option<&str> {
        self.public_origin.get().map(String::as_str)
    }

    /// The sign-in limiter (for its counters).
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// `query` with this database's placeholders, every value bound.
    fn build(&self, query: &impl StatementBuilder) -> Statement {
        self.conn.get_database_backend().build(query)
    }

    async fn exec(&self, statement: &impl StatementBuilder) -> Result<u64, DbErr> {
        Ok(self
            .conn
            .execute_raw(self.build(statement))
            .await?
            .rows_affected())
    }

    /// Every account.
    pub async fn accounts(&self) -> Result<Vec<Account>, DbErr> {
        let rows = self
            .conn
            .query_all_raw(
                self.build(
                    Query::select()
                        .columns(["id", "username", "role"])
                        .from("accounts")
                        .order_by("id", Order::Asc),
                ),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("", "role")?;
                Ok(Account {
                    id: r.try_get("", "id")?,
                    username: r.try_get("", "username")?,
                    role: Role::parse(&role).unwrap_or(Role::User),
                })
            })
            .collect()
    }

    /// Hashes `password` for a new account created by `client` itself
    /// (self-registration) under the limiter's bound: counted like a failed
    /// sign-in of `username` from `client`, in a verification slot.
    pub async fn hash_limited(
        &self,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<String, AuthError> {
        let mut attempt = self.limiter.begin(username, client).await?;
        let mut slot = attempt.slot();
        let pw = password.to_string();
        tokio::task::spawn_blocking(move || password::hash_password_in(&pw, slot.memory()))
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))?
    }

    /// Signs `username` in; `client` identifies the caller for the limiter
    /// (its address). Returns the session token (for the cookie) and the
    /// session.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<(String, Session), AuthError> {
        // Counted as a failure before anything is verified.
        let mut attempt = self.limiter.begin(username, client).await?;
        let row = self
            .conn
            .query_one_raw(
                self.build(
                    Query::select()
                        .columns(["id", "password_hash", "role", "must_change_password"])
                        .from("accounts")
                        .and_where(Expr::col("username").eq(username)),
                ),
            )
            .await?;
        let found = match &row {
            Some(r) => Some((
                r.try_get::<i64>("", "id")?,
                r.try_get::<String>("", "password_hash")?,
                r.try_get::<String>("", "role")?,
                r.try_get::<bool>("", "must_change_password")?,
            )),
            None => None,
        };
        // Verify against a real hash even for unknown users, so timing does
        // not tell which names exist.
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        // An account without a password (empty hash) cannot sign in.
        let found = found.filter(|f| !f.1.is_empty());
        let phc = match found.as_ref() {
            Some(f) => f.1.clone(),
            None => DUMMY
                .get_or_init(|| hash_password("no such account").unwrap_or_default())
                .clone(),
        };
        let pw = password.to_string();
        // The slot moves into the blocking task: it is held until the
        // verification ends, even if the request goes away first.
        let mut slot = attempt.slot();
        let ok = tokio::task::spawn_blocking(move || {
            password::verify_password_in(&pw, &phc, slot.memory())
        })
        .await
        .unwrap_or(false);
        let Some((account_id, _, role, must_change_password)) = found.filter(|_| ok) else {
            return Err(AuthError::BadCredentials);
        };
        attempt.succeeded();
        self.insert_session(account_id, username, &role, must_change_password)
            .await
    }

    /// Opens a session for account `account_id` with no password check:
    /// for a caller that authenticated the account another way (the test
    /// host signs its accounts in with it). `None`: no such account.
    pub async fn open_session(
        &self,
        account_id: i64,
    ) -> Result<Option<(String, Session)>, AuthError> {
        let row = self
            .conn
            .query_one_raw(
                self.build(
                    Query::select()
                        .columns(["username", "role", "must_change_password"])
                        .from("accounts")
                        .and_where(Expr::col("id").eq(account_id)),
                ),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let username: String = row.try_get("", "username")?;
        let role: String = row.try_get("", "role")?;
        let must_change: bool = row.try_get("", "must_change_password")?;
        self.insert_session(account_id, &username, &role, must_change)
            .await
            .map(Some)
    }

    async fn insert_session(
        &self,
        account_id: i64,
        username: &str,
        role: &str,
        must_change_password: bool,
    ) -> Result<(String, Session), AuthError> {
        let token = random_hex(32);
        let csrf = random_hex(16);
        let expires_at = Utc::now()
            + chrono::Duration::from_std(SESSION_TTL).unwrap_or(chrono::Duration::hours(12));
        self.exec(
            Query::insert()
                .into_table("sessions")
                .columns([
                    "token_hash",
                    "account_id",
                    "csrf",
                    "created_at",
                    "expires_at",
                ])
                .values_panic([
                    token_hash(&token).into(),
                    account_id.into(),
                    csrf.clone().into(),
                    Utc::now().into(),
                    expires_at.into(),
                ]),
        )
        .await?;
        Ok((
            token,
            Session {
                account_id,
                username: username.to_string(),
                role: Role::parse(role).unwrap_or(Role::User),
                csrf_token: csrf,
                expires_at,
                must_change_password,
            },
        ))
    }

    /// The live session for `token`.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, DbErr> {
        let row = self
            .conn
            .query_one_raw(
                self.build(
                    Query::select()
                        .columns([
                            ("a", "id"),
                            ("a", "username"),
                            ("a", "role"),
                            ("a", "must_change_password"),
                            ("s", "csrf"),
                            ("s", "expires_at"),
                        ])
                        .from_as("sessions", "s")
                        .join_as(
                            JoinType::InnerJoin,
                            "accounts",
                            "a",
                            Expr::col(("a", "id")).equals(("s", "account_id")),
                        )
                        .and_where(Expr::col(("s", "token_hash")).eq(token_hash(token))),
                ),
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        let expires_at: DateTime<Utc> = r.try_get("", "expires_at")?;
        if expires_at <= Utc::now() {
            self.logout(token).await?;
            return Ok(None);
        }
        let role: String = r.try_get("", "role")?;
        Ok(Some(Session {
            account_id: r.try_get("", "id")?,
            username: r.try_get("", "username")?,
            role: Role::parse(&role).unwrap_or(Role::User),
            csrf_token: r.try_get("", "csrf")?,
            expires_at,
            must_change_password: r.try_get("", "must_change_password")?,
        }))
    }

    /// Changes `username`'s password after checking the current one; clears
    /// the must-change flag.
    pub async fn change_password(
        &self,
        username: &str,
        current: &str,
        new: &str,
    ) -> Result<(), AuthError> {
        check_password(new)?;
        if new == current {
            return Err(AuthError::Invalid(
                "the new password must differ from the current one".into(),
            ));
        }
        let row = self
            .conn
            .query_one_raw(
                self.build(
                    Query::select()
                        .column("password_hash")
                        .from("accounts")
                        .and_where(Expr::col("username").eq(username)),
                ),
            )
            .await?
            .ok_or(AuthError::BadCredentials)?;
        let phc: String = row.try_get("", "password_hash")?;
        let (cur, new_pw) = (current.to_string(), new.to_string());
        let hash = tokio::task::spawn_blocking(move || {
            if verify_password(&cur, &phc) {
                hash_password(&new_pw).map(Some)
            } else {
                Ok(None)
            }
        })
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))??
        .ok_or(AuthError::BadCredentials)?;
        self.exec(
            Query::update()
                .table("accounts")
                .values([
                    ("password_hash", hash.into()),
                    ("must_change_password", false.into()),
                ])
                .and_where(Expr::col("username").eq(username)),
        )
        .await?;
        Ok(())
    }

    /// Ends every session of account `account_id`; how many there were.
    pub async fn end_sessions(&self, account_id: i64) -> Result<u64, DbErr> {
        self.exec(
            Query::delete()
                .from_table("sessions")
                .and_where(Expr::col("account_id").eq(account_id)),
        )
        .await
    }

    /// Ends the session for `token`.
    pub async fn logout(&self, token: &str) -> Result<(), DbErr> {
        self.exec(
            Query::delete()
                .from_table("sessions")
                .and_where(Expr::col("token_hash").eq(token_hash(token))),
        )
        .await?;
        Ok(())
    }
}
