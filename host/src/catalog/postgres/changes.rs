//! Telling other hosts what changed: a `NOTIFY` per affected hash inside each write
//! transaction (delivered only if it commits), and the task that `LISTEN`s for them.

use std::time::Duration;

use deadpool_postgres::Transaction;
use tokio_postgres::NoTls;

use super::fail;
use crate::catalog::{CatalogError, Change, ChangeSink};

/// The channel on which hosts announce changed avatars; the payload is `tenant/hash`.
const CHANNEL: &str = "avatar_changed";

/// Announces that what each of `hashes` finds in `tenant` changed, to every host listening,
/// when (and only if) the transaction commits. One statement, however many hashes.
pub(super) async fn notify(
    tx: &Transaction<'_>,
    tenant: &str,
    hashes: &[&str],
) -> Result<(), CatalogError> {
    if hashes.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached("SELECT pg_notify($1, $2 || '/' || h) FROM unnest($3::text[]) AS h")
        .await
        .map_err(fail("prepare a query"))?;
    tx.execute(&statement, &[&CHANNEL, &tenant, &hashes])
        .await
        .map_err(fail("announce a change"))?;
    Ok(())
}

/// Reads a notification's payload. A hash never contains `/`; a tenant might.
fn change_of(payload: &str) -> Option<Change> {
    let (tenant, hash) = payload.rsplit_once('/')?;
    Some(Change::Avatar {
        tenant: tenant.to_owned(),
        hash: hash.to_owned(),
    })
}

/// Listens for changes on a dedicated connection, for ever, reconnecting with a short
/// backoff. After any interruption it reports `Change::Unknown`, since notifications sent
/// meanwhile are lost.
pub(super) async fn listen(url: String, sink: ChangeSink) {
    use futures_util::StreamExt;
    use tokio_postgres::AsyncMessage;
    let mut backoff = Duration::from_millis(100);
    loop {
        match tokio_postgres::connect(&url, NoTls).await {
            Ok((client, mut connection)) => {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let statement = format!("LISTEN {CHANNEL}");
                // The connection must be polled for the LISTEN to complete.
                let mut listen = std::pin::pin!(client.batch_execute(&statement));
                let ok = loop {
                    tokio::select! {
                        result = &mut listen => break result.is_ok(),
                        message = messages.next() => if message.is_none() { break false; },
                    }
                };
                if ok {
                    backoff = Duration::from_millis(100);
                    sink(Change::Unknown);
                    tracing::debug!("listening for catalog changes");
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                if let Some(change) = change_of(n.payload()) {
                                    sink(change);
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "lost the catalog change listener");
                                break;
                            }
                        }
                    }
                }
                sink(Change::Unknown);
            }
            Err(e) => tracing::debug!(error = %e, "cannot connect the change listener yet"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        let avatar = |tenant: &str, hash: &str| {
            Some(Change::Avatar {
                tenant: tenant.into(),
                hash: hash.into(),
            })
        };
        assert_eq!(change_of("default/abc"), avatar("default", "abc"));
        assert_eq!(change_of("a/b/abc"), avatar("a/b", "abc"));
        assert_eq!(change_of("no-slash"), None);
    }
}
