//! Gravatar's content ratings, from `g` (suitable for any audience) to `x`: an upload carries
//! one, a request names the highest it accepts.

use std::fmt;

/// A content rating; ordered from the mildest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rating {
    /// Suitable for display on all websites with any audience type.
    #[default]
    G,
    /// May contain rude gestures, provocatively dressed individuals, mild violence.
    Pg,
    /// May contain harsh profanity, intense violence, nudity, hard drug use.
    R,
    /// May contain hardcore sexual imagery or extremely disturbing violence.
    X,
}

impl Rating {
    pub const ALL: [Self; 4] = [Self::G, Self::Pg, Self::R, Self::X];

    /// Reads `g`, `pg`, `r` or `x`, ignoring ASCII case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
    }

    /// The name the API and the catalog use.
    pub fn name(self) -> &'static str {
        match self {
            Self::G => "g",
            Self::Pg => "pg",
            Self::R => "r",
            Self::X => "x",
        }
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_parse_and_order() {
        for rating in Rating::ALL {
            assert_eq!(Rating::parse(rating.name()), Some(rating));
            assert_eq!(Rating::parse(&rating.name().to_uppercase()), Some(rating));
        }
        assert_eq!(Rating::parse("nc-17"), None);
        assert_eq!(Rating::parse(""), None);
        assert!(Rating::G < Rating::Pg && Rating::Pg < Rating::R && Rating::R < Rating::X);
        assert_eq!(Rating::default(), Rating::G);
    }
}
