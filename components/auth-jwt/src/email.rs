//! An `email` claim's hashes: the address trimmed and lower-cased, as Gravatar and Libravatar
//! clients hash it, then its MD5, SHA-1 and SHA-256 in lower-case hex. The plugin returns them
//! as the grant's aliases; the address itself goes no further.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The longest address accepted (RFC 5321's limit on a path).
pub const MAX_EMAIL_BYTES: usize = 254;

/// The address as clients hash it: surrounding blanks removed, lower case.
pub fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Whether `email` looks enough like an address to vouch for: one `@` with something on each
/// side, no blanks or control characters inside, not too long.
pub fn looks_like_address(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && email.len() <= MAX_EMAIL_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The MD5, SHA-1 and SHA-256 of the normalised address, in that order.
pub fn hashes(email: &str) -> [String; 3] {
    let normal = normalise(email);
    let bytes = normal.as_bytes();
    [
        hex::encode(Md5::digest(bytes)),
        hex::encode(Sha1::digest(bytes)),
        hex::encode(Sha256::digest(bytes)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_those_gravatar_clients_compute() {
        // Gravatar's documented example: " MyEmailAddress@example.com " hashes as
        // "myemailaddress@example.com".
        let [md5, sha1, sha256] = hashes(" MyEmailAddress@example.com ");
        assert_eq!(md5, "0bc83cb571cd1c50ba6f3e8a78ef1346");
        assert_eq!(sha1, "6b933a5f1b8864ac6e72157b9c58d45913b6f32c");
        assert_eq!(
            sha256,
            "84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee"
        );
        assert_eq!(
            hashes("myemailaddress@example.com"),
            hashes(" MyEmailAddress@example.com ")
        );
    }

    #[test]
    fn addresses() {
        for ok in ["a@b", "jane.doe+tag@example.com", " JANE@EXAMPLE.COM "] {
            assert!(looks_like_address(ok), "{ok}");
        }
        for bad in [
            "",
            "@",
            "a@",
            "@b",
            "ab",
            "a@b@c",
            "a b@c",
            "a@b\nc",
            &format!("{}@b", "a".repeat(300)),
        ] {
            assert!(!looks_like_address(bad), "{bad:?}");
        }
    }
}
