//! The default pictures a Gravatar client can ask for with `d=`: which styles there are, and
//! the first-party generator plugin that draws each unless a tenant names another.

/// A default-picture style a request can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Style {
    /// `mp` (alias `mm`): the same neutral silhouette for every hash.
    Mp,
    Identicon,
    Monsterid,
    Wavatar,
    Retro,
    Robohash,
    /// Letters from the request, the stored name, or the hash.
    Initials,
    /// A solid colour from the hash.
    Color,
}

impl Style {
    pub const ALL: [Self; 8] = [
        Self::Mp,
        Self::Identicon,
        Self::Monsterid,
        Self::Wavatar,
        Self::Retro,
        Self::Robohash,
        Self::Initials,
        Self::Color,
    ];

    /// Reads a `d=` value naming a style (`mm` is `mp`), ignoring ASCII case.
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("mm") {
            return Some(Self::Mp);
        }
        Self::ALL
            .into_iter()
            .find(|style| style.name().eq_ignore_ascii_case(s))
    }

    /// The name requests and the configuration use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mp => "mp",
            Self::Identicon => "identicon",
            Self::Monsterid => "monsterid",
            Self::Wavatar => "wavatar",
            Self::Retro => "retro",
            Self::Robohash => "robohash",
            Self::Initials => "initials",
            Self::Color => "color",
        }
    }

    /// The built-in generator that draws it.
    pub fn builtin_plugin(self) -> &'static str {
        match self {
            Self::Mp => "generate-silhouette",
            Self::Identicon => "generate-identicon",
            Self::Monsterid => "generate-monsterid",
            Self::Wavatar => "generate-wavatar",
            Self::Retro => "generate-retro",
            Self::Robohash => "generate-robohash",
            Self::Initials => "generate-initials",
            Self::Color => "generate-color",
        }
    }

    /// Whether its generator draws text, so it needs the request's `initials` and `name`.
    pub fn draws_text(self) -> bool {
        self == Self::Initials
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_parse_by_name_and_alias() {
        for style in Style::ALL {
            assert_eq!(Style::parse(style.name()), Some(style));
            assert_eq!(Style::parse(&style.name().to_uppercase()), Some(style));
            assert!(style.builtin_plugin().starts_with("generate-"));
        }
        assert_eq!(Style::parse("mm"), Some(Style::Mp));
        for other in [
            "",
            "404",
            "blank",
            "https://example.com/a.png",
            "identicons",
        ] {
            assert_eq!(Style::parse(other), None, "{other}");
        }
    }
}
