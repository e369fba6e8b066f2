//! The OpenAPI document against the live server: `GET /openapi.json` is an OpenAPI 3.1
//! document of every route, and `schemathesis` (PyPI, installed by `scripts/clients.sh` into
//! the clients' virtualenv) drives the real binary with requests generated from it: no `5xx`,
//! every status, content type, header and JSON body as the document says. Bounded in
//! examples per operation and in time. Under `CI=true` a missing schemathesis fails the test.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use avatar_tests::server::{TestServer, solid_png};
use avatar_tests::workspace_root;
use serde_json::Value;

/// The hash the document's examples use, uploaded so that they find an avatar.
const EXAMPLE_HASH: &str = "b48def645758b95537d4424c84d1a9ff";

fn schemathesis() -> Option<PathBuf> {
    let venv = std::env::var_os("AVATAR_CLIENTS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("tests/clients/.venv"));
    let program = venv.join("bin/schemathesis");
    if program.is_file() {
        return Some(program);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci,
        "schemathesis is missing under CI=true: no {}",
        program.display()
    );
    eprintln!(
        "skipping: no {} (run scripts/clients.sh)",
        program.display()
    );
    None
}

#[test]
fn the_document_describes_every_route_in_openapi_3_1() {
    let server = TestServer::start();
    let reply = server.get("/openapi.json");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let doc: Value = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(
        !reply.text().contains(": null"),
        "nothing in the document is null"
    );
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/{hash}",
        "/{hash}/{second}",
        "/{hash}/{backup}/{size}",
        "/avatar/{file}",
        "/_media/{key}",
        "/healthz",
        "/readyz",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is missing");
    }
    // The tenant's presets are the sizes it offers.
    let size = &paths["/{hash}/{backup}/{size}"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "size")
        .expect("a size parameter")["schema"];
    let names: Vec<&str> = size["oneOf"][1]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(names.contains(&"small"), "{names:?}");
    // Under a tenant's prefix too.
    assert_eq!(server.get("/t/default/openapi.json").status, 200);
}

#[test]
fn the_live_server_conforms_to_its_document() {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    let server = TestServer::start();
    server.upload_png(EXAMPLE_HASH, &solid_png(64, [30, 60, 90]));
    let auth = format!("Authorization: Bearer {}", server.token(EXAMPLE_HASH));
    let output = Command::new(&schemathesis)
        .arg("run")
        .arg(server.url("/openapi.json"))
        .args([
            "--max-examples",
            "20",
            "--max-time",
            "90",
            "--request-timeout",
            "30",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .arg("--generation-deterministic")
        .args(["--checks", "all"])
        // These two judge which inputs the server should accept: the document cannot say
        // that a token is for one hash, or that a Gravatar size is clamped rather than refused.
        .args([
            "--exclude-checks",
            "positive_data_acceptance,negative_data_rejection",
        ])
        .args(["--header", &auth])
        .arg("--no-color")
        .current_dir(std::env::temp_dir())
        .env("SCHEMATHESIS_HOOKS", "")
        .stdin(Stdio::null())
        .output()
        .expect("running schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!(
        "{}",
        stdout
            .lines()
            .rev()
            .take(25)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}\nserver: {}",
        String::from_utf8_lossy(&output.stderr),
        server.stderr_tail()
    );
    assert_eq!(server.get("/healthz").status, 200, "the server is up");
}
