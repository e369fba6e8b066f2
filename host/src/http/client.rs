//! The client's address, for rate limits: the connection's peer (which `serve.rs` attaches to
//! every request), unless that peer is a trusted proxy; then the `X-Forwarded-For` entry
//! nearest to it that is not a trusted proxy too. Entries further left are the client's own
//! say and are not believed.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The address the rate limits count `parts` against; `None` when the request came by no
/// TCP connection (as in tests that call the router directly).
pub(super) fn client_address(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())?;
    Some(forwarded_for(peer, &parts.headers, trusted))
}

fn forwarded_for(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    // Every X-Forwarded-For line, in order, as one list; read from the right, where the
    // proxies nearest to us appended.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        match parse_entry(entry) {
            Some(address) => {
                client = address;
                if !is_trusted(&address) {
                    break;
                }
            }
            // A proxy would not write this: the rest is not to be believed.
            None => break,
        }
    }
    client
}

/// One entry: an address, perhaps with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address);
    }
    entry.parse::<SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn client(peer: &str, forwarded: &[&str], trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        forwarded_for(peer.parse().unwrap(), &headers, &nets(trusted)).to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(client("198.51.100.7", &["192.0.2.1"], &[]), "198.51.100.7");
        assert_eq!(
            client("198.51.100.7", &["192.0.2.1"], &["10.0.0.0/8"]),
            "198.51.100.7"
        );
    }

    #[test]
    fn a_trusted_peer_names_the_client() {
        assert_eq!(
            client("10.0.0.2", &["192.0.2.1"], &["10.0.0.0/8"]),
            "192.0.2.1"
        );
        // The client's own entries, left of what the proxy appended, are ignored.
        assert_eq!(
            client("10.0.0.2", &["6.6.6.6, 192.0.2.1"], &["10.0.0.0/8"]),
            "192.0.2.1"
        );
        // A chain of trusted proxies, over two header lines.
        assert_eq!(
            client(
                "10.0.0.2",
                &["192.0.2.1, 10.1.1.1", "10.2.2.2"],
                &["10.0.0.0/8"]
            ),
            "192.0.2.1"
        );
        assert_eq!(
            client("10.0.0.2", &["[2001:db8::1]:4711"], &["10.0.0.0/8"]),
            "2001:db8::1"
        );
    }

    #[test]
    fn nonsense_stops_the_walk() {
        assert_eq!(
            client("10.0.0.2", &["192.0.2.1, unknown"], &["10.0.0.0/8"]),
            "10.0.0.2"
        );
        // Nothing forwarded: the proxy itself.
        assert_eq!(client("10.0.0.2", &[], &["10.0.0.0/8"]), "10.0.0.2");
        // Only trusted proxies: the farthest of them.
        assert_eq!(
            client("10.0.0.2", &["10.9.9.9"], &["10.0.0.0/8"]),
            "10.9.9.9"
        );
    }
}

#[cfg(test)]
mod properties {
    use std::net::IpAddr;

    use axum::http::HeaderMap;
    use ipnet::IpNet;
    use proptest::prelude::*;

    use super::{forwarded_for, parse_entry};

    proptest! {
        /// Whatever `X-Forwarded-For` says: from an untrusted peer it is ignored; from a
        /// trusted one the client is the peer or an address the header names.
        #[test]
        fn the_client_is_the_peer_or_a_forwarded_address(
            header in "[0-9a-f:., \\[\\]]{0,80}",
            peer in any::<[u8; 4]>(),
        ) {
            let mut headers = HeaderMap::new();
            let Ok(value) = header.parse() else { return Ok(()) };
            headers.insert("x-forwarded-for", value);
            let peer = IpAddr::from(peer);
            prop_assert_eq!(forwarded_for(peer, &headers, &[]), peer);
            let all: Vec<IpNet> = vec!["0.0.0.0/0".parse().unwrap()];
            let client = forwarded_for(peer, &headers, &all);
            let named: Vec<IpAddr> = header.split(',').filter_map(parse_entry).collect();
            prop_assert!(client == peer || named.contains(&client), "{client} from {header:?}");
        }
    }
}
