//! Real Gravatar client libraries pointed at the server: PyPI's `libgravatar` and npm's
//! `gravatar` and `gravatar-url` build their URLs from an email as their READMEs show, the
//! test moves them onto the server the way an app switching over would, the scripts in
//! `tests/clients/` fetch them, and every answer is what a user of the library expects.
//!
//! The interpreters and packages come from `scripts/clients.sh` (run by `scripts/test.sh`): a virtualenv (`AVATAR_CLIENTS_VENV`,
//! default `tests/clients/.venv`) with `tests/clients/requirements.txt`, and `npm ci` in
//! `tests/clients`. Under `CI=true` a missing one fails the test; elsewhere it is skipped
//! with a message saying how to install it.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use avatar_tests::server::{TestServer, png};
use avatar_tests::workspace_root;
use base64::Engine as _;
use image::{DynamicImage, GenericImageView};
use serde_json::{Value, json};

/// The email whose avatar the test uploads, as an app would have it.
const KNOWN: &str = "Known.User@Example.com";
/// The same address as a user might type it: the libraries trim and lower-case it.
const KNOWN_TYPED: &str = "  KNOWN.user@EXAMPLE.COM ";
/// An address whose avatar is uploaded rated `x`.
const RATED_X: &str = "grown.up@example.com";
/// An address nobody uploaded for.
const UNKNOWN: &str = "nobody.here@example.com";
/// Gravatar's documented example address and its MD5, from Gravatar's own documentation:
/// proves the libraries hash as Gravatar does, so the server is asked the real hash.
const DOCUMENTED: (&str, &str) = (
    "MyEmailAddress@example.com ",
    "0bc83cb571cd1c50ba6f3e8a78ef1346",
);
/// The longest one script run may take: it makes one request per case, each bounded by the
/// script's own 30 s timeout, and a loaded machine may start the interpreter slowly.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(300);

/// What a user of the library expects back.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `200` with the uploaded avatar, `side` x `side`, as `content_type`.
    Avatar {
        side: u32,
        content_type: &'static str,
    },
    /// `200` with a default picture of `side` x `side` (not the uploaded avatar).
    Picture { side: u32 },
    /// `200` with a fully transparent `side` x `side` picture (`d=blank`).
    Blank { side: u32 },
    /// `404`.
    NotFound,
}

/// One call of a library: the email and the library's options, in neutral names that each
/// script turns into its library's own arguments.
struct Case {
    name: &'static str,
    email: &'static str,
    options: Value,
    expect: Expect,
}

impl Case {
    fn new(name: &'static str, email: &'static str, options: Value, expect: Expect) -> Self {
        Self {
            name,
            email,
            options,
            expect,
        }
    }

    /// The case as the scripts read it: `{"name", "email", …options}`.
    fn spec(&self) -> Value {
        let mut spec = self.options.clone();
        spec["name"] = json!(self.name);
        spec["email"] = json!(self.email);
        spec
    }
}

const PNG: &str = "image/png";

fn avatar(side: u32) -> Expect {
    Expect::Avatar {
        side,
        content_type: PNG,
    }
}

/// What every library can ask: sizes, ratings, and each default style.
fn common_cases() -> Vec<Case> {
    use Expect::*;
    vec![
        Case::new("known, no options", KNOWN, json!({}), avatar(80)),
        Case::new("known, size 200", KNOWN, json!({"size": 200}), avatar(200)),
        Case::new(
            "known, size 1000",
            KNOWN,
            json!({"size": 1000}),
            avatar(1000),
        ),
        Case::new(
            "known, typed with spaces and capitals",
            KNOWN_TYPED,
            json!({"size": 64}),
            avatar(64),
        ),
        Case::new(
            "known, rating g",
            KNOWN,
            json!({"size": 100, "rating": "g"}),
            avatar(100),
        ),
        Case::new(
            "known, rating x",
            KNOWN,
            json!({"size": 100, "rating": "x"}),
            avatar(100),
        ),
        Case::new(
            "known, identicon only as a fallback",
            KNOWN,
            json!({"size": 90, "default": "identicon"}),
            avatar(90),
        ),
        Case::new(
            "rated x, no rating: hidden",
            RATED_X,
            json!({"default": "404"}),
            NotFound,
        ),
        Case::new(
            "rated x, rating g: hidden",
            RATED_X,
            json!({"default": "404", "rating": "g"}),
            NotFound,
        ),
        Case::new(
            "rated x, rating pg: the default instead",
            RATED_X,
            json!({"size": 70, "default": "identicon", "rating": "pg"}),
            Picture { side: 70 },
        ),
        Case::new(
            "rated x, rating x: shown",
            RATED_X,
            json!({"size": 70, "default": "404", "rating": "x"}),
            avatar(70),
        ),
        Case::new(
            "unknown, d=404",
            UNKNOWN,
            json!({"default": "404"}),
            NotFound,
        ),
        Case::new(
            "unknown, no default: the tenant's, 404",
            UNKNOWN,
            json!({}),
            NotFound,
        ),
        Case::new(
            "gravatar's documented example address",
            DOCUMENTED.0,
            json!({"default": "404"}),
            NotFound,
        ),
        Case::new(
            "unknown, identicon",
            UNKNOWN,
            json!({"size": 120, "default": "identicon"}),
            Picture { side: 120 },
        ),
        Case::new(
            "unknown, mp",
            UNKNOWN,
            json!({"size": 64, "default": "mp"}),
            Picture { side: 64 },
        ),
        Case::new(
            "unknown, monsterid",
            UNKNOWN,
            json!({"size": 72, "default": "monsterid"}),
            Picture { side: 72 },
        ),
        Case::new(
            "unknown, wavatar",
            UNKNOWN,
            json!({"size": 96, "default": "wavatar"}),
            Picture { side: 96 },
        ),
        Case::new(
            "unknown, retro",
            UNKNOWN,
            json!({"size": 50, "default": "retro"}),
            Picture { side: 50 },
        ),
        Case::new(
            "unknown, robohash",
            UNKNOWN,
            json!({"size": 128, "default": "robohash"}),
            Picture { side: 128 },
        ),
        Case::new(
            "unknown, blank",
            UNKNOWN,
            json!({"size": 48, "default": "blank"}),
            Blank { side: 48 },
        ),
    ]
}

/// `forcedefault`, for the libraries that document it.
fn forced_cases() -> Vec<Case> {
    vec![
        Case::new(
            "known, forced identicon",
            KNOWN,
            json!({"size": 90, "default": "identicon", "force_default": true}),
            Expect::Picture { side: 90 },
        ),
        Case::new(
            "known, forced 404",
            KNOWN,
            json!({"default": "404", "force_default": true}),
            Expect::NotFound,
        ),
    ]
}

/// A client script and how to run it.
struct Client {
    what: &'static str,
    program: PathBuf,
    args: Vec<String>,
}

fn clients_dir() -> PathBuf {
    workspace_root().join("tests/clients")
}

/// Fails under `CI=true`, where `.ci/run` installs everything; elsewhere says what is missing.
fn unavailable(what: &str, why: &str) -> Option<Client> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "{what} is missing under CI=true: {why}");
    eprintln!("skipping the {what} test: {why} (install with the client lines of .ci/run)");
    None
}

/// `python3` of the virtualenv, once `libgravatar` imports there.
fn libgravatar() -> Option<Client> {
    let what = "libgravatar (PyPI)";
    let venv = std::env::var_os("AVATAR_CLIENTS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| clients_dir().join(".venv"));
    let python = venv.join("bin/python3");
    match Command::new(&python)
        .args(["-c", "import libgravatar"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => Some(Client {
            what,
            program: python,
            args: vec![path_arg(clients_dir().join("libgravatar_client.py"))],
        }),
        Ok(out) => unavailable(
            what,
            &format!(
                "{} cannot import libgravatar: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ),
        Err(e) => unavailable(what, &format!("no {}: {e}", python.display())),
    }
}

/// `node` with `package` installed in `tests/clients/node_modules`.
fn npm(package: &'static str, what: &'static str) -> Option<Client> {
    if let Err(e) = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        return unavailable(what, &format!("no node: {e}"));
    }
    let manifest = clients_dir()
        .join("node_modules")
        .join(package)
        .join("package.json");
    if !manifest.is_file() {
        return unavailable(what, &format!("no {}", manifest.display()));
    }
    Some(Client {
        what,
        program: "node".into(),
        args: vec![
            path_arg(clients_dir().join("npm_client.mjs")),
            package.to_owned(),
        ],
    })
}

fn path_arg(path: PathBuf) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

impl Client {
    /// Runs the script on `plan` and returns its JSON results; fails the test when it exits
    /// non-zero, prints something else, or outlives [`SCRIPT_DEADLINE`].
    fn run(&self, plan: &Value) -> Vec<Value> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .arg(plan.to_string())
            .current_dir(clients_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: starting {:?}: {e}", self.what, self.program));
        let stdout = reader(child.stdout.take().expect("piped stdout"));
        let stderr = reader(child.stderr.take().expect("piped stderr"));
        let status = wait_bounded(&mut child, self.what);
        let stdout = stdout.join().expect("stdout reader");
        let stderr = stderr.join().expect("stderr reader");
        assert!(
            status.success(),
            "{} ({}) failed with {status}:\n{}",
            self.what,
            plan["mode"],
            String::from_utf8_lossy(&stderr)
        );
        let results: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
            panic!(
                "{} printed no JSON ({e}): {}",
                self.what,
                String::from_utf8_lossy(&stdout)
            )
        });
        results.as_array().expect("a JSON list").clone()
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes)
            .expect("reading a script's output");
        bytes
    })
}

/// Waits for `child` at most [`SCRIPT_DEADLINE`], killing it past that.
fn wait_bounded(child: &mut std::process::Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + SCRIPT_DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a script") {
            return status;
        }
        if Instant::now() >= deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{what} did not finish within {SCRIPT_DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The hash in a URL the library built: the path `/avatar/{hash}[.ext]` on `base`.
fn path_hash<'a>(url: &'a str, base: &str, what: &str) -> &'a str {
    let file = url
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix("/avatar/"))
        .unwrap_or_else(|| panic!("{what}: {url} is not {base}/avatar/…"));
    let file = file.split('?').next().unwrap_or(file);
    let hash = file.split('.').next().unwrap_or(file);
    assert!(
        hash.len() == 32 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{what}: {url} does not carry a lower-case MD5"
    );
    hash
}

/// The path hashes of the URLs built for `email`'s cases, in order.
fn hashes<'a>(cases: &[Case], built: &'a [Value], base: &str, email: &str) -> Vec<&'a str> {
    cases
        .iter()
        .zip(built)
        .filter(|(case, _)| case.email == email)
        .map(|(case, url)| path_hash(url["url"].as_str().expect("a URL"), base, case.name))
        .collect()
}

/// Whether `image` is the uploaded quadrants (red, green, blue, white), sampled at each
/// quadrant's centre with room for JPEG and resampling.
fn is_uploaded_avatar(image: &DynamicImage) -> bool {
    let rgb = image.to_rgb8();
    let (w, h) = rgb.dimensions();
    let expected = [
        ((w / 4, h / 4), [255, 0, 0]),
        ((3 * w / 4, h / 4), [0, 255, 0]),
        ((w / 4, 3 * h / 4), [0, 0, 255]),
        ((3 * w / 4, 3 * h / 4), [255, 255, 255]),
    ];
    expected.iter().all(|&((x, y), colour)| {
        let pixel = rgb.get_pixel(x, y).0;
        pixel.iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= 48)
    })
}

/// Checks one fetched answer against what the library's user expects.
fn check(case: &Case, result: &Value, what: &str) {
    let label = format!("{what}, {}: {}", case.name, result["url"]);
    let status = result["status"].as_u64().expect("a status");
    let content_type = result["content_type"].as_str().unwrap_or("");
    let body = base64::engine::general_purpose::STANDARD
        .decode(result["body"].as_str().expect("a body"))
        .expect("base64");
    let (side, expect_avatar) = match case.expect {
        Expect::NotFound => {
            assert_eq!(status, 404, "{label}");
            return;
        }
        Expect::Avatar {
            side,
            content_type: wanted,
        } => {
            assert_eq!(content_type, wanted, "{label}");
            (side, true)
        }
        Expect::Picture { side } | Expect::Blank { side } => (side, false),
    };
    assert_eq!(status, 200, "{label}: {}", String::from_utf8_lossy(&body));
    let format = image::guess_format(&body).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(
        image::ImageFormat::from_mime_type(content_type),
        Some(format),
        "{label}: Content-Type {content_type:?} names what the body is"
    );
    let image = image::load_from_memory(&body).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(image.dimensions(), (side, side), "{label}");
    assert_eq!(is_uploaded_avatar(&image), expect_avatar, "{label}");
    if let Expect::Blank { .. } = case.expect {
        assert!(
            image.to_rgba8().pixels().all(|p| p.0[3] == 0),
            "{label}: every pixel transparent"
        );
    }
}

/// Uploads the quadrants for `hash` rated `x` (the `rating` query parameter of `PUT`).
fn upload_rated_x(server: &TestServer, hash: &str) {
    let auth = format!("Bearer {}", server.token(hash));
    let reply = server.request(
        "PUT",
        &format!("/{hash}?rating=x"),
        &[("authorization", &auth), ("content-type", "image/png")],
        Some(&png(400, 400)),
    );
    assert_eq!(reply.status, 201, "upload rated x: {}", reply.text());
}

/// Builds every case's URL with `client`, uploads the avatars under the hashes the library
/// put in the URLs (the known address's rated `g`, the default; another's rated `x`), then fetches them all and checks each answer.
fn check_client(client: &Client, cases: &[Case]) {
    let server = TestServer::start();
    let plan = |mode: &str| {
        json!({
            "mode": mode,
            "base": server.base_url,
            "cases": cases.iter().map(Case::spec).collect::<Vec<_>>(),
        })
    };
    let built = client.run(&plan("build"));
    assert_eq!(
        built.len(),
        cases.len(),
        "{}: one URL per case",
        client.what
    );
    let hash_of = |email: &str| hashes(cases, &built, &server.base_url, email);
    let known = hash_of(KNOWN);
    let known_hash = known[0].to_owned();
    assert!(
        known
            .iter()
            .chain(&hash_of(KNOWN_TYPED))
            .all(|h| *h == known_hash),
        "{}: one hash for the address however it is typed",
        client.what
    );
    let rated_x = hash_of(RATED_X);
    assert!(
        hash_of(UNKNOWN)
            .iter()
            .chain(&rated_x)
            .all(|h| *h != known_hash),
        "{}: another address, another hash",
        client.what
    );
    assert!(
        hash_of(DOCUMENTED.0).iter().all(|h| *h == DOCUMENTED.1),
        "{}: Gravatar's own example hashes as Gravatar documents",
        client.what
    );

    server.upload_png(&known_hash, &png(400, 400));
    upload_rated_x(&server, rated_x[0]);

    let fetched = client.run(&plan("fetch"));
    assert_eq!(
        fetched.len(),
        cases.len(),
        "{}: one answer per case",
        client.what
    );
    for ((case, result), url) in cases.iter().zip(&fetched).zip(&built) {
        assert_eq!(
            result["name"], case.name,
            "{}: answers in order",
            client.what
        );
        assert_eq!(
            result["url"], url["url"],
            "{}: the same URL twice",
            client.what
        );
        check(case, result, client.what);
    }
}

#[test]
fn libgravatar_from_pypi_finds_avatars_and_defaults() {
    let Some(client) = libgravatar() else { return };
    let mut cases = common_cases();
    cases.extend(forced_cases());
    // `filetype_extension=True` adds `.jpg`: the answer is a JPEG whatever was stored.
    cases.push(Case::new(
        "known, .jpg",
        KNOWN,
        json!({"size": 100, "extension": "jpg"}),
        Expect::Avatar {
            side: 100,
            content_type: "image/jpeg",
        },
    ));
    check_client(&client, &cases);
}

#[test]
fn gravatar_from_npm_finds_avatars_and_defaults() {
    let Some(client) = npm("gravatar", "gravatar (npm)") else {
        return;
    };
    let mut cases = common_cases();
    cases.extend(forced_cases());
    check_client(&client, &cases);
}

#[test]
fn gravatar_url_from_npm_finds_avatars_and_defaults() {
    // Its README documents `size`, `default` and `rating`, not `forcedefault`.
    let Some(client) = npm("gravatar-url", "gravatar-url (npm)") else {
        return;
    };
    check_client(&client, &common_cases());
}
