//! Validators of an answer (its strong ETag and when it was last modified) and the copy a
//! client says it holds (from its conditional request), compared as RFC 9110 says: when the
//! client names ETags, they decide (weak comparison, `*` matches anything); else its date
//! does, at the one-second precision of HTTP dates.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An answer's validators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// The strong ETag, unquoted.
    pub etag: String,
    pub modified: SystemTime,
}

/// What a client holds of an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// `If-None-Match`: `None` when absent.
    pub etags: Option<Etags>,
    /// `If-Modified-Since`.
    pub modified_since: Option<SystemTime>,
}

/// The ETags of `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Etags {
    /// `*`.
    Any,
    /// Opaque tags, unquoted, weakness dropped (the comparison is weak).
    List(Vec<String>),
}

impl Held {
    /// Nothing: an unconditional request.
    pub fn nothing() -> Self {
        Self::default()
    }

    /// Whether the client's copy is current, so the answer is `304` and the bytes are not
    /// even read.
    pub fn is_current(&self, validators: &Validators) -> bool {
        match &self.etags {
            Some(_) => self.names(&validators.etag),
            None => self
                .modified_since
                .is_some_and(|since| whole_seconds(validators.modified) <= whole_seconds(since)),
        }
    }

    /// Whether `If-None-Match` names `etag` (unquoted): listed, or `*`. For answers that
    /// have an ETag and no date.
    pub fn names(&self, etag: &str) -> bool {
        match &self.etags {
            Some(Etags::Any) => true,
            Some(Etags::List(tags)) => tags.iter().any(|t| t == etag),
            None => false,
        }
    }
}

fn whole_seconds(t: SystemTime) -> Duration {
    Duration::from_secs(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_decide_before_dates() {
        let modified = UNIX_EPOCH + Duration::from_millis(1_000_500);
        let v = Validators {
            etag: "abc".into(),
            modified,
        };
        let list = |tags: &[&str]| Some(Etags::List(tags.iter().map(|t| (*t).into()).collect()));
        let later = Some(modified + Duration::from_secs(60));
        let cases = [
            (Held::nothing(), false),
            (
                Held {
                    etags: list(&["abc"]),
                    modified_since: None,
                },
                true,
            ),
            (
                Held {
                    etags: list(&["x", "abc"]),
                    modified_since: None,
                },
                true,
            ),
            (
                Held {
                    etags: list(&["x"]),
                    modified_since: later,
                },
                false,
            ),
            (
                Held {
                    etags: Some(Etags::Any),
                    modified_since: None,
                },
                true,
            ),
            (
                Held {
                    etags: None,
                    modified_since: later,
                },
                true,
            ),
            // HTTP dates have whole seconds: the same second is current.
            (
                Held {
                    etags: None,
                    modified_since: Some(UNIX_EPOCH + Duration::from_secs(1000)),
                },
                true,
            ),
            (
                Held {
                    etags: None,
                    modified_since: Some(UNIX_EPOCH + Duration::from_secs(999)),
                },
                false,
            ),
        ];
        for (held, current) in cases {
            assert_eq!(held.is_current(&v), current, "{held:?}");
        }
    }
}
