//! How a plugin call can fail.

use super::types::{AuthRejection, ImageRejection};

/// A plugin's typed refusal of its input: the client's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error(transparent)]
    Auth(#[from] AuthRejection),
    /// A transform, filter or generator refused the image or the request.
    #[error(transparent)]
    Image(#[from] ImageRejection),
}

/// Why a plugin call or load failed. Only `Rejected` is the client's fault; the others are
/// the operator's or the plugin author's (5xx).
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The plugin ran and refused the input with a typed error.
    #[error("rejected by plugin: {0}")]
    Rejected(#[from] Rejection),
    /// The plugin trapped (a panic, an `unreachable`, an out-of-bounds access).
    #[error("plugin trapped: {0}")]
    Trap(String),
    /// The plugin ran past its deadline and was stopped.
    #[error("plugin ran past its deadline of {0:?}")]
    Timeout(std::time::Duration),
    /// The plugin exceeded its memory cap or produced too much output.
    #[error("plugin exceeded a resource limit: {0}")]
    ResourceLimit(String),
    /// The component could not be loaded: not a component, not compiled for this host, or
    /// not implementing the expected world.
    #[error("invalid plugin: {0}")]
    Invalid(String),
}

impl PluginError {
    /// The auth plugin's rejection, if that is what this is.
    pub fn as_auth_rejection(&self) -> Option<&AuthRejection> {
        match self {
            Self::Rejected(Rejection::Auth(r)) => Some(r),
            _ => None,
        }
    }

    /// The image plugin's (transform, filter, generator) rejection, if that is what this is.
    pub fn as_image_rejection(&self) -> Option<&ImageRejection> {
        match self {
            Self::Rejected(Rejection::Image(r)) => Some(r),
            _ => None,
        }
    }

    /// The word the metrics count this failure under.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Rejected(_) if self.is_server_fault() => "misconfigured",
            Self::Rejected(_) => "rejected",
            Self::Trap(_) => "trap",
            Self::Timeout(_) => "timeout",
            Self::ResourceLimit(_) => "resource-limit",
            Self::Invalid(_) => "invalid",
        }
    }

    /// A failure that is the plugin's or the operator's fault, not the client's.
    pub fn is_server_fault(&self) -> bool {
        !matches!(self, Self::Rejected(_))
            || matches!(
                self,
                Self::Rejected(Rejection::Auth(AuthRejection::Misconfigured(_)))
                    | Self::Rejected(Rejection::Image(ImageRejection::Misconfigured(_)))
            )
    }
}
