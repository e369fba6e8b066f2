//! The robot itself: settings, the parts the hash chooses, and the drawing. Plain Rust with no
//! Wasm types, so that it builds and is tested natively; the component only converts types.
//!
//! # From hash to picture
//! The hash seeds guest-kit's [`Dice`]; in a fixed order they choose the colours (a metal and
//! the glow of its lights), then each part (body and shoulders, head, eyes, mouth, antenna,
//! ears, rivets) and the head's width. Every choice depends on every byte of the hash. Parts
//! are drawn back to front on a square of [`UNITS`](guest_kit::draw::UNITS) design units,
//! outlined like a cartoon, then scaled to the size asked for with anti-aliased edges.

pub use guest_kit::draw::Picture;
pub use guest_kit::{GuestError as GenerateError, Rgba};

use guest_kit::draw::{Canvas, Dice, background_setting, check_request, hsl, mix};

mod parts;

/// The plugin's name, in its error messages.
const PLUGIN: &str = "generate-robohash";

/// The plugin's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Behind the robot.
    pub background: Rgba,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            background: [0xe9, 0xee, 0xf2, 0xff],
        }
    }
}

impl Settings {
    /// The background colour, or `transparent`.
    pub const BACKGROUND_KEY: &str = "background";

    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GenerateError> {
        Ok(Self {
            background: background_setting(PLUGIN, &get, Self::BACKGROUND_KEY)?
                .unwrap_or(Self::default().background),
        })
    }
}

/// The body and shoulders, at the bottom of the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// A box with a panel of lights.
    Boxy,
    /// Round shoulder joints beside a torso.
    Shoulders,
    /// Broad at the bottom, with an emblem.
    Wedge,
    /// Riveted armour with a stripe.
    Armour,
}

/// The head's outline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// A box with soft corners.
    Box,
    /// A dome on top of straight sides.
    Dome,
    /// Narrower at the top.
    Tapered,
    /// A box holding a dark screen, the face glowing on it.
    Screen,
    /// A box with its corners cut off.
    Octagon,
    /// An oval.
    Round,
}

/// The eyes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eyes {
    /// Two round lenses.
    Lenses,
    /// A visor across the face.
    Visor,
    /// Two square lights.
    Square,
    /// One big lens.
    Cyclops,
    /// Goggles joined by a bridge.
    Goggles,
    /// Two narrow slits.
    Slits,
}

/// The mouth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mouth {
    /// A speaker grille.
    Grille,
    /// A row of square teeth.
    Teeth,
    /// A thin slot.
    Slot,
    /// A smile of little lights.
    Lights,
    /// A wave on a screen.
    Wave,
}

/// What sticks out of the top of the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Antenna {
    /// One rod with a light on it.
    Rod,
    /// Two rods in a V.
    Pair,
    /// A zigzag bolt.
    Bolt,
    /// A small dish.
    Dish,
    /// A light bulb.
    Bulb,
    /// A spring with a knob.
    Spring,
}

/// What sits on either side of the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ears {
    /// Nothing.
    Bare,
    /// Bolts.
    Bolts,
    /// Ear muffs.
    Muffs,
    /// Cones.
    Cones,
}

/// The colours of one robot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    /// The head.
    pub metal: Rgba,
    /// The body: the head's metal, or another.
    pub chassis: Rgba,
    /// Shaded parts: the neck, joints, ears.
    pub dark: Rgba,
    /// Highlights and lens rims.
    pub light: Rgba,
    /// The outline of every part.
    pub outline: Rgba,
    /// Eyes, lights and screens' drawings.
    pub glow: Rgba,
    /// Screens and mouths.
    pub screen: Rgba,
}

/// Everything the hash chooses about a robot.
#[derive(Clone, Debug, PartialEq)]
pub struct Robot {
    /// Its colours.
    pub palette: Palette,
    /// Its parts.
    pub body: Body,
    /// Its head.
    pub head: Head,
    /// Its eyes.
    pub eyes: Eyes,
    /// Its mouth.
    pub mouth: Mouth,
    /// Its antenna.
    pub antenna: Antenna,
    /// Its ears.
    pub ears: Ears,
    /// Whether the head has rivets in its corners.
    pub rivets: bool,
    /// Half the head's width, in design units.
    half_width: f32,
    /// The top of the head, in design units (its bottom is fixed, on the neck).
    top: f32,
    /// How far apart the eyes are, as a fraction of the head's half width.
    spread: f32,
}

impl Robot {
    /// The robot `hash`'s bytes choose.
    pub fn from_hash(hash: &[u8]) -> Self {
        let mut dice = Dice::from_hash(hash);
        let hue = dice.between(0.0, 360.0);
        let saturation = dice.between(0.2, 0.5);
        let lightness = dice.between(0.55, 0.66);
        let metal = hsl(hue, saturation, lightness);
        let chassis_hue = hue + dice.pick(&[0.0, 0.0, 180.0, 40.0, -40.0]);
        let glow_hue = dice.pick(&[185.0, 0.0, 50.0, 120.0, 300.0, hue + 180.0]);
        let palette = Palette {
            metal,
            chassis: hsl(chassis_hue, saturation, lightness - 0.05),
            dark: hsl(hue, saturation, lightness - 0.17),
            light: mix(metal, [0xff; 4], 0.45),
            outline: hsl(hue, 0.3, 0.15),
            glow: hsl(glow_hue, 0.95, 0.6),
            screen: hsl(hue, 0.3, 0.18),
        };
        let body = dice.pick(&[Body::Boxy, Body::Shoulders, Body::Wedge, Body::Armour]);
        let head = dice.pick(&[
            Head::Box,
            Head::Dome,
            Head::Tapered,
            Head::Screen,
            Head::Octagon,
            Head::Round,
        ]);
        let eyes = dice.pick(&[
            Eyes::Lenses,
            Eyes::Visor,
            Eyes::Square,
            Eyes::Cyclops,
            Eyes::Goggles,
            Eyes::Slits,
        ]);
        let mouth = dice.pick(&[
            Mouth::Grille,
            Mouth::Teeth,
            Mouth::Slot,
            Mouth::Lights,
            Mouth::Wave,
        ]);
        let antenna = dice.pick(&[
            Antenna::Rod,
            Antenna::Pair,
            Antenna::Bolt,
            Antenna::Dish,
            Antenna::Bulb,
            Antenna::Spring,
        ]);
        let ears = dice.pick(&[Ears::Bare, Ears::Bolts, Ears::Muffs, Ears::Cones]);
        let rivets = dice.one_in(2);
        let half_width = dice.between(21.0, 27.0);
        let top = dice.between(20.0, 25.0);
        let spread = dice.between(0.38, 0.5);
        Self {
            palette,
            body,
            head,
            eyes,
            mouth,
            antenna,
            ears,
            rivets,
            half_width,
            top,
            spread,
        }
    }
}

/// Draws the robot of `hash` at `size` x `size` pixels.
pub fn generate(settings: &Settings, hash: &str, size: u32) -> Result<Picture, GenerateError> {
    let bytes = check_request(hash, size)?;
    let mut canvas = Canvas::new(size, settings.background)?;
    Robot::from_hash(&bytes).draw(&mut canvas);
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
            (MD5, 80, 18_391_991_109_073_232_147),
            (SHA1, 17, 13_950_226_926_583_231_260),
            (SHA256, 256, 5_819_332_750_702_891_332),
            (MD5, 7, 12_908_058_208_520_037_294),
        ];
        for (hash, size, expected) in golden {
            assert_eq!(digest(&draw(hash, size).data), expected, "{hash} at {size}");
        }
    }

    #[test]
    fn different_hashes_give_visibly_different_robots() {
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
        let robots: Vec<Robot> = sample_hashes(400)
            .iter()
            .map(|hash| Robot::from_hash(&check_request(hash, 1).expect("valid")))
            .collect();
        macro_rules! all_seen {
            ($field:ident, $($variant:expr),+) => {
                for variant in [$($variant),+] {
                    assert!(
                        robots.iter().any(|r| r.$field == variant),
                        "no robot has {variant:?}"
                    );
                }
            };
        }
        all_seen!(body, Body::Boxy, Body::Shoulders, Body::Wedge, Body::Armour);
        all_seen!(
            head,
            Head::Box,
            Head::Dome,
            Head::Tapered,
            Head::Screen,
            Head::Octagon,
            Head::Round
        );
        all_seen!(
            eyes,
            Eyes::Lenses,
            Eyes::Visor,
            Eyes::Square,
            Eyes::Cyclops,
            Eyes::Goggles,
            Eyes::Slits
        );
        all_seen!(
            mouth,
            Mouth::Grille,
            Mouth::Teeth,
            Mouth::Slot,
            Mouth::Lights,
            Mouth::Wave
        );
        all_seen!(
            antenna,
            Antenna::Rod,
            Antenna::Pair,
            Antenna::Bolt,
            Antenna::Dish,
            Antenna::Bulb,
            Antenna::Spring
        );
        all_seen!(ears, Ears::Bare, Ears::Bolts, Ears::Muffs, Ears::Cones);
        all_seen!(rivets, true, false);
    }

    #[test]
    fn the_robot_stands_on_the_background() {
        let background = [1, 2, 3, 255];
        let settings = Settings { background };
        for hash in [MD5, SHA1, SHA256] {
            let picture = generate(&settings, hash, 100).expect("draws");
            let palette = Robot::from_hash(&check_request(hash, 1).expect("valid")).palette;
            for (x, y) in [(0, 0), (99, 0), (0, 40), (99, 40), (3, 70), (96, 70)] {
                assert_eq!(at(&picture, x, y), background, "{hash}: {x},{y}");
            }
            // The neck's shaded metal, between the head and the shoulders.
            let neck = parts::BOTTOM as u32 + 5;
            assert_eq!(at(&picture, 46, neck), palette.dark, "{hash}");
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
        assert_eq!(at(&clear, 32, 30)[3], 255);
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
        assert_eq!(Settings::default().background, [0xe9, 0xee, 0xf2, 0xff]);
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
