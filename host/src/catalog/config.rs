//! The `catalog` section of the configuration, owned by the catalog backends: which
//! database, and how to reach it. Defaults live here.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::secret::{SecretError, read_secret_file};

/// A catalog backend. Default: `{"type": "sqlite", "path": "data/avatar.db"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum CatalogConfig {
    /// An embedded SQLite database file.
    Sqlite {
        /// The database file; relative to the config file. Created if missing.
        path: PathBuf,
    },
    /// PostgreSQL, through a connection pool.
    Postgres {
        /// `postgres://user@host:port/database` (a password here works, but prefer
        /// `password_file` or `AVATAR__CATALOG__PASSWORD`). Required.
        url: String,
        /// The password, overriding any in `url`. Default: none.
        #[serde(default)]
        password: Option<String>,
        /// A file holding the password (one line; e.g. a mounted secret). Default: none.
        #[serde(default)]
        password_file: Option<PathBuf>,
        /// Connections in the pool. Default 16.
        #[serde(default = "default_pool_size")]
        pool_size: usize,
        /// Apply pending migrations when `serve` starts (otherwise run `avatar migrate`).
        /// Default `true`.
        #[serde(default = "default_true")]
        migrate_on_start: bool,
    },
}

fn default_pool_size() -> usize {
    16
}

fn default_true() -> bool {
    true
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self::Sqlite {
            path: PathBuf::from("data/avatar.db"),
        }
    }
}

/// Why the PostgreSQL connection URL cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("catalog.url must look like postgres://user@host/db")]
    Shape,
}

impl CatalogConfig {
    /// Whether `serve` migrates at start-up.
    pub fn migrate_on_start(&self) -> bool {
        match self {
            Self::Sqlite { .. } => true,
            Self::Postgres {
                migrate_on_start, ..
            } => *migrate_on_start,
        }
    }

    /// Makes relative paths relative to `base` (the config file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        let path = match self {
            Self::Sqlite { path } => Some(path),
            Self::Postgres { password_file, .. } => password_file.as_mut(),
        };
        if let Some(path) = path
            && path.is_relative()
        {
            *path = base.join(&*path);
        }
    }

    /// The PostgreSQL URL with the configured password (from `password` or `password_file`)
    /// in place of any in `url`; `None` for SQLite.
    pub fn postgres_url(&self) -> Result<Option<String>, UrlError> {
        let Self::Postgres {
            url,
            password,
            password_file,
            ..
        } = self
        else {
            return Ok(None);
        };
        let secret = match (password, password_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(file)) => Some(read_secret_file(file)?),
            (None, None) => None,
        };
        match secret {
            Some(secret) => with_password(url, &secret).map(Some),
            None => Ok(Some(url.clone())),
        }
    }
}

/// `url` with its password replaced by `password` (percent-encoded).
fn with_password(url: &str, password: &str) -> Result<String, UrlError> {
    let encoded: String = password
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let (scheme, rest) = url.split_once("://").ok_or(UrlError::Shape)?;
    let (userinfo, host) = rest.split_once('@').ok_or(UrlError::Shape)?;
    let user = userinfo.split(':').next().unwrap_or(userinfo);
    Ok(format!("{scheme}://{user}:{encoded}@{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres(extra: serde_json::Value) -> CatalogConfig {
        let mut json =
            serde_json::json!({"type": "postgres", "url": "postgres://app:old@db:5432/avatar"});
        json.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_password_file_ending_in_a_line_break_gives_the_password_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "p@ss word\n").unwrap();
        let mut config = postgres(serde_json::json!({"password_file": "pw"}));
        config.resolve_paths(dir.path());
        assert_eq!(
            config.postgres_url().unwrap().unwrap(),
            "postgres://app:p%40ss%20word@db:5432/avatar"
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            postgres(serde_json::json!({}))
                .postgres_url()
                .unwrap()
                .unwrap(),
            "postgres://app:old@db:5432/avatar"
        );
        assert_eq!(
            postgres(serde_json::json!({"password": "n/w"}))
                .postgres_url()
                .unwrap()
                .unwrap(),
            "postgres://app:n%2Fw@db:5432/avatar"
        );
        let bad: CatalogConfig = serde_json::from_value(
            serde_json::json!({"type": "postgres", "url": "db:5432", "password": "x"}),
        )
        .unwrap();
        assert!(matches!(bad.postgres_url(), Err(UrlError::Shape)));
        assert_eq!(CatalogConfig::default().postgres_url().unwrap(), None);
    }
}
