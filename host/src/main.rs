//! The `avatar` command: parse the command line and dispatch to `commands/`.

mod commands;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    /// Print a signed token that authorises uploads and deletes of one hash, or of an email
    /// address's three hashes (MD5, SHA-1, SHA-256) as one avatar.
    Token {
        #[arg(long, short, default_value = "config.json", env = "AVATAR_CONFIG")]
        config: PathBuf,
        /// The avatar hash the token is for.
        #[arg(long, required_unless_present = "email")]
        hash: Option<String>,
        /// An email address the app vouches for: the token covers its three hashes, and an
        /// upload with it is found by any of them. The address goes into the token only.
        #[arg(long)]
        email: Option<String>,
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
    let command = Cli::parse().command;
    // `serve` sets up its logs once its configuration says how; the rest log plain text.
    if !matches!(command, Command::Serve { .. }) {
        avatar_host::telemetry::init_text();
    }
    match command {
        Command::Serve { config, listen } => commands::serve::run(&config, listen),
        Command::Migrate { config } => commands::migrate::run(&config),
        Command::Token {
            config,
            hash,
            email,
            tenant,
            ttl,
            subject,
            private_key,
        } => commands::token::run(&commands::token::Request {
            config,
            hash,
            email,
            tenant,
            ttl,
            subject,
            private_key,
        }),
        Command::Gc {
            config,
            delete,
            min_age,
        } => commands::gc::run(&config, delete, min_age),
        Command::Plugin {
            command: PluginCommand::Check { file, config },
        } => commands::plugin::check(&file, &config),
        Command::Plugin {
            command: PluginCommand::List { config },
        } => commands::plugin::list(&config),
    }
}
