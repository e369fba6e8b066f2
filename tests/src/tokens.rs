//! Tokens for the test servers' tenants: HS256 signing with a server's secret, the clock JWT
//! claims count in, and tokens bound to one avatar and tenant.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::server::{TENANT, TestServer};

/// Seconds since the epoch, as JWT claims count time.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Signs `claims` with HS256 and `secret`.
pub fn sign(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).expect("an HMAC key");
    encode(&Header::new(Algorithm::HS256), claims, &key).expect("signing a token")
}

impl TestServer {
    /// The tenant's JWT secret.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// A valid token for changing `hash`, valid for ten minutes.
    pub fn token(&self, hash: &str) -> String {
        self.token_for(TENANT, hash)
    }

    /// A valid token for changing `hash` at `tenant` (one configured with this server's
    /// secret), valid for ten minutes.
    pub fn token_for(&self, tenant: &str, hash: &str) -> String {
        let now = unix_now();
        self.sign(&json!({
            "sub": "e2e",
            "hash": hash,
            "tenant": tenant,
            "iat": now,
            "exp": now + 600,
        }))
    }

    /// Signs `claims` with this server's secret.
    pub fn sign(&self, claims: &Value) -> String {
        sign(claims, &self.secret)
    }
}
