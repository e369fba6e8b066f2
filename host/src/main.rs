//! The `avatar` command: parse the command line, load the configuration, call into the
//! library.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use avatar_host::avatar::AvatarHash;
use avatar_host::config::{Config, TenantConfig};

/// A self-hosted avatar service.
#[derive(Parser)]
#[command(name = "avatar", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// The configuration file.
        #[arg(long, short, default_value = "config.json", env = "AVATAR_CONFIG")]
        config: PathBuf,
        /// Listen here instead of the configured `listen` (e.g. 127.0.0.1:0 for any port).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply pending catalog migrations and exit.
    Migrate {
        #[arg(long, short, default_value = "config.json", env = "AVATAR_CONFIG")]
        config: PathBuf,
    },
    /// Print a signed token that authorises uploads and deletes of one hash.
    Token {
        #[arg(long, short, default_value = "config.json", env = "AVATAR_CONFIG")]
        config: PathBuf,
        /// The avatar hash the token is for.
        #[arg(long)]
        hash: String,
        /// The tenant; default: the first configured.
        #[arg(long)]
        tenant: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The `sub` claim.
        #[arg(long, default_value = "avatar-cli")]
        subject: String,
        /// A PEM private key, for tenants whose auth-jwt uses RS*, PS*, ES* or EdDSA.
        #[arg(long)]
        private_key: Option<PathBuf>,
    },
    /// Find stored files that no record points to, and remove them with `--delete`.
    Gc {
        #[arg(long, short, default_value = "config.json", env = "AVATAR_CONFIG")]
        config: PathBuf,
        /// Remove the orphans (without it, only report them).
        #[arg(long)]
        delete: bool,
        /// Spare files younger than this many seconds: an upload may still be committing.
        #[arg(long, default_value_t = 3600)]
        min_age: u64,
    },
    /// Inspect plugin components.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Say which world a component implements and whether it loads here, under the limits of
    /// the configuration (when it exists) or the defaults.
    Check {
        /// The `.wasm` component.
        file: PathBuf,
        #[arg(long, short, default_value = "config.json", env = "AVATAR_CONFIG")]
        config: PathBuf,
    },
    /// Show each tenant's plugins, their roles and the SHA-256 of each component.
    List {
        #[arg(long, short, default_value = "config.json", env = "AVATAR_CONFIG")]
        config: PathBuf,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wasmtime=warn,cranelift=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, listen } => serve(config, listen),
        Command::Migrate { config } => migrate(config),
        Command::Token {
            config,
            hash,
            tenant,
            ttl,
            subject,
            private_key,
        } => token(config, &hash, tenant, ttl, &subject, private_key),
        Command::Gc {
            config,
            delete,
            min_age,
        } => gc(config, delete, min_age),
        Command::Plugin {
            command: PluginCommand::Check { file, config },
        } => plugin_check(file, config),
        Command::Plugin {
            command: PluginCommand::List { config },
        } => plugin_list(config),
    }
}

fn load(path: &std::path::Path) -> Result<Config> {
    Ok(Config::load(path, std::env::vars())?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn serve(path: PathBuf, listen: Option<std::net::SocketAddr>) -> Result<()> {
    let mut config = load(&path)?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    describe(&config);
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let address = listener.local_addr()?;
        if config.public_url.is_none() {
            // With port 0 the real port is only known now.
            config.listen = address;
        }

        avatar_host::serve(config, listener, shutdown_signal()).await
    })
}

/// Says where data goes and warns about development secrets.
fn describe(config: &Config) {
    use avatar_host::config::{CatalogConfig, StorageConfig};
    match &config.storage {
        StorageConfig::Filesystem { path } => {
            tracing::info!(path = %path.display(), "images are stored in a local directory");
        }
        StorageConfig::S3(s3) => {
            tracing::info!(
                bucket = %s3.bucket,
                endpoint = s3.endpoint.as_deref().unwrap_or("AWS"),
                prefix = %s3.prefix,
                "images are stored in S3"
            );
        }
    }
    match &config.catalog {
        CatalogConfig::Sqlite { path } => {
            tracing::info!(path = %path.display(), "the catalog is an SQLite file");
        }
        CatalogConfig::Postgres { .. } => {
            tracing::info!("the catalog is in PostgreSQL");
        }
    }
    for tenant in &config.tenants {
        let secret = tenant.auth.config.get("secret").and_then(|v| v.as_str());
        if secret.is_some_and(|s| s.contains("development") || s.len() < 32) {
            tracing::warn!(
                tenant = %tenant.id,
                "!!! tenant's JWT secret is a DEVELOPMENT secret (or shorter than 32 bytes): \
                 anyone who reads the repository can mint upload tokens. Set \
                 AVATAR__TENANTS__<i>__AUTH__CONFIG__SECRET before exposing this service !!!"
            );
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

fn migrate(path: PathBuf) -> Result<()> {
    let config = load(&path)?;
    runtime()?.block_on(async {
        let catalog = avatar_host::open_catalog(&config)?;
        let applied = catalog.migrate().await?;
        if applied.is_empty() {
            println!("the catalog is up to date");
        } else {
            for version in applied {
                println!("applied {version}");
            }
        }
        Ok(())
    })
}

fn gc(path: PathBuf, delete: bool, min_age: u64) -> Result<()> {
    let config = load(&path)?;
    runtime()?.block_on(async {
        let catalog = avatar_host::open_catalog(&config)?;
        let store = avatar_host::open_store(&config).await?;
        let report = avatar_host::gc::collect(
            &catalog,
            &store,
            std::time::Duration::from_secs(min_age),
            !delete,
        )
        .await?;
        for orphan in &report.orphans {
            let verb = if delete { "deleted" } else { "would delete" };
            println!("{verb} {} ({} bytes)", orphan.key, orphan.bytes);
        }
        println!(
            "{} referenced, {} orphaned, {} too young to judge, {} not ours; {} deleted{}",
            report.referenced,
            report.orphans.len(),
            report.young,
            report.foreign,
            report.deleted,
            if delete {
                ""
            } else {
                " (dry run: pass --delete to remove)"
            }
        );
        Ok(())
    })
}

fn token(
    path: PathBuf,
    hash: &str,
    tenant: Option<String>,
    ttl: u64,
    subject: &str,
    private_key: Option<PathBuf>,
) -> Result<()> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let config = load(&path)?;
    let hash = AvatarHash::parse(hash).context("--hash")?;
    let tenant: &TenantConfig = match &tenant {
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
    let key = match (&private_key, algorithm) {
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
    let claims = serde_json::json!({
        "sub": subject,
        "hash": hash.as_str(),
        "tenant": tenant.id,
        "iat": now,
        "exp": now + ttl,
    });
    println!("{}", encode(&Header::new(algorithm), &claims, &key)?);
    Ok(())
}

fn plugin_check(file: PathBuf, config: PathBuf) -> Result<()> {
    let wasm = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    // The configuration's limits when there is one; the defaults when not.
    let (limits, source) = if config.exists() {
        let config = load(&config)?;
        let limits = avatar_host::plugin::CallLimits {
            deadline: std::time::Duration::from_millis(config.limits.plugin_deadline_ms),
            memory_bytes: usize::try_from(config.limits.plugin_memory_mib << 20)
                .unwrap_or(usize::MAX),
            ..Default::default()
        };
        (limits, "the configured limits")
    } else {
        (Default::default(), "the default limits")
    };
    let runtime = avatar_host::plugin::Runtime::new(&Default::default())?;
    match runtime.check(&wasm, &limits) {
        Ok(world) => {
            println!(
                "{}: implements {world}; instantiates under {source} ({} MiB, {} ms)",
                file.display(),
                limits.memory_bytes >> 20,
                limits.deadline.as_millis()
            );
            Ok(())
        }
        Err(e) => bail!("{}: {e}", file.display()),
    }
}

fn plugin_list(path: PathBuf) -> Result<()> {
    let config = load(&path)?;
    let runtime = avatar_host::plugin_runtime(&config)?;
    let tenants = avatar_host::tenant::Tenants::from_config(&config, &runtime)?;
    for tenant in tenants.iter() {
        let default = if std::sync::Arc::ptr_eq(tenant, tenants.default_tenant()) {
            " (default)"
        } else {
            ""
        };
        println!("tenant {}{default}", tenant.id);
        for (role, name, digest) in tenant.plugins() {
            println!("  {role:<10} {name:<24} sha256:{digest}");
        }
    }
    Ok(())
}
