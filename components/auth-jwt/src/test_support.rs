//! Fixtures shared by the unit tests: the test keys, the HMAC secret, and settings built from
//! a list of pairs as the host's `config.get` would hand them over.

use crate::settings::Settings;
use crate::verify::AuthError;

pub(crate) const SECRET: &str = "an-hmac-test-secret-of-32+-bytes";

pub(crate) const RSA_PRIVATE: &str = include_str!("../../../tests/fixtures/keys/rsa-private.pem");
pub(crate) const RSA_PUBLIC: &str = include_str!("../../../tests/fixtures/keys/rsa-public.pem");
pub(crate) const EC_PRIVATE: &str = include_str!("../../../tests/fixtures/keys/ec-private.pem");
pub(crate) const EC_PUBLIC: &str = include_str!("../../../tests/fixtures/keys/ec-public.pem");
pub(crate) const ED_PRIVATE: &str =
    include_str!("../../../tests/fixtures/keys/ed25519-private.pem");
pub(crate) const ED_PUBLIC: &str = include_str!("../../../tests/fixtures/keys/ed25519-public.pem");

/// Settings read from `pairs`, as if the host held exactly those keys.
pub(crate) fn settings(pairs: &[(&str, &str)]) -> Result<Settings, AuthError> {
    Settings::from_lookup(|key| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    })
}

/// The defaults, with `SECRET`: HS256.
pub(crate) fn hs256() -> Settings {
    settings(&[("secret", SECRET)]).expect("HS256 settings are valid")
}
