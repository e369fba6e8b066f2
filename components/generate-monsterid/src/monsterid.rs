//! The monster itself: settings, the parts the hash chooses, and the drawing. Plain Rust with
//! no Wasm types, so that it builds and is tested natively; the component only converts types.
//!
//! # From hash to picture
//! The hash seeds guest-kit's [`Dice`]; in a fixed order they choose the colours, then each part
//! (body, eyes, mouth, what grows on top, arms and legs, markings) and the few measures that
//! vary within a part (the body's width and height, where the pupils look). Every choice
//! depends on every byte of the hash. Parts are drawn back to front on a square of
//! [`UNITS`](guest_kit::draw::UNITS) design units, outlined like a sticker, then scaled to the
//! size asked for with anti-aliased edges.

pub use guest_kit::draw::Picture;
pub use guest_kit::{GuestError as GenerateError, Rgba};

use guest_kit::draw::{Canvas, Dice, background_setting, check_request, hsl, mix};

mod parts;

/// The plugin's name, in its error messages.
const PLUGIN: &str = "generate-monsterid";

/// The plugin's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Behind the monster.
    pub background: Rgba,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            background: [0xf4, 0xf1, 0xea, 0xff],
        }
    }
}

impl Settings {
    /// The background colour, or `transparent`.
    pub const BACKGROUND_KEY: &str = "background";

    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GenerateError> {
        let defaults = Self::default();
        Ok(Self {
            background: background_setting(PLUGIN, &get, Self::BACKGROUND_KEY)?
                .unwrap_or(defaults.background),
        })
    }
}

/// The body's outline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// A ball.
    Round,
    /// An egg, wider at the bottom.
    Egg,
    /// A dome with a scalloped hem.
    Ghost,
    /// A box with soft corners.
    Block,
    /// A lumpy, hand-drawn-looking blob.
    Blob,
}

/// The eyes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eyes {
    /// Two round eyes.
    Pair,
    /// One big eye with a coloured iris.
    Cyclops,
    /// Three small eyes.
    Three,
    /// Two eyes under heavy lids.
    Sleepy,
    /// One big and one small eye, looking different ways.
    Googly,
    /// Two closed, smiling eyes.
    Happy,
}

/// The mouth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mouth {
    /// A plain smile.
    Smile,
    /// An open mouth with two fangs.
    Fangs,
    /// A small round "oh".
    Oh,
    /// A wide grin full of teeth.
    Teeth,
    /// A smile with the tongue out.
    Tongue,
    /// An open mouth with one tooth.
    Tooth,
}

/// What grows on top of the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Top {
    /// A tuft of hair.
    Tuft,
    /// Two curved horns.
    Horns,
    /// Pointed cat's ears.
    CatEars,
    /// Round bear's ears.
    BearEars,
    /// Two antennae with knobs.
    Antennae,
    /// A single horn.
    Unicorn,
}

/// Arms and legs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limbs {
    /// Two feet peeking out.
    Feet,
    /// Stubby arms and feet.
    Stubby,
    /// Arms waving up, and feet.
    Waving,
    /// Wavy tentacles below.
    Tentacles,
    /// Two thin legs with big feet.
    Legs,
}

/// Markings on the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marks {
    /// A plain body.
    Plain,
    /// A few round spots.
    Spots,
    /// A lighter belly.
    Belly,
}

/// The colours of one monster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    /// The body.
    pub body: Rgba,
    /// Feet and shaded parts.
    pub shade: Rgba,
    /// The outline of every part.
    pub outline: Rgba,
    /// Horns, ears' insides, knobs, irises, spots.
    pub accent: Rgba,
    /// The belly and highlights.
    pub light: Rgba,
}

/// Everything the hash chooses about a monster.
#[derive(Clone, Debug, PartialEq)]
pub struct Monster {
    /// Its colours.
    pub palette: Palette,
    /// Its parts.
    pub body: Body,
    /// Its eyes.
    pub eyes: Eyes,
    /// Its mouth.
    pub mouth: Mouth,
    /// What grows on top.
    pub top: Top,
    /// Arms and legs.
    pub limbs: Limbs,
    /// Markings.
    pub marks: Marks,
    /// Half the body's width and height, in design units.
    half: (f32, f32),
    /// Where the pupils look, from -1 to 1 on each axis.
    gaze: (f32, f32),
    /// The lumps of a [`Body::Blob`], as factors of its radius.
    lumps: [f32; 5],
}

impl Monster {
    /// The monster `hash`'s bytes choose.
    pub fn from_hash(hash: &[u8]) -> Self {
        let mut dice = Dice::from_hash(hash);
        let hue = dice.between(0.0, 360.0);
        let saturation = dice.between(0.5, 0.75);
        let lightness = dice.between(0.52, 0.64);
        let accent_hue = hue + dice.pick(&[150.0, 180.0, 210.0, 45.0, -45.0]);
        let body = hsl(hue, saturation, lightness);
        let palette = Palette {
            body,
            shade: hsl(hue, saturation, lightness - 0.12),
            outline: hsl(hue, 0.45, 0.18),
            accent: hsl(accent_hue, 0.7, 0.62),
            light: mix(body, [0xff; 4], 0.5),
        };
        let body = dice.pick(&[Body::Round, Body::Egg, Body::Ghost, Body::Block, Body::Blob]);
        let eyes = dice.pick(&[
            Eyes::Pair,
            Eyes::Cyclops,
            Eyes::Three,
            Eyes::Sleepy,
            Eyes::Googly,
            Eyes::Happy,
        ]);
        let mouth = dice.pick(&[
            Mouth::Smile,
            Mouth::Fangs,
            Mouth::Oh,
            Mouth::Teeth,
            Mouth::Tongue,
            Mouth::Tooth,
        ]);
        let top = dice.pick(&[
            Top::Tuft,
            Top::Horns,
            Top::CatEars,
            Top::BearEars,
            Top::Antennae,
            Top::Unicorn,
        ]);
        let limbs = dice.pick(&[
            Limbs::Feet,
            Limbs::Stubby,
            Limbs::Waving,
            Limbs::Tentacles,
            Limbs::Legs,
        ]);
        let marks = dice.pick(&[Marks::Plain, Marks::Spots, Marks::Belly]);
        let half = (dice.between(23.0, 29.0), dice.between(25.0, 30.0));
        let gaze = (dice.between(-1.0, 1.0), dice.between(-1.0, 1.0));
        let lumps = [0; 5].map(|_| dice.between(0.9, 1.08));
        Self {
            palette,
            body,
            eyes,
            mouth,
            top,
            limbs,
            marks,
            half,
            gaze,
            lumps,
        }
    }
}

/// Draws the monster of `hash` at `size` x `size` pixels.
pub fn generate(settings: &Settings, hash: &str, size: u32) -> Result<Picture, GenerateError> {
    let bytes = check_request(hash, size)?;
    let mut canvas = Canvas::new(size, settings.background)?;
    Monster::from_hash(&bytes).draw(&mut canvas);
    Ok(canvas.into_picture())
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_kit::draw::testing::{changed_share, digest, sample_hashes};
    use guest_kit::draw::{MAX_SIZE, TRANSPARENT};

    const MD5: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";
    const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";
    const SHA256: &str = "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c";

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, GenerateError> {
        Settings::from_lookup(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn draw(hash: &str, size: u32) -> Picture {
        generate(&Settings::default(), hash, size).expect("draws")
    }

    fn at(picture: &Picture, x: u32, y: u32) -> Rgba {
        let start = (y as usize * picture.size as usize + x as usize) * 4;
        picture.data[start..start + 4].try_into().expect("4 bytes")
    }

    #[test]
    fn every_size_has_the_right_number_of_bytes() {
        let sizes = (1..=64).chain([80, 127, 128, 255, 256, 512, 1000, MAX_SIZE]);
        for size in sizes {
            let picture = draw(MD5, size);
            assert_eq!(picture.size, size);
            assert_eq!(
                picture.data.len(),
                size as usize * size as usize * 4,
                "{size}"
            );
        }
        for hash in [SHA1, SHA256] {
            assert_eq!(draw(hash, 33).data.len(), 33 * 33 * 4);
        }
    }

    #[test]
    fn the_same_request_gives_the_same_pixels() {
        assert_eq!(draw(MD5, 120), draw(MD5, 120));
        assert_eq!(draw(&MD5.to_uppercase(), 120), draw(MD5, 120));
        // Golden digests: the pixels are part of the contract (the host caches them and tags
        // them with an ETag), and Wasm draws the same ones. A deliberate change of the design
        // updates these; an accidental one (a dependency's feature turning on SIMD) fails here.
        let golden = [
            (MD5, 80, 6_586_619_689_781_849_135),
            (SHA1, 17, 7_809_475_554_402_597_053),
            (SHA256, 256, 15_007_759_930_862_406_440),
            (MD5, 7, 15_540_012_106_303_669_671),
        ];
        for (hash, size, expected) in golden {
            assert_eq!(digest(&draw(hash, size).data), expected, "{hash} at {size}");
        }
    }

    #[test]
    fn different_hashes_give_visibly_different_monsters() {
        let pictures: Vec<(String, Vec<u8>)> = sample_hashes(300)
            .into_iter()
            .map(|hash| {
                let data = draw(&hash, 32).data;
                (hash, data)
            })
            .collect();
        for (i, (a, pa)) in pictures.iter().enumerate() {
            for (b, pb) in &pictures[i + 1..] {
                let share = changed_share(pa, pb, 24);
                assert!(share > 0.05, "{a} and {b}: only {share} of pixels differ");
            }
        }
    }

    #[test]
    fn every_part_is_chosen_by_some_hash() {
        let monsters: Vec<Monster> = sample_hashes(400)
            .iter()
            .map(|hash| Monster::from_hash(&check_request(hash, 1).expect("valid")))
            .collect();
        macro_rules! all_seen {
            ($field:ident, $($variant:expr),+) => {
                for variant in [$($variant),+] {
                    assert!(
                        monsters.iter().any(|m| m.$field == variant),
                        "no monster has {variant:?}"
                    );
                }
            };
        }
        all_seen!(
            body,
            Body::Round,
            Body::Egg,
            Body::Ghost,
            Body::Block,
            Body::Blob
        );
        all_seen!(
            eyes,
            Eyes::Pair,
            Eyes::Cyclops,
            Eyes::Three,
            Eyes::Sleepy,
            Eyes::Googly,
            Eyes::Happy
        );
        all_seen!(
            mouth,
            Mouth::Smile,
            Mouth::Fangs,
            Mouth::Oh,
            Mouth::Teeth,
            Mouth::Tongue,
            Mouth::Tooth
        );
        all_seen!(
            top,
            Top::Tuft,
            Top::Horns,
            Top::CatEars,
            Top::BearEars,
            Top::Antennae,
            Top::Unicorn
        );
        all_seen!(
            limbs,
            Limbs::Feet,
            Limbs::Stubby,
            Limbs::Waving,
            Limbs::Tentacles,
            Limbs::Legs
        );
        all_seen!(marks, Marks::Plain, Marks::Spots, Marks::Belly);
    }

    #[test]
    fn the_monster_stands_on_the_background() {
        let background = [1, 2, 3, 255];
        let settings = Settings { background };
        for hash in [MD5, SHA1, SHA256] {
            let picture = generate(&settings, hash, 100).expect("draws");
            let body = Monster::from_hash(&check_request(hash, 1).expect("valid"))
                .palette
                .body;
            for (x, y) in [(0, 0), (99, 0), (0, 99), (99, 99), (2, 50), (97, 50)] {
                assert_eq!(at(&picture, x, y), background, "{hash}: {x},{y}");
            }
            // Below the eyes and beside the mouth: the body.
            let (cx, cy) = parts::CENTRE;
            assert_eq!(at(&picture, cx as u32 - 14, cy as u32 + 2), body, "{hash}");
            // One pixel is one colour, neither the background nor empty.
            let dot = generate(&settings, hash, 1).expect("draws");
            assert_ne!(at(&dot, 0, 0), background, "{hash}");
        }
        let clear = generate(
            &Settings {
                background: TRANSPARENT,
            },
            MD5,
            64,
        )
        .expect("draws");
        assert_eq!(at(&clear, 0, 0), TRANSPARENT);
        assert_eq!(at(&clear, 32, 40)[3], 255);
    }

    #[test]
    fn bad_hashes_and_sizes_are_invalid_input() {
        for (hash, size) in [
            ("", 64),
            ("0bc83cb571cd1c50ba6f3e8a78ef134", 64),
            ("0bc83cb571cd1c50ba6f3e8a78ef134é", 64),
            (MD5, 0),
            (MD5, MAX_SIZE + 1),
        ] {
            assert!(
                matches!(
                    generate(&Settings::default(), hash, size),
                    Err(GenerateError::InvalidInput(_))
                ),
                "{hash:?} at {size}"
            );
        }
    }

    #[test]
    fn settings_defaults_and_values() {
        assert_eq!(settings(&[]), Ok(Settings::default()));
        assert_eq!(Settings::default().background, [0xf4, 0xf1, 0xea, 0xff]);
        let good = [
            ("#000000", [0, 0, 0, 255]),
            ("#FFFFFF80", [255, 255, 255, 128]),
            ("transparent", TRANSPARENT),
        ];
        for (value, expected) in good {
            assert_eq!(
                settings(&[("background", value)]).map(|s| s.background),
                Ok(expected),
                "{value}"
            );
        }
        for value in ["white", "#fff", "", "#00000g"] {
            assert_eq!(
                settings(&[("background", value)]),
                Err(GenerateError::misconfigured(
                    PLUGIN,
                    "`background` must be `#rrggbb`, `#rrggbbaa` or `transparent`"
                )),
                "{value:?}"
            );
        }
    }
}
