//! The self-service page and its files as the server sends them, without a browser (the
//! browser drives them in `ui_browser.rs`): the tenant's facts filled into the page, the
//! headers that keep it strict, return links and embedders honoured on the tenant's origins
//! only, and the scripts cacheable and readable from other origins.

use avatar_tests::server::{Reply, TestServer};
use serde_json::{Value, json};

/// A second tenant that lists its origins.
fn with_acme(config: &mut Value) {
    let mut acme = config["tenants"][0].clone();
    acme["id"] = json!("acme");
    acme["cors_origins"] = json!(["https://app.acme.test", "http://localhost:3000"]);
    acme["sizes"] = json!({"tiny": 32, "big": 96});
    acme["default_size"] = json!("big");
    acme["limits"] = json!({"max_upload_bytes": 500000});
    config["tenants"].as_array_mut().unwrap().push(acme);
}

/// The value of `data-{name}` in the page.
fn data(page: &Reply, name: &str) -> String {
    let text = page.text();
    let marker = format!("data-{name}=\"");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no data-{name} in the page"))
        + marker.len();
    let end = start + text[start..].find('"').unwrap();
    text[start..end].to_owned()
}

#[test]
fn the_page_carries_the_tenants_facts_and_strict_headers() {
    let server = TestServer::start();
    let page = server.get("/_ui/edit?token=abc.def.ghi");
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let policy = page.header("content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors *",
    ] {
        assert!(
            policy.contains(directive),
            "{directive} missing from {policy}"
        );
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    // Any origin may frame it: no X-Frame-Options to forbid it.
    assert_eq!(page.header("x-frame-options"), None);
    assert_eq!(data(&page, "base"), "");
    assert_eq!(data(&page, "sizes"), "128,256,512,1024");
    assert_eq!(data(&page, "size"), "256");
    assert!(!page.text().contains("{{"), "a placeholder is left");
    // The token is for the page's script; the server never writes it into the page.
    assert!(!page.text().contains("abc.def.ghi"));
    assert!(!page.text().contains("<script>"), "no inline script");
}

#[test]
fn a_tenants_page_knows_its_prefix_sizes_and_limits() {
    let server = TestServer::builder().configure(with_acme).start();
    let page = server.get("/t/acme/_ui/edit");
    assert_eq!(page.status, 200);
    assert_eq!(data(&page, "base"), "/t/acme");
    assert_eq!(data(&page, "tenant"), "acme");
    assert_eq!(data(&page, "sizes"), "32,96");
    assert_eq!(data(&page, "size"), "96");
    assert_eq!(data(&page, "max-bytes"), "500000");
    let policy = page.header("content-security-policy").unwrap();
    assert!(
        policy.ends_with("frame-ancestors 'self' https://app.acme.test http://localhost:3000"),
        "{policy}"
    );
    assert_eq!(page.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(server.get("/t/nobody/_ui/edit").status, 404);
}

#[test]
fn return_links_and_embedders_are_honoured_on_the_tenants_origins_only() {
    let server = TestServer::builder().configure(with_acme).start();
    let page = |query: &str| server.get(&format!("/t/acme/_ui/edit?{query}"));
    let honoured = [
        (
            "https%3A%2F%2Fapp.acme.test%2Fsettings%3Ftab%3D1",
            "https://app.acme.test/settings?tab=1",
        ),
        ("http://localhost:3000/", "http://localhost:3000/"),
        ("HTTPS://APP.ACME.TEST", "HTTPS://APP.ACME.TEST"),
    ];
    for (asked, kept) in honoured {
        assert_eq!(
            data(&page(&format!("return={asked}")), "return"),
            kept,
            "{asked}"
        );
    }
    for refused in [
        "https://evil.test/",
        "https://app.acme.test.evil.test/",
        "https://app.acme.test@evil.test/",
        "javascript:alert(1)",
        "//app.acme.test/",
        "/settings",
        "https://app.acme.test\\@evil.test/",
        "http://localhost:3001/",
    ] {
        let query = format!("return={}", refused.replace('&', "%26"));
        assert_eq!(data(&page(&query), "return"), "", "{refused}");
    }
    assert_eq!(
        data(&page("origin=https://app.acme.test"), "origin"),
        "https://app.acme.test"
    );
    for refused in ["https://evil.test", "https://app.acme.test/path", "*"] {
        assert_eq!(
            data(&page(&format!("origin={refused}")), "origin"),
            "",
            "{refused}"
        );
    }
    // Escaped into the attribute, never able to end it.
    let sneaky = server.get("/_ui/edit?return=https://a.test/%22%3E%3Cscript%3E");
    assert_eq!(
        data(&sneaky, "return"),
        "https://a.test/&quot;&gt;&lt;script&gt;"
    );
}

#[test]
fn the_scripts_and_style_sheet_are_served_cacheable_and_shared() {
    let server = TestServer::start();
    for (name, content_type) in [
        ("edit.js", "text/javascript; charset=utf-8"),
        ("edit.css", "text/css; charset=utf-8"),
        ("avatar-picker.js", "text/javascript; charset=utf-8"),
    ] {
        let path = format!("/_ui/{name}");
        let reply = server.get_with(&path, &[("origin", "https://app.example")]);
        assert_eq!(reply.status, 200, "{name}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{name}");
        assert!(!reply.body.is_empty(), "{name} is empty");
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some("*"),
            "{name}"
        );
        assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
        let etag = reply.header("etag").expect("an ETag").to_owned();
        let again = server.get_with(&path, &[("if-none-match", &etag)]);
        assert_eq!(again.status, 304, "{name}");
        // Under a tenant's prefix too, where the page's relative links point.
        assert_eq!(server.get(&format!("/t/default{path}")).status, 200);
    }
    server.get("/_ui/nothing.js").assert_error(404, "not-found");
}
