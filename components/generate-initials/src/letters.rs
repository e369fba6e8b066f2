//! Which letters to draw: from the request's `initials`, else from a name, else from the hash.
//! Unicode-aware and total: any string gives an answer, never a panic.
//!
//! # The rules
//! Text is first put in Unicode normal form C, so that a letter and its accents written as
//! separate characters ("E" + U+0301) become the one precomposed character the font draws
//! ("É"). A *letter* is one user-perceived character (an extended grapheme cluster, UAX #29),
//! upper-cased where its script has case; a character whose capital is more than one character
//! ("ß" → "SS") stays as it is, so that one letter stays one letter.
//!
//! - `initials` are taken as they are: blanks, control characters and invisible formatting
//!   characters (see [`is_invisible`]) dropped, the first [`MAX_INITIALS`] letters kept.
//!   Nothing left means no initials.
//! - A name gives the first letter of its first and of its last word (one word gives one
//!   letter). Words are separated by blanks; a word's first letter is its first letter or digit,
//!   so punctuation around it ("(jean-luc)") is skipped, and words of punctuation or symbols
//!   alone ("&", "🙂") are not words. "李小龍" is one word, hence "李".
//! - The hash gives its first two hex digits, upper case.

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// The most letters taken from `initials`.
pub const MAX_INITIALS: usize = 3;

/// Where the letters came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The request's `initials`.
    Initials,
    /// A name's first and last words.
    Name,
    /// The hash's first two hex digits.
    Hash,
}

/// The letters to draw, each one user-perceived character, and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letters {
    /// One to [`MAX_INITIALS`] letters.
    pub letters: Vec<String>,
    /// Where they came from.
    pub source: Source,
}

impl Letters {
    /// The letters as one string.
    pub fn text(&self) -> String {
        self.letters.concat()
    }
}

/// The letters for a request: its `initials` if they have any, else its `name`'s, else the
/// hash's.
pub fn choose(initials: Option<&str>, name: Option<&str>, hash: &str) -> Letters {
    if let Some(letters) = initials.and_then(from_initials) {
        return Letters {
            letters,
            source: Source::Initials,
        };
    }
    if let Some(letters) = name.and_then(from_name) {
        return Letters {
            letters,
            source: Source::Name,
        };
    }
    from_hash(hash)
}

/// The hash's first two hex digits, upper case (`"0"` for each one missing, which a checked
/// hash never is).
pub fn from_hash(hash: &str) -> Letters {
    let mut digits = hash.chars().filter(char::is_ascii_hexdigit);
    let letters = (0..2)
        .map(|_| {
            digits
                .next()
                .unwrap_or('0')
                .to_ascii_uppercase()
                .to_string()
        })
        .collect();
    Letters {
        letters,
        source: Source::Hash,
    }
}

/// The first [`MAX_INITIALS`] letters of `initials`, blanks, control and invisible characters
/// dropped; `None` if nothing is left.
pub fn from_initials(initials: &str) -> Option<Vec<String>> {
    let kept: String = initials
        .nfc()
        .filter(|c| !c.is_whitespace() && !c.is_control() && !is_invisible(*c))
        .collect();
    let letters: Vec<String> = kept.graphemes(true).take(MAX_INITIALS).map(upper).collect();
    (!letters.is_empty()).then_some(letters)
}

/// The first letter of `name`'s first word and, if it has more than one, of its last; `None`
/// if it has no word with a letter or digit.
pub fn from_name(name: &str) -> Option<Vec<String>> {
    let name: String = name.nfc().collect();
    let mut words = name.split_whitespace().filter_map(first_letter);
    let first = words.next()?;
    Some(match words.next_back() {
        Some(last) => vec![first, last],
        None => vec![first],
    })
}

/// Whether `c` is a formatting character that draws nothing: a zero-width space or non-joiner,
/// a direction mark or override, a word joiner or invisible operator, a byte-order mark or a
/// soft hyphen. The zero-width joiner is kept: it holds emoji sequences together.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{200b}'..='\u{200c}'
            | '\u{200e}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// The first letter of `word` that starts with a letter or digit, upper-cased.
fn first_letter(word: &str) -> Option<String> {
    word.graphemes(true)
        .find(|g| g.chars().next().is_some_and(char::is_alphanumeric))
        .map(upper)
}

/// `letter` upper-cased, character by character, where a capital is one character; then
/// recomposed, as a capital may have a precomposed form of its own.
fn upper(letter: &str) -> String {
    letter
        .chars()
        .map(|c| {
            let mut capital = c.to_uppercase();
            match (capital.next(), capital.next()) {
                (Some(one), None) => one,
                _ => c,
            }
        })
        .nfc()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";

    fn letters(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|l| (*l).to_owned()).collect())
    }

    #[test]
    fn names_give_the_first_letters_of_their_first_and_last_words() {
        let cases: &[(&str, &[&str])] = &[
            ("Émile Zola", &["É", "Z"]),
            ("madonna", &["M"]),
            ("李小龍", &["李"]),
            ("  Ada   King  Lovelace ", &["A", "L"]),
            ("(jean-luc) picard!", &["J", "P"]),
            ("O'Brien", &["O"]),
            ("Tom & Jerry", &["T", "J"]),
            ("🙂 bob", &["B"]),
            ("bob 🙂", &["B"]),
            ("Фёдор Достоевский", &["Ф", "Д"]),
            ("ωμέγα ψ", &["Ω", "Ψ"]),
            ("øyvind ågård", &["Ø", "Å"]),
            ("ǆemal", &["Ǆ"]),
            // Decomposed input: E + combining acute becomes É.
            ("e\u{301}mile zola", &["É", "Z"]),
            // A capital of two characters: the letter stays as it is.
            ("ßen", &["ß"]),
            ("2pac shakur", &["2", "S"]),
            ("\t\njosé\u{a0}garcía\u{3000}", &["J", "G"]),
            ("x", &["X"]),
            ("-- émile --", &["É"]),
        ];
        for (name, expected) in cases {
            assert_eq!(from_name(name), letters(expected), "{name:?}");
        }
    }

    #[test]
    fn names_without_letters_or_digits_give_none() {
        for name in ["", "   ", "!!!", "🙂 🎉", "- & -", "\u{301}", "\u{200d}"] {
            assert_eq!(from_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn initials_are_taken_as_they_are_up_to_three_letters() {
        let cases: &[(&str, &[&str])] = &[
            ("ab", &["A", "B"]),
            ("abcd", &["A", "B", "C"]),
            (" j k ", &["J", "K"]),
            ("A.B.", &["A", ".", "B"]),
            ("ʻo", &["ʻ", "O"]),
            ("李龍", &["李", "龍"]),
            ("ß", &["ß"]),
            ("e\u{301}z", &["É", "Z"]),
            // A cluster of several characters is one letter.
            ("👩\u{200d}💻x", &["👩\u{200d}💻", "X"]),
            ("q\u{301}", &["Q\u{301}"]),
            ("\u{7}x\u{0}", &["X"]),
        ];
        for (initials, expected) in cases {
            assert_eq!(from_initials(initials), letters(expected), "{initials:?}");
        }
        for empty in ["", " \t\n", "\u{0}\u{1b}"] {
            assert_eq!(from_initials(empty), None, "{empty:?}");
        }
    }

    #[test]
    fn initials_come_first_then_the_name_then_the_hash() {
        let by_initials = choose(Some("xy"), Some("Ada Lovelace"), MD5);
        assert_eq!(by_initials.source, Source::Initials);
        assert_eq!(by_initials.text(), "XY");
        let by_name = choose(Some("  "), Some("Ada Lovelace"), MD5);
        assert_eq!(
            (by_name.source, by_name.text()),
            (Source::Name, "AL".into())
        );
        let by_hash = choose(None, Some("!!"), MD5);
        assert_eq!(
            (by_hash.source, by_hash.text()),
            (Source::Hash, "0B".into())
        );
        assert_eq!(choose(None, None, "ff00").text(), "FF");
        // Never panics, even on what a checked hash never is.
        assert_eq!(from_hash("").text(), "00");
        assert_eq!(from_hash("é").text(), "00");
    }

    #[test]
    fn hostile_text_gives_at_most_three_letters() {
        let long = "a\u{301}\u{302}\u{303}".repeat(40);
        let zalgo = from_initials(&long).expect("letters");
        assert_eq!(zalgo.len(), 3);
        let many_words = "x ".repeat(1000);
        assert_eq!(from_name(&many_words), letters(&["X", "X"]));
        assert_eq!(
            from_initials("\u{202e}a\u{200b}b\u{ad}"),
            letters(&["A", "B"])
        );
        assert_eq!(from_initials("\u{feff}\u{2066}"), None);
        for text in ["\u{fffd}\u{fffd}", "𝔸𝔹", "\u{e0067}\u{e0062}"] {
            let from = from_initials(text).map(|l| l.len());
            assert!(from.is_some_and(|n| (1..=3).contains(&n)), "{text:?}");
        }
    }
}
