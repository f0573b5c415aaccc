//! JSON errors, `{"error": {"code", "message"}}`, and the one place where
//! errors are mapped to HTTP statuses.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde_json::json;

use crate::{lifecycle::LifecycleError, runtime::RuntimeError, users::UserError};

/// An API error: status, machine-readable code, message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    id: Option<String>,
    details: Option<serde_json::Value>,
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
        self.details = Some(details);
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
            error["details"] = details.clone();
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
            RuntimeError::Db(_) | RuntimeError::DataDir { .. } => ApiError::internal(e.to_string()),
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
