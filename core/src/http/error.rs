//! JSON errors, `{"error": {"code", "message"}}`, and the one place where
//! errors are mapped to HTTP statuses.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde_json::json;

use plugboard_plugin_api::ErrorKind;
use sea_orm::DbErr;

use super::plugin_routes::{PluginRouteFailed, RouteMiss};
use crate::{
    access::{grants::GrantError, Denied},
    auth::AuthError,
    exec::ExecError,
    inspect::InspectError,
    lifecycle::LifecycleError,
    marketplace::{bundle::BundleError, install::InstallError, updates::UpdateError},
    runtime::RuntimeError,
    users::UserError,
};

/// An API error: status, machine-readable code, message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    id: Option<String>,
    details: Option<Box<serde_json::Value>>,
}

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            id: None,
            details: None,
        }
    }
    /// Attaches machine-readable details (e.g. every violation).
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }
    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    /// 403 with a code.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 409.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    /// 422.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }
    /// 500 with an error id that is also logged.
    pub fn internal(message: impl Into<String>) -> Self {
        let id = error_id();
        let message = message.into();
        tracing::error!(error_id = %id, "{message}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message,
            id: Some(id),
            details: None,
        }
    }
    /// Attaches a fresh error id (and logs it).
    pub fn with_id(mut self) -> Self {
        let id = error_id();
        tracing::error!(error_id = %id, code = self.code, "{}", self.message);
        self.id = Some(id);
        self
    }
    /// The code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// A random 16-hex-digit id for correlating a 500 with the log.
pub fn error_id() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        b = n.to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(id) = &self.id {
            error["id"] = json!(id);
        }
        if let Some(details) = &self.details {
            error["details"] = (**details).clone();
        }
        let mut response = HttpResponse::build(self.status);
        // `details.retry_after` (seconds) is also the standard header.
        if let Some(secs) = self
            .details
            .as_ref()
            .and_then(|d| d.get("retry_after"))
            .and_then(|s| s.as_u64())
        {
            response.insert_header(("retry-after", secs.to_string()));
        }
        response.json(json!({ "error": error }))
    }
}

impl From<ExecError> for ApiError {
    fn from(e: ExecError) -> Self {
        match &e {
            // Only this plugin's callers see it; a second is enough for a
            // call to return and free its place.
            ExecError::Busy { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "plugin_busy",
                e.to_string(),
            )
            .with_details(json!({ "retry_after": 1 })),
            ExecError::Deadline { .. } => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "plugin_deadline",
                e.to_string(),
            ),
            ExecError::NoThread { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "plugin_unavailable",
                e.to_string(),
            )
            .with_details(json!({ "retry_after": 1 })),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        match &e {
            LifecycleError::NotFound(_) => ApiError::not_found(e.to_string()),
            LifecycleError::InvalidTransition { .. } => {
                ApiError::conflict("invalid_transition", e.to_string())
            }
            LifecycleError::Corrupt { .. } | LifecycleError::Db(_) => {
                ApiError::internal(e.to_string())
            }
        }
    }
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::Lifecycle(l) => l.into(),
            RuntimeError::NotLoaded { .. } => ApiError::conflict("not_loaded", e.to_string()),
            RuntimeError::HookCycle { .. } => ApiError::conflict("hook_cycle", e.to_string()),
            RuntimeError::BuiltIn { .. } => ApiError::conflict("built_in", e.to_string()),
            RuntimeError::PluginFailed { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin_failed",
                e.to_string(),
            ),
            RuntimeError::HasDependents { ref dependents, .. } => {
                let details = json!({ "dependents": dependents });
                ApiError::conflict("has_dependents", e.to_string()).with_details(details)
            }
            RuntimeError::DependencyInactive { .. } => {
                ApiError::conflict("dependency_inactive", e.to_string())
            }
            RuntimeError::NoPrevious { .. } => {
                ApiError::conflict("no_previous_version", e.to_string())
            }
            RuntimeError::UpgradeFailed { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "update_failed",
                e.to_string(),
            ),
            RuntimeError::Routes { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_routes",
                e.to_string(),
            ),
            RuntimeError::InvalidConfig { ref violations, .. } => {
                let details = json!({ "violations": violations });
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_config",
                    e.to_string(),
                )
                .with_details(details)
            }
            RuntimeError::Db(_)
            | RuntimeError::DataDir { .. }
            | RuntimeError::DatabaseLocked(_) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Invalid(m) => ApiError::unprocessable(m),
            UserError::Refused(r) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", r.to_string())
            }
            UserError::Taken(_) => ApiError::conflict("taken", e.to_string()),
            UserError::NotFound(_) => ApiError::not_found(e.to_string()),
            UserError::Db(_) | UserError::Hash(_) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::BadCredentials => ApiError::unauthorized(e.to_string()),
            AuthError::Throttled(secs) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                e.to_string(),
            )
            .with_details(serde_json::json!({ "retry_after": secs })),
            AuthError::Busy(secs) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
                    .with_details(serde_json::json!({ "retry_after": secs }))
            }
            AuthError::Invalid(_) => ApiError::unprocessable(e.to_string()),
            AuthError::Exists(_) => ApiError::conflict("exists", e.to_string()),
            AuthError::Db(_) | AuthError::Hash(_) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<GrantError> for ApiError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::UnknownPermission { .. } | GrantError::Role(_) => {
                ApiError::unprocessable(e.to_string())
            }
            GrantError::Lifecycle(e) => e.into(),
            GrantError::Db(e) => e.into(),
        }
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::SignIn => ApiError::unauthorized(denied.to_string()),
            Denied::Forbidden(why) => ApiError::forbidden("forbidden", why),
        }
    }
}

/// A database failure is the server's: 500 with an error id, never 4xx.
impl From<DbErr> for ApiError {
    fn from(e: DbErr) -> Self {
        ApiError::internal(format!("database: {e}"))
    }
}

impl From<RouteMiss> for ApiError {
    fn from(e: RouteMiss) -> Self {
        match e {
            RouteMiss::NoPluginInPath
            | RouteMiss::NoActivePlugin(_)
            | RouteMiss::NoRoute { .. } => ApiError::not_found(e.to_string()),
            RouteMiss::MethodNotAllowed { .. } => ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                e.to_string(),
            ),
        }
    }
}

/// A plugin's own error kind decides its route's status: `Invalid` 422,
/// `NotFound` 404, `Refused` 403; everything else (a failure, a panic, a
/// kind this host does not know) is a 500 with an error id.
impl From<PluginRouteFailed> for ApiError {
    fn from(e: PluginRouteFailed) -> Self {
        let (status, code) = match e.error.kind() {
            ErrorKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Refused => (StatusCode::FORBIDDEN, "refused"),
            ErrorKind::Panicked => (StatusCode::INTERNAL_SERVER_ERROR, "plugin_panicked"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "plugin_error"),
        };
        let api = ApiError::new(status, code, e.to_string());
        if status.is_server_error() {
            api.with_id()
        } else {
            api
        }
    }
}

/// The blocking pool could not run the task (the server is stopping).
impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(format!("blocking task: {e}"))
    }
}

impl From<InstallError> for ApiError {
    fn from(e: InstallError) -> Self {
        let refused = |e: &InstallError| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "install_refused",
                e.to_string(),
            )
        };
        match e {
            InstallError::AlreadyInstalled(_) => {
                ApiError::conflict("already_installed", e.to_string())
            }
            InstallError::NotOffered { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_offered", e.to_string())
            }
            InstallError::Fetch { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, "fetch_failed", e.to_string())
            }
            InstallError::Downgrade { .. } => {
                ApiError::conflict("downgrade_refused", e.to_string())
            }
            InstallError::UpToDate { .. } => ApiError::conflict("up_to_date", e.to_string()),
            InstallError::ConsentRequired(ref missing) => {
                let details = json!({ "missing": missing });
                ApiError::conflict("consent_required", e.to_string()).with_details(details)
            }
            InstallError::AsksMore { ref slug, ref asks } => {
                let details = json!({ "missing": [{ "slug": slug, "asks": asks }] });
                ApiError::conflict("consent_required", e.to_string()).with_details(details)
            }
            InstallError::Unresolvable(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "dependencies_unresolvable",
                e.to_string(),
            ),
            InstallError::DownloadRefused(_)
            | InstallError::Digest { .. }
            | InstallError::Unsigned(_)
            | InstallError::UnknownKey(_)
            | InstallError::Signature(_)
            | InstallError::Incompatible(_)
            | InstallError::Dependency(_)
            | InstallError::Identity(_) => refused(&e),
            InstallError::Load(ref inspect) => match inspect {
                InspectError::Refused(_)
                | InspectError::Crashed { .. }
                | InspectError::TimedOut(_) => refused(&e),
                // The host could not run its own check: not the bundle's fault.
                InspectError::Spawn { .. } | InspectError::BadReport { .. } => {
                    ApiError::internal(e.to_string())
                }
            },
            // Writing the extracted files failed: the disk, not the bundle.
            InstallError::Bundle(BundleError::Io { .. }) => ApiError::internal(e.to_string()),
            InstallError::Bundle(_) => refused(&e),
            InstallError::StagingTask(_) | InstallError::Io { .. } | InstallError::Shared(_) => {
                ApiError::internal(e.to_string())
            }
            InstallError::Runtime(r) => r.into(),
        }
    }
}

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::NotFound(_) => ApiError::not_found(e.to_string()),
            UpdateError::NeedsApproval { ref asks, .. } => {
                let details = json!({ "asks": asks });
                ApiError::conflict("needs_approval", e.to_string()).with_details(details)
            }
            UpdateError::NotPending { .. } => ApiError::conflict("not_pending", e.to_string()),
            UpdateError::Retargeted { .. } => ApiError::conflict("retargeted", e.to_string()),
            UpdateError::Withdrawn { .. } => ApiError::conflict("withdrawn", e.to_string()),
            UpdateError::Install(i) => i.into(),
            UpdateError::Db(d) => d.into(),
        }
    }
}
