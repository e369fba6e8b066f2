//! The PostgreSQL catalog against a real server: the conformance suite, migrations by
//! several hosts at once, upgrades from the first schema, and the changes other hosts hear.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::avatar::{ImageFormat, Rating};
use crate::catalog::{Change, Variant, suite};

/// A fresh database on the test server named by `AVATAR_TEST_POSTGRES_URL`, or `None`
/// (outside CI only) when there is none.
async fn fresh_database() -> Option<String> {
    let url = crate::test_services::postgres_url()?;
    let (client, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .expect("connecting to the test PostgreSQL");
    tokio::spawn(connection);
    let name = format!(
        "avatar_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("creating a test database");
    let mut config: tokio_postgres::Config = url.parse().expect("test URL");
    config.dbname(&name);
    Some(pg_url(&config, &name))
}

/// Rebuilds a URL for `config` pointing at database `name`.
fn pg_url(config: &tokio_postgres::Config, name: &str) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|p| format!(":{}", String::from_utf8_lossy(p)))
        .unwrap_or_default();
    format!("postgres://{user}{password}@{host}:{port}/{name}")
}

#[tokio::test]
async fn conforms() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let catalog = PgCatalog::connect(&url, 8).unwrap();
    assert!(catalog.health().await.is_err(), "unmigrated is unhealthy");
    assert_eq!(catalog.migrate().await.unwrap(), suite::all_versions());
    suite::run(&catalog).await;
}

#[tokio::test]
async fn concurrent_migrations_apply_once() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let a = PgCatalog::connect(&url, 2).unwrap();
    let b = PgCatalog::connect(&url, 2).unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    let mut applied = ra.unwrap();
    applied.extend(rb.unwrap());
    assert_eq!(
        applied,
        suite::all_versions(),
        "exactly one host applies each"
    );
    a.health().await.unwrap();
}

#[tokio::test]
async fn a_changed_applied_migration_is_refused() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let catalog = PgCatalog::connect(&url, 2).unwrap();
    catalog.migrate().await.unwrap();
    let client = catalog.client().await.unwrap();
    client
        .execute("UPDATE schema_migrations SET checksum = 'tampered'", &[])
        .await
        .unwrap();
    assert!(matches!(
        catalog.migrate().await,
        Err(CatalogError::Migration(_))
    ));
    assert!(matches!(
        catalog.health().await,
        Err(CatalogError::Migration(_))
    ));
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // Nothing listens on port 1 of loopback.
    let catalog = PgCatalog::connect("postgres://avatar@127.0.0.1:1/avatar", 1).unwrap();
    let error = catalog.find("t", "h").await.unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
}

#[tokio::test]
async fn rows_of_the_first_schema_upgrade() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let catalog = PgCatalog::connect(&url, 2).unwrap();
    let mut client = catalog.client().await.unwrap();
    let first = migrate_locked(&mut client, &MIGRATIONS[..1]).await.unwrap();
    assert_eq!(first, ["0001_init"]);
    client
        .batch_execute(suite::FIRST_SCHEMA_ROWS)
        .await
        .unwrap();
    drop(client);
    suite::first_schema_rows_upgrade(&catalog).await;
}

#[tokio::test]
async fn an_unknown_rating_is_corrupt() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let catalog = PgCatalog::connect(&url, 2).unwrap();
    catalog.migrate().await.unwrap();
    let hash = "e".repeat(40);
    catalog.upsert(&record("t", &hash, &[])).await.unwrap();
    let client = catalog.client().await.unwrap();
    client
        .execute("UPDATE avatars SET rating = 'nc-17'", &[])
        .await
        .unwrap();
    let err = catalog.find("t", &hash).await.unwrap_err();
    assert!(
        matches!(&err, CatalogError::Corrupt(m) if m.contains("nc-17")),
        "{err}"
    );
}

fn record(tenant: &str, hash: &str, aliases: &[&str]) -> AvatarRecord {
    AvatarRecord {
        tenant: tenant.to_owned(),
        hash: hash.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        rating: Rating::R,
        name: None,
        version: "v1".to_owned(),
        format: ImageFormat::Png,
        content_hash: "c".repeat(64),
        created_at: 1,
        updated_at: 2,
        variants: vec![Variant {
            side: 64,
            width: 64,
            height: 64,
            bytes: 100,
            etag: "e".repeat(32),
            key: format!("{tenant}/{hash}/v1/64.png"),
        }],
    }
}

/// What a catalog's change listener reported, in order.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<Change>>>);

impl Heard {
    fn sink(&self) -> ChangeSink {
        let heard = self.0.clone();
        Arc::new(move |change| heard.lock().unwrap().push(change))
    }

    /// Waits (at most ten seconds) until `done` holds for what was heard, then forgets it.
    async fn until(&self, done: impl Fn(&[Change]) -> bool) -> Vec<Change> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            {
                let mut heard = self.0.lock().unwrap();
                if done(&heard) {
                    return std::mem::take(&mut *heard);
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "heard only {:?}",
                self.0.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn other_hosts_hear_every_hash_a_record_was_or_is_found_by() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let writer = PgCatalog::connect(&url, 2).unwrap();
    writer.migrate().await.unwrap();
    let other = PgCatalog::connect(&url, 2).unwrap();
    let heard = Heard::default();
    other.watch_changes(heard.sink());
    heard.until(|h| h.contains(&Change::Unknown)).await;

    let tenant = "linked";
    let (md5, sha1, sha256) = ("1".repeat(32), "2".repeat(40), "3".repeat(64));
    let (md5, sha1, sha256) = (md5.as_str(), sha1.as_str(), sha256.as_str());
    let mut marks = 0_u32;
    // What `tenant`'s hashes the other host heard of, up to a write that follows `write`:
    // notifications arrive in commit order, so that is exactly what `write` announced.
    let mut announced = async |write: Result<(), CatalogError>| -> BTreeSet<String> {
        write.unwrap();
        marks += 1;
        let mark = format!("{marks:040x}");
        writer.upsert(&record("marks", &mark, &[])).await.unwrap();
        let mark = Change::Avatar {
            tenant: "marks".into(),
            hash: mark,
        };
        let changes = heard.until(|h| h.contains(&mark)).await;
        changes
            .into_iter()
            .filter_map(|change| match change {
                Change::Avatar { tenant: t, hash } if t == tenant => Some(hash),
                _ => None,
            })
            .collect()
    };
    let set =
        |hashes: &[&str]| -> BTreeSet<String> { hashes.iter().map(|h| (*h).to_owned()).collect() };

    let plain = record(tenant, md5, &[]);
    let heard_of = announced(writer.upsert(&plain).await.map(drop)).await;
    assert_eq!(heard_of, set(&[md5]), "a plain upload");

    let linked = record(tenant, sha256, &[md5, sha1]);
    let heard_of = announced(writer.upsert(&linked).await.map(drop)).await;
    assert_eq!(
        heard_of,
        set(&[md5, sha1, sha256]),
        "a linked upload merging one"
    );

    let fewer = record(tenant, sha256, &[md5]);
    let heard_of = announced(writer.upsert(&fewer).await.map(drop)).await;
    assert_eq!(
        heard_of,
        set(&[md5, sha1, sha256]),
        "the alias dropped is announced too"
    );

    let unlinked = record(tenant, sha1, &[]);
    let heard_of = announced(writer.upsert(&unlinked).await.map(drop)).await;
    assert_eq!(
        heard_of,
        set(&[sha1]),
        "sha1 no longer finds the linked record"
    );

    let heard_of = announced(writer.delete(tenant, md5).await.map(drop)).await;
    assert_eq!(heard_of, set(&[md5, sha256]), "a delete through an alias");

    let heard_of = announced(writer.delete(tenant, md5).await.map(drop)).await;
    assert!(heard_of.is_empty(), "deleting nothing announces nothing");
}
