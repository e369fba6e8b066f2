//! `avatar token`: mint a JWT that authorises uploads and deletes of one hash (a `hash`
//! claim) or of an email address's hashes (an `email` claim) at a tenant whose auth plugin is
//! `auth-jwt`, signed with that tenant's own settings.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use avatar_host::avatar::AvatarHash;
use avatar_host::config::TenantConfig;

/// What `avatar token` was asked for.
pub struct Request {
    pub config: PathBuf,
    pub hash: Option<String>,
    pub email: Option<String>,
    pub tenant: Option<String>,
    pub ttl: u64,
    pub subject: String,
    pub private_key: Option<PathBuf>,
}

pub fn run(request: &Request) -> Result<()> {
    let Request {
        config: path,
        hash,
        email,
        tenant,
        ttl,
        subject,
        private_key,
    } = request;
    let config = super::load(path)?;
    let hash = hash
        .as_deref()
        .map(AvatarHash::parse)
        .transpose()
        .context("--hash")?;
    if let Some(email) = email
        && !email.contains('@')
    {
        bail!("--email {email:?} is not an email address");
    }
    let tenant: &TenantConfig = match tenant {
        Some(id) => config
            .tenants
            .iter()
            .find(|t| &t.id == id)
            .with_context(|| format!("no tenant {id:?} in {}", path.display()))?,
        None => &config.tenants[0],
    };
    if tenant.auth.plugin != "auth-jwt" {
        bail!(
            "tenant {} does not use auth-jwt; `avatar token` mints JWTs only",
            tenant.id
        );
    }
    let settings = tenant.auth.settings();
    let algorithm: Algorithm = settings
        .get("algorithm")
        .map_or("HS256", String::as_str)
        .parse()
        .context("tenants[].auth.config.algorithm")?;
    let key = match (private_key, algorithm) {
        (None, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => {
            let secret = settings
                .get("secret")
                .with_context(|| format!("tenant {} has no auth.config.secret", tenant.id))?;
            EncodingKey::from_secret(secret.as_bytes())?
        }
        (None, _) => bail!(
            "tenant {} signs with {algorithm:?}: pass --private-key",
            tenant.id
        ),
        (Some(file), alg) => {
            let pem = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            match alg {
                Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem)?,
                Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem)?,
                _ => EncodingKey::from_rsa_pem(&pem)?,
            }
        }
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut claims = serde_json::json!({
        "sub": subject,
        "tenant": tenant.id,
        "iat": now,
        "exp": now + ttl,
    });
    if let Some(hash) = &hash {
        claims["hash"] = hash.as_str().into();
    }
    if let Some(email) = email {
        claims["email"] = email.as_str().into();
    }
    println!("{}", encode(&Header::new(algorithm), &claims, &key)?);
    Ok(())
}
