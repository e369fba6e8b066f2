//! Reading a plugin's settings: typed values from the host's `config.get`, refused with the same
//! wording in every plugin, and the colours and hex digits they are written in.

use std::str::FromStr;

use crate::GuestError;

/// An RGBA colour, not premultiplied.
pub type Rgba = [u8; 4];

/// One plugin's settings as the host hands them out, a key at a time (`config.get`), read into
/// typed values. An unset key reads as `None`, for the plugin's default; a value that does not
/// parse makes the plugin [misconfigured](GuestError::misconfigured), with the message
/// "`` `key` must be … ``", saying what it must be.
pub struct Lookup<G> {
    plugin: &'static str,
    get: G,
}

impl<G: Fn(&str) -> Option<String>> Lookup<G> {
    /// Reads the settings of `plugin` (its name, for messages) through `get`.
    pub fn new(plugin: &'static str, get: G) -> Self {
        Self { plugin, get }
    }

    /// `key` as a colour, `#rrggbb` or `#rrggbbaa` (see [`parse_color`]).
    pub fn color(&self, key: &str) -> Result<Option<Rgba>, GuestError> {
        self.parsed(key, "`#rrggbb` or `#rrggbbaa`", parse_color)
    }

    /// `key` as a number (white space around it ignored) that `valid` accepts; `expected` says
    /// which numbers those are, e.g. "a number from 0 to 1".
    pub fn number<T: FromStr>(
        &self,
        key: &str,
        expected: &str,
        valid: impl FnOnce(&T) -> bool,
    ) -> Result<Option<T>, GuestError> {
        self.parsed(key, expected, |text| text.trim().parse().ok().filter(valid))
    }

    fn parsed<T>(
        &self,
        key: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, GuestError> {
        let Some(text) = (self.get)(key) else {
            return Ok(None);
        };
        parse(&text).map(Some).ok_or_else(|| {
            GuestError::misconfigured(self.plugin, format!("`{key}` must be {expected}"))
        })
    }
}

/// Parses `#rrggbb` (opaque) or `#rrggbbaa`, hex digits in either case.
pub fn parse_color(text: &str) -> Option<Rgba> {
    let hex = text.strip_prefix('#')?;
    if !(hex.len() == 6 || hex.len() == 8) {
        return None;
    }
    let bytes = parse_hex(hex)?;
    let mut color = [0, 0, 0, 255];
    color[..bytes.len()].copy_from_slice(&bytes);
    Some(color)
}

/// The bytes of a string of hex digit pairs (either case), or `None`. Nothing else is accepted:
/// no sign, prefix or white space.
pub fn parse_hex(hex: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> Lookup<impl Fn(&str) -> Option<String>> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Lookup::new("filter-test", move |key| {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    fn misconfigured(message: &str) -> GuestError {
        GuestError::misconfigured("filter-test", message)
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("#ff8000"), Some([255, 128, 0, 255]));
        assert_eq!(parse_color("#FF800080"), Some([255, 128, 0, 128]));
        assert_eq!(parse_color("#00000000"), Some([0, 0, 0, 0]));
        for bad in [
            "",
            "#",
            "ff8000",
            "#ff800",
            "#ff80000",
            "#ff8000800",
            "#gg8000",
            "#+f8000",
            " #ff8000",
            "#ff8000 ",
            "#ff80é",
        ] {
            assert_eq!(parse_color(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hex_parses_in_pairs_of_digits_only() {
        assert_eq!(parse_hex(""), Some(Vec::new()));
        assert_eq!(parse_hex("00ff7Fa0"), Some(vec![0, 255, 127, 160]));
        for bad in ["0", "abc", "0x", "+1", "-1", " 1", "g0", "é0"] {
            assert_eq!(parse_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unset_keys_read_as_none() {
        let settings = lookup(&[]);
        assert_eq!(settings.color("background"), Ok(None));
        assert_eq!(
            settings.number::<f64>("amount", "a number", |_| true),
            Ok(None)
        );
    }

    #[test]
    fn colours_read_or_misconfigure() {
        let settings = lookup(&[("background", "#0000ff"), ("border", "blue")]);
        assert_eq!(settings.color("background"), Ok(Some([0, 0, 255, 255])));
        assert_eq!(
            settings.color("border"),
            Err(misconfigured("`border` must be `#rrggbb` or `#rrggbbaa`"))
        );
    }

    #[test]
    fn numbers_read_trimmed_and_checked() {
        let settings = lookup(&[
            ("amount", " 0.5 "),
            ("grid", "7"),
            ("wide", "-1"),
            ("fraction", "5.0"),
            ("word", "five"),
        ]);
        let any = |_: &f64| true;
        assert_eq!(settings.number("amount", "a number", any), Ok(Some(0.5)));
        assert_eq!(
            settings.number("grid", "a whole number", |grid: &u32| *grid > 4),
            Ok(Some(7))
        );
        assert_eq!(
            settings.number("grid", "a whole number above 7", |grid: &u32| *grid > 7),
            Err(misconfigured("`grid` must be a whole number above 7"))
        );
        assert_eq!(
            settings.number("wide", "0 or more", |width: &f64| *width >= 0.0),
            Err(misconfigured("`wide` must be 0 or more"))
        );
        assert_eq!(
            settings.number::<u32>("fraction", "a whole number", |_| true),
            Err(misconfigured("`fraction` must be a whole number"))
        );
        assert_eq!(
            settings.number("word", "a number", any),
            Err(misconfigured("`word` must be a number"))
        );
    }
}
