//! The checks a configuration must pass beyond its shape, each naming the key at fault.

use std::collections::BTreeSet;

use super::defaults::{MAX_PLUGIN_MEMORY_MIB, MIN_HEADER_BYTES};
use super::tenant::{DefaultAvatar, TenantConfig, TenantLimits};
use super::{Config, Limits, Rate, TracesConfig};
use crate::avatar::{AvatarHash, MAX_REQUESTED_SIDE, Style};

/// A failed check: the key's path and what is wrong with it.
pub(super) type Invalid = (String, String);

fn bad(key: impl Into<String>, message: &str) -> Result<(), Invalid> {
    Err((key.into(), message.to_owned()))
}

/// Every check, in the order of the file.
pub(super) fn validate(config: &Config) -> Result<(), Invalid> {
    limits(&config.limits)?;
    if config.connections.max == 0 {
        return bad("connections.max", "must be at least 1");
    }
    if config.connections.header_read_timeout_ms == 0 {
        return bad("connections.header_read_timeout_ms", "must be at least 1");
    }
    if config.connections.max_header_bytes < MIN_HEADER_BYTES {
        return bad("connections.max_header_bytes", "must be at least 8192");
    }
    if config.connections.body_read_timeout_ms == 0 {
        return bad("connections.body_read_timeout_ms", "must be at least 1");
    }
    let rates = &config.rate_limits;
    for (key, rate) in [
        ("writes.per_client", rates.writes.per_client),
        ("writes.per_tenant", rates.writes.per_tenant),
        ("renders.per_client", rates.renders.per_client),
        ("renders.per_tenant", rates.renders.per_tenant),
    ] {
        if let Some(rate) = rate {
            self::rate(&format!("rate_limits.{key}"), rate)?;
        }
    }
    traces(&config.traces)?;
    if config.tenants.is_empty() {
        return bad("tenants", "at least one tenant is required");
    }
    if config.tenants.iter().filter(|t| t.default).count() > 1 {
        return bad("tenants", "at most one tenant may be the default");
    }
    let mut ids = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    let mut prefixes = BTreeSet::new();
    for (i, tenant) in config.tenants.iter().enumerate() {
        let at = |field: &str| format!("tenants[{i}].{field}");
        self::tenant(tenant, &at)?;
        if !ids.insert(&tenant.id) {
            return bad(at("id"), "duplicate tenant id");
        }
        for host in &tenant.hosts {
            if !hosts.insert(host.to_ascii_lowercase()) {
                return bad(at("hosts"), "a host name may select one tenant only");
            }
        }
        if !prefixes.insert(tenant.storage_prefix()) {
            return bad(
                at("storage_prefix"),
                "two tenants cannot share a storage prefix",
            );
        }
    }
    Ok(())
}

fn rate(key: &str, rate: Rate) -> Result<(), Invalid> {
    // Below one a day a bucket never refills within any run worth limiting.
    if !(rate.per_second.is_finite() && rate.per_second >= 1.0 / 86_400.0) {
        return bad(
            format!("{key}.per_second"),
            "must be a number of at least 1/86400",
        );
    }
    if rate.burst == 0 {
        return bad(format!("{key}.burst"), "must be at least 1");
    }
    Ok(())
}

fn traces(t: &TracesConfig) -> Result<(), Invalid> {
    if !(0.0..=1.0).contains(&t.sample_ratio) {
        return bad("traces.sample_ratio", "must be a number from 0 to 1");
    }
    if let Some(endpoint) = &t.otlp_endpoint
        && !is_http_url(endpoint)
    {
        return bad(
            "traces.otlp_endpoint",
            "must be an http:// or https:// URL, such as \"http://127.0.0.1:4318\"",
        );
    }
    if t.service_name.as_deref().is_some_and(str::is_empty) {
        return bad("traces.service_name", "must not be empty");
    }
    Ok(())
}

/// Whether `url` is an absolute `http` or `https` URL with a host.
pub(crate) fn is_http_url(url: &str) -> bool {
    url.parse::<axum::http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.host().is_some_and(|h| !h.is_empty())
    })
}

fn limits(l: &Limits) -> Result<(), Invalid> {
    if l.plugin_memory_mib > MAX_PLUGIN_MEMORY_MIB {
        return bad("limits.plugin_memory_mib", "must be at most 4096");
    }
    if l.max_upload_bytes == 0 {
        return bad("limits.max_upload_bytes", "must be positive");
    }
    if l.plugin_deadline_ms == 0 || l.plugin_memory_mib == 0 || l.plugin_output_mib == 0 {
        return bad(
            "limits",
            "plugin deadline, memory and output must be positive",
        );
    }
    Ok(())
}

fn tenant(t: &TenantConfig, at: &dyn Fn(&str) -> String) -> Result<(), Invalid> {
    let id_ok = !t.id.is_empty()
        && t.id.len() <= 64
        && t.id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return bad(at("id"), "letters, digits, '-' and '_', 1 to 64 characters");
    }
    let prefix = t.storage_prefix();
    let prefix_ok = !prefix.is_empty()
        && crate::storage::validate_key(&prefix).is_ok()
        && !prefix.starts_with('_');
    if !prefix_ok {
        return bad(
            at("storage_prefix"),
            "letters, digits, '-', '_', '.' and '/' segments, not starting with '_'",
        );
    }
    if t.cors_origins.is_empty() {
        return bad(at("cors_origins"), "list \"*\" or at least one origin");
    }
    for (i, origin) in t.cors_origins.iter().enumerate() {
        if origin != "*" && super::origin_of(origin) != Some(origin.as_str()) {
            return bad(
                at(&format!("cors_origins[{i}]")),
                "an origin is scheme://host[:port], such as https://app.example, or \"*\"",
            );
        }
    }
    tenant_limits(&t.limits, at)?;
    sizes(t, at)?;
    if !(1..=100).contains(&t.output.quality) {
        return bad(at("output.quality"), "must be 1 to 100");
    }
    if let DefaultAvatar::Hash(h) = &t.default_avatar
        && !AvatarHash::looks_like(h)
    {
        return bad(at("default_avatar.hash"), "must be a 32, 40 or 64 hex hash");
    }
    for name in t.styles.keys() {
        if Style::parse(name).is_none_or(|s| s.name() != name) {
            return bad(
                at(&format!("styles.{name}")),
                "not a default style: mp, identicon, monsterid, wavatar, retro, robohash, initials, color",
            );
        }
    }
    for host in &t.default_url_hosts {
        let ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':'));
        if !ok {
            return bad(
                at("default_url_hosts"),
                "host names only, such as \"cdn.example.com\"",
            );
        }
    }
    Ok(())
}

fn tenant_limits(l: &TenantLimits, at: &dyn Fn(&str) -> String) -> Result<(), Invalid> {
    if l.plugin_deadline_ms == Some(0)
        || l.plugin_memory_mib == Some(0)
        || l.max_upload_bytes == Some(0)
        || l.max_concurrent_jobs == Some(0)
    {
        return bad(at("limits"), "limits must be positive");
    }
    if l.plugin_memory_mib
        .is_some_and(|m| m > MAX_PLUGIN_MEMORY_MIB)
    {
        return bad(at("limits.plugin_memory_mib"), "must be at most 4096");
    }
    Ok(())
}

fn sizes(t: &TenantConfig, at: &dyn Fn(&str) -> String) -> Result<(), Invalid> {
    if t.sizes.is_empty() {
        return bad(at("sizes"), "at least one size is required");
    }
    for (name, side) in &t.sizes {
        if !(1..=MAX_REQUESTED_SIDE).contains(side) {
            return bad(at(&format!("sizes.{name}")), "must be 1 to 4096 pixels");
        }
        if name.is_empty() || name.bytes().all(|b| b.is_ascii_digit()) {
            return bad(
                at(&format!("sizes.{name}")),
                "a size name cannot be a number",
            );
        }
    }
    if !t.sizes.contains_key(&t.default_size) {
        return bad(at("default_size"), "must name one of the tenant's sizes");
    }
    Ok(())
}
