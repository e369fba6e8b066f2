//! The domain's pure parts: avatar hashes, requested sides, image formats, ratings, default
//! styles, upload versions, storage keys (built and parsed here only), validators and
//! conditional requests, and the clock. No I/O here.

pub mod clock;
pub mod etag;
pub mod format;
pub mod hash;
pub mod key;
pub mod rating;
pub mod side;
pub mod style;
pub mod validators;
pub mod version;

pub use etag::{Recipe, etag_of};
pub use format::ImageFormat;
pub use hash::{AvatarHash, InvalidHash};
pub use key::{VariantKey, avatar_prefix};
pub use rating::Rating;
pub use side::{InvalidSize, MAX_REQUESTED_SIDE, choose_side, parse_side};
pub use style::Style;
pub use validators::{Etags, Held, Validators};
pub use version::Version;
