//! The embedded font: which letters it can draw, and their outlines laid out as one path,
//! centred in a square. Outlines come from ttf-parser; the caller fills the path.
//!
//! # Layout
//! Letters sit side by side on one baseline at their advance widths (no kerning: the font's
//! kerning is in GPOS, which is not kept, and between two or three capitals it moves them by
//! about one per cent of the side). Vertically the capitals' height is centred, so that
//! accents rise above the middle as they do in print; horizontally the ink is centred, not the
//! advances, so that side bearings do not pull the letters off the middle. Letters that would
//! be wider than [`MAX_WIDTH`] of the side are made smaller until they fit.

use tiny_skia::{Path, PathBuilder, Transform};
use ttf_parser::{Face, GlyphId, OutlineBuilder, Rect};

/// Inter Display Semi Bold, subset (see `fonts/subset.py`), under the SIL Open Font License.
pub const FONT: &[u8] = include_bytes!("../fonts/InterDisplay-SemiBold-subset.otf");

/// The widest the letters may be, as a fraction of the side.
pub const MAX_WIDTH: f32 = 0.8;

/// The embedded font, parsed.
pub struct EmbeddedFont {
    face: Face<'static>,
    /// The height of a capital, in font units.
    cap_height: f32,
}

impl EmbeddedFont {
    /// Parses the embedded font. It is part of the build, so a failure is a bug (the tests
    /// parse it).
    pub fn new() -> Self {
        let face = Face::parse(FONT, 0).expect("the embedded font parses");
        let cap_height = f32::from(face.capital_height().expect("the font has a cap height"));
        Self { face, cap_height }
    }

    /// The glyph that draws `letter`, if it is one character that the font has, with ink.
    fn glyph(&self, letter: &str) -> Option<(GlyphId, Rect)> {
        let mut chars = letter.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return None;
        };
        let id = self.face.glyph_index(c)?;
        let bounds = self.face.glyph_bounding_box(id)?;
        (bounds.width() > 0 && bounds.height() > 0).then_some((id, bounds))
    }

    /// Whether the font draws every one of `letters` (each must be one character it has, with
    /// ink: never the empty box of a missing glyph).
    pub fn can_draw(&self, letters: &[String]) -> bool {
        letters.iter().all(|letter| self.glyph(letter).is_some())
    }

    /// The outline of `letters` in a `side` x `side` square, capitals `cap` pixels high (less
    /// if they would be too wide), centred as the module says; `None` if the font cannot draw
    /// them (see [`Self::can_draw`]).
    pub fn outline(&self, letters: &[String], side: f32, cap: f32) -> Option<Path> {
        // The letters' origins along the baseline and their ink, in font units.
        let mut pen = 0.0;
        let mut placed = Vec::with_capacity(letters.len());
        let (mut left, mut right) = (f32::INFINITY, f32::NEG_INFINITY);
        for letter in letters {
            let (id, bounds) = self.glyph(letter)?;
            left = left.min(pen + f32::from(bounds.x_min));
            right = right.max(pen + f32::from(bounds.x_max));
            placed.push((id, pen));
            pen += f32::from(self.face.glyph_hor_advance(id).unwrap_or(0));
        }
        let ink_width = right - left;
        if placed.is_empty() || ink_width <= 0.0 {
            return None;
        }

        // Pixels per font unit.
        let scale = (cap / self.cap_height).min(MAX_WIDTH * side / ink_width);
        let baseline = (side + self.cap_height * scale) / 2.0;
        let origin = side / 2.0 - (left + ink_width / 2.0) * scale;

        let mut builder = Offset {
            path: PathBuilder::new(),
            dx: 0.0,
        };
        for (id, x) in placed {
            builder.dx = x;
            self.face.outline_glyph(id, &mut builder);
        }
        // Font units have y up; pixels have y down.
        let transform = Transform::from_row(scale, 0.0, 0.0, -scale, origin, baseline);
        builder.path.finish()?.transform(transform)
    }
}

impl Default for EmbeddedFont {
    fn default() -> Self {
        Self::new()
    }
}

/// Collects glyph outlines into one path, each moved right by its letter's origin.
struct Offset {
    path: PathBuilder,
    dx: f32,
}

impl OutlineBuilder for Offset {
    fn move_to(&mut self, x: f32, y: f32) {
        self.path.move_to(x + self.dx, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        self.path.line_to(x + self.dx, y);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.path.quad_to(x1 + self.dx, y1, x + self.dx, y);
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.path
            .cubic_to(x1 + self.dx, y1, x2 + self.dx, y2, x + self.dx, y);
    }

    fn close(&mut self) {
        self.path.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letters(text: &str) -> Vec<String> {
        text.chars().map(String::from).collect()
    }

    #[test]
    fn the_font_has_the_capitals_of_latin_greek_and_cyrillic() {
        let font = EmbeddedFont::new();
        let scripts = [
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ",
            "ĀĂĄĆČĎĐĒĖĘĚĞĢĪĮİĶĹĻĽŁŃŅŇŌŐŒŔŘŚŞŠŢŤŪŮŰŲŴŶŸŹŻŽ",
            "ƏƠƯǍǏǑǓǦǨǪȘȚ",
            "ẞẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ",
            "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΆΈΉΊΌΎΏΪΫ",
            "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯЄІЇЎЂЋЏЉЊЅЈҐ",
            // Letters without a one-character capital, which are drawn as they are.
            "ßĸ",
        ];
        for script in scripts {
            for c in script.chars() {
                assert!(font.can_draw(&[c.to_string()]), "{c} ({:04X})", c as u32);
            }
        }
    }

    #[test]
    fn it_cannot_draw_what_it_lacks_or_what_has_no_ink() {
        let font = EmbeddedFont::new();
        for missing in [
            "李", "🙂", "א", "ع", "a", "ж", " ", "\u{a0}", "\u{301}", "", "AB",
        ] {
            assert!(!font.can_draw(&[missing.to_owned()]), "{missing:?}");
        }
        assert!(!font.can_draw(&letters("A李")));
        assert!(font.can_draw(&letters("AΩЖ")));
    }

    #[test]
    fn letters_are_centred_and_as_tall_as_asked() {
        let font = EmbeddedFont::new();
        let path = font
            .outline(&letters("HH"), 100.0, 40.0)
            .expect("an outline");
        let bounds = path.bounds();
        // Capitals without overshoot (H) span exactly the cap height, centred.
        assert!((bounds.top() - 30.0).abs() < 0.01, "{bounds:?}");
        assert!((bounds.bottom() - 70.0).abs() < 0.01, "{bounds:?}");
        let middle = (bounds.left() + bounds.right()) / 2.0;
        assert!((middle - 50.0).abs() < 0.01, "{bounds:?}");
    }

    #[test]
    fn wide_letters_shrink_to_fit() {
        let font = EmbeddedFont::new();
        let path = font
            .outline(&letters("WWW"), 100.0, 60.0)
            .expect("an outline");
        let bounds = path.bounds();
        assert!((bounds.width() - 80.0).abs() < 0.01, "{bounds:?}");
        assert!(bounds.height() < 60.0, "{bounds:?}");
        assert!((bounds.left() - 10.0).abs() < 0.01, "{bounds:?}");
        // One narrow letter keeps its height.
        let one = font
            .outline(&letters("I"), 100.0, 60.0)
            .expect("an outline");
        assert!((one.bounds().height() - 60.0).abs() < 0.01);
    }

    #[test]
    fn nothing_drawable_gives_no_outline() {
        let font = EmbeddedFont::new();
        assert!(font.outline(&[], 100.0, 40.0).is_none());
        assert!(font.outline(&letters("A李"), 100.0, 40.0).is_none());
    }
}
