//! The error a first-party filter or generator refuses a call with.

/// Why a plugin refused (mirrors the two WIT `transform-error` cases filters and generators
/// use).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuestError {
    /// What was handed in makes no sense: an image that is not `rgba8` pixels, a bad hash or
    /// size.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A setting has a value that makes no sense.
    #[error(transparent)]
    Misconfigured(Misconfiguration),
}

impl GuestError {
    /// `plugin`'s settings are wrong; `message` says which and how.
    pub fn misconfigured(plugin: &'static str, message: impl Into<String>) -> Self {
        Self::Misconfigured(Misconfiguration {
            plugin,
            message: message.into(),
        })
    }
}

/// A wrong setting of one plugin. It is displayed with the plugin's name; only the message
/// crosses into the WIT `misconfigured` case, as the host knows which plugin it called.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{plugin} misconfigured: {message}")]
pub struct Misconfiguration {
    /// The plugin's name, e.g. `filter-circle`.
    pub plugin: &'static str,
    /// Which setting is wrong and how.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_display_lower_case_without_final_period() {
        for error in [
            GuestError::InvalidInput("x".into()),
            GuestError::misconfigured("filter-grayscale", "x"),
        ] {
            let text = error.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn messages_name_the_case_and_a_misconfigured_plugin() {
        assert_eq!(
            GuestError::InvalidInput("image 0 is png, not rgba8".into()).to_string(),
            "invalid input: image 0 is png, not rgba8"
        );
        let error = GuestError::misconfigured("filter-circle", "`background` must be red");
        assert_eq!(
            error.to_string(),
            "filter-circle misconfigured: `background` must be red"
        );
        let GuestError::Misconfigured(why) = error else {
            panic!("misconfigured");
        };
        assert_eq!(why.message, "`background` must be red");
    }
}
