//! The wavatar itself: settings, the face the hash chooses, and the drawing. Plain Rust with no
//! Wasm types, so that it builds and is tested natively; the component only converts types.
//!
//! # From hash to picture
//! The hash seeds guest-kit's [`Dice`]; in a fixed order they choose the colours (background,
//! face, features), the face's wavy outline (how many waves, how deep, where they start), then
//! the eyes, brows, mouth and hair, and the few measures that vary within them. Every choice
//! depends on every byte of the hash. Nothing is outlined: the face is soft shapes laid over
//! each other (a shadow, the face, a highlight, cheeks), drawn on a square of
//! [`UNITS`](guest_kit::draw::UNITS) design units and scaled to the size asked for with
//! anti-aliased edges.

pub use guest_kit::draw::Picture;
pub use guest_kit::{GuestError as GenerateError, Rgba};

use guest_kit::draw::{Canvas, Dice, background_setting, check_request, hsl, mix};

mod parts;

/// The plugin's name, in its error messages.
const PLUGIN: &str = "generate-wavatar";

/// The plugin's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Settings {
    /// Behind the face: one colour, or (`None`, the default) soft waves in colours from the
    /// hash.
    pub background: Option<Rgba>,
}

impl Settings {
    /// The background colour, or `transparent`.
    pub const BACKGROUND_KEY: &str = "background";

    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GenerateError> {
        Ok(Self {
            background: background_setting(PLUGIN, &get, Self::BACKGROUND_KEY)?,
        })
    }
}

/// The eyes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eyes {
    /// White eyes with round pupils.
    Round,
    /// Two dark dots.
    Dots,
    /// Closed, smiling arcs.
    Closed,
    /// Big eyes with a coloured iris and a shine.
    Big,
    /// One dot and one closed arc.
    Wink,
    /// White eyes under wavy lids.
    Lidded,
}

/// The eyebrows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Brows {
    /// Raised arches.
    Arched,
    /// Straight and level.
    Flat,
    /// Slanting down to the middle.
    Cross,
    /// Slanting up to the middle.
    Worried,
    /// Two waves.
    Wavy,
}

/// The mouth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mouth {
    /// A curved smile.
    Smile,
    /// A wavy line.
    Wavy,
    /// An open grin with a tongue.
    Grin,
    /// A small round "oh".
    Oh,
    /// A wide, filled crescent.
    Beam,
    /// A lopsided smirk.
    Smirk,
}

/// What grows on top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hair {
    /// Nothing.
    Bald,
    /// A wavy fringe across the top of the face.
    Fringe,
    /// A single curl.
    Curl,
}

/// The colours of one wavatar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    /// The background and its waves, lightest first.
    pub background: [Rgba; 3],
    /// The face.
    pub face: Rgba,
    /// The face's shadow.
    pub shadow: Rgba,
    /// Pupils, brows, mouth lines.
    pub ink: Rgba,
    /// Irises and the tongue's mouth.
    pub feature: Rgba,
    /// Hair.
    pub hair: Rgba,
    /// Cheeks.
    pub blush: Rgba,
}

/// Everything the hash chooses about a wavatar.
#[derive(Clone, Debug, PartialEq)]
pub struct Wavatar {
    /// Its colours.
    pub palette: Palette,
    /// Its eyes.
    pub eyes: Eyes,
    /// Its brows.
    pub brows: Brows,
    /// Its mouth.
    pub mouth: Mouth,
    /// Its hair.
    pub hair: Hair,
    /// Whether the cheeks are rosy.
    pub cheeks: bool,
    /// The face's outline: waves around it, their depth (a fraction of the radius) and phase
    /// (degrees); a second, finer ripple the same way.
    waves: [(f32, f32, f32); 2],
    /// The face's radius and how much taller than wide it is.
    shape: (f32, f32),
    /// The background's two waves: their heights and phases.
    swell: [(f32, f32); 2],
    /// Where the pupils look, from -1 to 1 on each axis.
    gaze: (f32, f32),
    /// How far apart the eyes are and how wide the mouth is, as fractions of the radius.
    features: (f32, f32),
}

impl Wavatar {
    /// The wavatar `hash`'s bytes choose.
    pub fn from_hash(hash: &[u8]) -> Self {
        let mut dice = Dice::from_hash(hash);
        let face_hue = dice.between(0.0, 360.0);
        let back_hue = face_hue + dice.pick(&[150.0, 180.0, 210.0, 60.0, -60.0, 100.0, -100.0]);
        let face = hsl(face_hue, dice.between(0.45, 0.7), dice.between(0.6, 0.72));
        let back = hsl(back_hue, dice.between(0.35, 0.6), dice.between(0.78, 0.86));
        let hair_hue = face_hue + dice.pick(&[0.0, 30.0, -30.0, 180.0]);
        let palette = Palette {
            background: [back, mix(back, face, 0.18), mix(back, face, 0.34)],
            face,
            shadow: mix(face, [0x30, 0x20, 0x40, 0xff], 0.18),
            ink: hsl(face_hue, 0.45, 0.2),
            feature: hsl(back_hue, 0.6, 0.45),
            hair: hsl(hair_hue, dice.between(0.35, 0.6), dice.between(0.28, 0.42)),
            blush: hsl(350.0, 0.8, 0.7),
        };
        let eyes = dice.pick(&[
            Eyes::Round,
            Eyes::Dots,
            Eyes::Closed,
            Eyes::Big,
            Eyes::Wink,
            Eyes::Lidded,
        ]);
        let brows = dice.pick(&[
            Brows::Arched,
            Brows::Flat,
            Brows::Cross,
            Brows::Worried,
            Brows::Wavy,
        ]);
        let mouth = dice.pick(&[
            Mouth::Smile,
            Mouth::Wavy,
            Mouth::Grin,
            Mouth::Oh,
            Mouth::Beam,
            Mouth::Smirk,
        ]);
        let hair = dice.pick(&[Hair::Bald, Hair::Fringe, Hair::Curl]);
        let cheeks = dice.one_in(2);
        let waves = [
            (
                dice.pick(&[3.0, 4.0, 5.0]),
                dice.between(0.025, 0.05),
                dice.between(0.0, 360.0),
            ),
            (
                dice.pick(&[6.0, 7.0]),
                dice.between(0.004, 0.01),
                dice.between(0.0, 360.0),
            ),
        ];
        let shape = (dice.between(31.0, 35.0), dice.between(1.0, 1.1));
        let swell = [0; 2].map(|_| (dice.between(0.0, 1.0), dice.between(0.0, 360.0)));
        let gaze = (dice.between(-1.0, 1.0), dice.between(-1.0, 1.0));
        let features = (dice.between(0.32, 0.44), dice.between(0.26, 0.42));
        Self {
            palette,
            eyes,
            brows,
            mouth,
            hair,
            cheeks,
            waves,
            shape,
            swell,
            gaze,
            features,
        }
    }
}

/// Draws the wavatar of `hash` at `size` x `size` pixels.
pub fn generate(settings: &Settings, hash: &str, size: u32) -> Result<Picture, GenerateError> {
    let bytes = check_request(hash, size)?;
    let wavatar = Wavatar::from_hash(&bytes);
    let mut canvas = Canvas::new(
        size,
        settings.background.unwrap_or(wavatar.palette.background[0]),
    )?;
    if settings.background.is_none() {
        wavatar.draw_background(&mut canvas);
    }
    wavatar.draw(&mut canvas);
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

    fn wavatar(hash: &str) -> Wavatar {
        Wavatar::from_hash(&check_request(hash, 1).expect("valid"))
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
            (MD5, 80, 7_168_077_204_904_570_851),
            (SHA1, 17, 1_722_807_833_757_772_750),
            (SHA256, 256, 6_390_763_234_701_340_635),
            (MD5, 7, 4_417_254_306_129_531_391),
        ];
        for (hash, size, expected) in golden {
            assert_eq!(digest(&draw(hash, size).data), expected, "{hash} at {size}");
        }
    }

    #[test]
    fn different_hashes_give_visibly_different_faces() {
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
    fn every_feature_is_chosen_by_some_hash() {
        let faces: Vec<Wavatar> = sample_hashes(400).iter().map(|h| wavatar(h)).collect();
        macro_rules! all_seen {
            ($field:ident, $($variant:expr),+) => {
                for variant in [$($variant),+] {
                    assert!(
                        faces.iter().any(|f| f.$field == variant),
                        "no face has {variant:?}"
                    );
                }
            };
        }
        all_seen!(
            eyes,
            Eyes::Round,
            Eyes::Dots,
            Eyes::Closed,
            Eyes::Big,
            Eyes::Wink,
            Eyes::Lidded
        );
        all_seen!(
            brows,
            Brows::Arched,
            Brows::Flat,
            Brows::Cross,
            Brows::Worried,
            Brows::Wavy
        );
        all_seen!(
            mouth,
            Mouth::Smile,
            Mouth::Wavy,
            Mouth::Grin,
            Mouth::Oh,
            Mouth::Beam,
            Mouth::Smirk
        );
        all_seen!(hair, Hair::Bald, Hair::Fringe, Hair::Curl);
        all_seen!(cheeks, true, false);
    }

    #[test]
    fn the_background_is_waves_from_the_hash_or_one_colour() {
        for hash in [MD5, SHA1, SHA256] {
            let palette = wavatar(hash).palette;
            let picture = draw(hash, 100);
            // The sky above the waves, the lowest wave at the bottom, the face in the middle.
            assert_eq!(at(&picture, 0, 0), palette.background[0], "{hash}");
            assert_eq!(at(&picture, 99, 0), palette.background[0], "{hash}");
            assert_eq!(at(&picture, 0, 99), palette.background[2], "{hash}");
            let (cx, cy) = parts::CENTRE;
            assert_eq!(
                at(&picture, cx as u32, cy as u32 + 7),
                palette.face,
                "{hash}"
            );
            // A colour set in the settings is all there is behind the face.
            let plain = [9, 8, 7, 255];
            let settings = Settings {
                background: Some(plain),
            };
            let picture = generate(&settings, hash, 100).expect("draws");
            for (x, y) in [(0, 0), (99, 0), (0, 99), (99, 99), (50, 99)] {
                assert_eq!(at(&picture, x, y), plain, "{hash}: {x},{y}");
            }
            // One pixel is one colour, neither the background nor empty.
            let dot = generate(&settings, hash, 1).expect("draws");
            assert_ne!(at(&dot, 0, 0), plain, "{hash}");
        }
        let clear = Settings {
            background: Some(TRANSPARENT),
        };
        let picture = generate(&clear, MD5, 64).expect("draws");
        assert_eq!(at(&picture, 0, 0), TRANSPARENT);
        assert_eq!(at(&picture, 0, 63), TRANSPARENT);
        assert_eq!(at(&picture, 32, 34)[3], 255);
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
        assert_eq!(Settings::default().background, None);
        let good = [
            ("#000000", [0, 0, 0, 255]),
            ("#FFFFFF80", [255, 255, 255, 128]),
            ("transparent", TRANSPARENT),
        ];
        for (value, expected) in good {
            assert_eq!(
                settings(&[("background", value)]).map(|s| s.background),
                Ok(Some(expected)),
                "{value}"
            );
        }
        for value in ["white", "#fff", "", "#00000g", "waves"] {
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
