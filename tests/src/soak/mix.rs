//! The soak's mix: the kinds of request and their weights, and one client thread
//! ([`Worker`]) with its hashes, its exact model of them at both tenants, the answer each
//! request should get, and its tallies.

use image::{DynamicImage, ImageFormat};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

use super::SECOND_TENANT;
use super::check::{Expect, error, ok};
use super::report::Tally;
use crate::images;
use crate::server::{Multipart, TENANT, TestServer, sign, unix_now};

/// The tenants, by the index the model keeps them under.
const TENANTS: [&str; 2] = [TENANT, SECOND_TENANT];
/// Hashes each thread owns (the same ones at both tenants: two avatars each).
const HASHES_PER_THREAD: u64 = 24;
/// Distinct upload bodies each thread cycles through.
const BODIES_PER_THREAD: usize = 12;
// Each body's tint (see `Worker::new`) fits in a byte.
const _: () = assert!(10 + 20 * (BODIES_PER_THREAD - 1) <= 255);
/// Unexpected answers kept, in full, for the report.
pub(super) const EXAMPLES_KEPT: usize = 8;
/// Stale ETags remembered per avatar after a replace.
const STALE_KEPT: usize = 4;
/// Sides asked for in pixels: a small set, so the rendered variants a long run keeps in the
/// image cache are those of the avatars that exist, not ever more sizes.
const PIXEL_SIDES: [u32; 6] = [24, 40, 64, 100, 200, 300];
const NAMED_SIZES: [&str; 5] = ["", "/small", "/medium", "/large", "/original"];

/// What a soak sends, one tally each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `GET` of an avatar at a preset (or none).
    ReadNamed,
    /// `GET` of an avatar at a size in pixels (rendered once, then cached).
    ReadPixels,
    /// `HEAD`, of an existing avatar or of a deleted one.
    Head,
    /// `GET` with `If-None-Match`: the current ETag (`304`) or one from before a replace.
    Conditional,
    /// A first upload (raw body or multipart).
    Upload,
    /// An upload over an existing avatar.
    Replace,
    /// `DELETE`, of an existing avatar or of a missing one (`404`).
    Delete,
    /// `GET` of a hash nobody uploaded.
    Unknown,
    /// An upload or delete with a missing, malformed, foreign or expired token.
    BadToken,
    /// An upload of garbage or a truncated image.
    BadImage,
}

impl Kind {
    /// The mix, in percent.
    const WEIGHTS: [(Kind, u64); 10] = [
        (Kind::ReadNamed, 24),
        (Kind::ReadPixels, 10),
        (Kind::Head, 5),
        (Kind::Conditional, 15),
        (Kind::Upload, 9),
        (Kind::Replace, 7),
        (Kind::Delete, 8),
        (Kind::Unknown, 8),
        (Kind::BadToken, 7),
        (Kind::BadImage, 7),
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::ReadNamed => "read (named size)",
            Kind::ReadPixels => "read (pixels)",
            Kind::Head => "head",
            Kind::Conditional => "conditional read",
            Kind::Upload => "upload",
            Kind::Replace => "replace",
            Kind::Delete => "delete",
            Kind::Unknown => "unknown hash",
            Kind::BadToken => "bad token",
            Kind::BadImage => "bad image",
        }
    }
}

/// A seeded generator (`fastrand`): the same mix every run of a thread.
struct Rng(fastrand::Rng);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0.u64(..n)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// An avatar the model knows exists: which body it was made from and the ETags seen of it,
/// by path.
#[derive(Default)]
struct Avatar {
    body: usize,
    etags: HashMap<String, String>,
    /// ETags from before the last replaces: path, ETag, and the body they were of. ETags
    /// are of the bytes, so one matches again once the avatar is made from that body again.
    stale: Vec<(String, String, usize)>,
}

/// One client thread: its hashes, its model of them at each tenant, and its tallies.
pub(super) struct Worker<'a> {
    pub(super) server: &'a TestServer,
    pub(super) thread: usize,
    rng: Rng,
    /// Per tenant (index into [`TENANTS`]): slot to avatar.
    model: [BTreeMap<u64, Avatar>; 2],
    /// Upload bodies and their content types.
    bodies: Vec<(Vec<u8>, &'static str)>,
    /// Bodies that are not images, with the answer each gets.
    bad: Vec<(Vec<u8>, &'static str, Expect)>,
    pub(super) tallies: BTreeMap<Kind, Tally>,
    pub(super) examples: Vec<String>,
}

impl<'a> Worker<'a> {
    pub(super) fn new(server: &'a TestServer, thread: usize) -> Self {
        let thread_side = thread as u32 * 2;
        let bodies = (0..BODIES_PER_THREAD)
            .map(|i| {
                // Every body of a thread has a side and a tint of its own. ETags are of the
                // bytes, and pictures that differ only in size can come out the same once
                // scaled down (a 40 px render of two gradients, or of two quadrant
                // patterns, say); a tint survives any scaling, so a replace always changes
                // every size of the avatar, and its ETags.
                let side = [48, 96, 160, 240, 320, 480][i % 6] + thread_side + i as u32;
                let tint = 10 + 20 * i as u8;
                let mut picture = if i % 2 == 0 {
                    images::photo(side)
                } else {
                    images::quadrants(side, side * 3 / 4)
                };
                for pixel in picture.pixels_mut() {
                    pixel.0[2] = tint;
                }
                let picture = DynamicImage::ImageRgb8(picture);
                if i % 2 == 0 {
                    (images::encode(&picture, ImageFormat::Jpeg), "image/jpeg")
                } else {
                    (images::encode(&picture, ImageFormat::Png), "image/png")
                }
            })
            .collect::<Vec<_>>();
        let (jpeg, png) = (&bodies[0].0, &bodies[1].0);
        let bad = vec![
            (
                b"this is not an image, whatever its content type says".to_vec(),
                "image/png",
                error(415, "unsupported-image"),
            ),
            (
                (0..=255u8).cycle().take(3000).collect(),
                "image/jpeg",
                error(415, "unsupported-image"),
            ),
            (
                jpeg[..jpeg.len() / 2].to_vec(),
                "image/jpeg",
                error(422, "undecodable-image"),
            ),
            (
                png[..png.len() / 2].to_vec(),
                "image/png",
                error(422, "undecodable-image"),
            ),
        ];
        Self {
            server,
            thread,
            rng: Rng(fastrand::Rng::with_seed(
                0x50A4_0000_0000_0001 ^ ((thread as u64 + 1) << 32),
            )),
            model: [BTreeMap::new(), BTreeMap::new()],
            bodies,
            bad,
            tallies: BTreeMap::new(),
            examples: Vec::new(),
        }
    }

    fn hash(&self, slot: u64) -> String {
        format!("50a4{:04x}{slot:032x}", self.thread)
    }

    fn prefix(tenant: usize) -> &'static str {
        if tenant == 0 { "" } else { "/t/soak-b" }
    }

    /// A slot of `tenant` that holds an avatar (`exists`) or not, if there is one.
    fn slot(&mut self, tenant: usize, exists: bool) -> Option<u64> {
        let candidates: Vec<u64> = (0..HASHES_PER_THREAD)
            .filter(|slot| self.model[tenant].contains_key(slot) == exists)
            .collect();
        (!candidates.is_empty()).then(|| *self.rng.pick(&candidates))
    }

    /// Sends one request of a kind drawn from [`Kind::WEIGHTS`].
    pub(super) fn step(&mut self) {
        let mut roll = self.rng.below(100);
        let mut kind = Kind::ReadNamed;
        for (k, weight) in Kind::WEIGHTS {
            if roll < weight {
                kind = k;
                break;
            }
            roll -= weight;
        }
        let tenant = self.rng.below(2) as usize;
        let existing = self.slot(tenant, true);
        let missing = self.slot(tenant, false);
        // A kind that needs an avatar when there is none uploads one; an upload when every
        // hash has one replaces.
        let kind = match (kind, existing, missing) {
            (Kind::Upload, _, None) => Kind::Replace,
            (Kind::ReadNamed | Kind::ReadPixels | Kind::Conditional | Kind::Replace, None, _) => {
                Kind::Upload
            }
            (kind, _, _) => kind,
        };
        match kind {
            Kind::ReadNamed => {
                let size = *self.rng.pick(&NAMED_SIZES);
                self.read(tenant, existing.expect("an avatar"), size.to_owned());
            }
            Kind::ReadPixels => {
                let side = *self.rng.pick(&PIXEL_SIDES);
                self.read(tenant, existing.expect("an avatar"), format!("/{side}"));
            }
            Kind::Head => self.head(tenant, existing, missing),
            Kind::Conditional => self.conditional(tenant, existing.expect("an avatar")),
            Kind::Upload => self.upload(Kind::Upload, tenant, missing.expect("a free hash")),
            Kind::Replace => self.upload(Kind::Replace, tenant, existing.expect("an avatar")),
            Kind::Delete => self.delete(tenant, existing, missing),
            Kind::Unknown => {
                let hash = format!("0bad{:036x}", self.rng.next());
                let size = *self.rng.pick(&["", "/small", "/64"]);
                let path = format!("{}/{hash}{size}", Self::prefix(tenant));
                let reply = self.timed(Kind::Unknown, "GET", &path, &[], None);
                self.check(Kind::Unknown, "GET", &path, &reply, error(404, "not-found"));
            }
            Kind::BadToken => self.bad_token(tenant, existing, missing),
            Kind::BadImage => {
                let slot = existing.or(missing).expect("a hash");
                let which = self.rng.below(self.bad.len() as u64) as usize;
                let (body, content_type, _) = &self.bad[which];
                let (body, content_type) = (body.clone(), *content_type);
                let hash = self.hash(slot);
                let auth = format!("Bearer {}", self.server.token_for(TENANTS[tenant], &hash));
                let path = format!("{}/{hash}", Self::prefix(tenant));
                let headers = [
                    ("authorization", auth.as_str()),
                    ("content-type", content_type),
                ];
                let reply = self.timed(Kind::BadImage, "PUT", &path, &headers, Some(&body));
                let expect = self.bad[which].2;
                self.check(Kind::BadImage, "PUT", &path, &reply, expect);
            }
        }
    }

    fn read(&mut self, tenant: usize, slot: u64, size: String) {
        let path = format!("{}/{}{size}", Self::prefix(tenant), self.hash(slot));
        let reply = self.timed(Kind::from_size(&size), "GET", &path, &[], None);
        if self.check(Kind::from_size(&size), "GET", &path, &reply, ok(200))
            && let Some(etag) = reply.header("etag")
        {
            let avatar = self.model[tenant].get_mut(&slot).expect("an avatar");
            avatar.etags.insert(path, etag.to_owned());
        }
    }

    fn head(&mut self, tenant: usize, existing: Option<u64>, missing: Option<u64>) {
        let (slot, expect) = match (existing, missing) {
            (Some(slot), None) => (slot, ok(204)),
            (Some(slot), Some(_)) if self.rng.below(4) > 0 => (slot, ok(204)),
            (_, Some(slot)) => (slot, ok(404)),
            (None, None) => unreachable!("a slot is either used or free"),
        };
        let path = format!("{}/{}", Self::prefix(tenant), self.hash(slot));
        let reply = self.timed(Kind::Head, "HEAD", &path, &[], None);
        self.check(Kind::Head, "HEAD", &path, &reply, expect);
    }

    fn conditional(&mut self, tenant: usize, slot: u64) {
        let avatar = &self.model[tenant][&slot];
        // An old ETag now and then (when there is one), else a current one.
        let (path, etag, expect) = if !avatar.stale.is_empty() && self.rng.below(3) == 0 {
            let (path, etag, body) = self.rng.pick(&avatar.stale).clone();
            let expect = if body == avatar.body {
                ok(304)
            } else {
                ok(200)
            };
            (path, etag, expect)
        } else {
            let mut known: Vec<(&String, &String)> = avatar.etags.iter().collect();
            if known.is_empty() {
                let size = *self.rng.pick(&NAMED_SIZES);
                return self.read(tenant, slot, size.to_owned());
            }
            known.sort();
            let (path, etag) = *self.rng.pick(&known);
            (path.clone(), etag.clone(), ok(304))
        };
        let headers = [("if-none-match", etag.as_str())];
        let reply = self.timed(Kind::Conditional, "GET", &path, &headers, None);
        if self.check(Kind::Conditional, "GET", &path, &reply, expect)
            && reply.status == 200
            && let Some(etag) = reply.header("etag")
        {
            let avatar = self.model[tenant].get_mut(&slot).expect("an avatar");
            avatar.etags.insert(path, etag.to_owned());
        }
    }

    fn upload(&mut self, kind: Kind, tenant: usize, slot: u64) {
        let previous = self.model[tenant].get(&slot).map(|a| a.body);
        let mut body = self.rng.below(self.bodies.len() as u64) as usize;
        if Some(body) == previous {
            body = (body + 1) % self.bodies.len();
        }
        let hash = self.hash(slot);
        let auth = format!("Bearer {}", self.server.token_for(TENANTS[tenant], &hash));
        let path = format!("{}/{hash}", Self::prefix(tenant));
        let (bytes, content_type) = &self.bodies[body];
        let (bytes, content_type) = (bytes.clone(), *content_type);
        // A quarter of the uploads are forms, as browsers send them.
        let (method, reply) = if self.rng.below(4) == 0 {
            let (form_type, form) = Multipart::new()
                .file("avatar", "avatar", content_type, &bytes)
                .finish();
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", &form_type),
            ];
            (
                "POST",
                self.timed(kind, "POST", &path, &headers, Some(&form)),
            )
        } else {
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", content_type),
            ];
            (
                "PUT",
                self.timed(kind, "PUT", &path, &headers, Some(&bytes)),
            )
        };
        let mut answered = self.check(kind, method, &path, &reply, ok(201));
        let record: Option<Value> = serde_json::from_slice(&reply.body).ok();
        if answered && record.is_none_or(|r| r["hash"] != json!(hash)) {
            self.unexpected(kind, method, &path, &reply, "a record of another hash");
            answered = false;
        }
        if answered {
            let avatar = self.model[tenant].entry(slot).or_default();
            let (old, old_body) = (std::mem::take(&mut avatar.etags), avatar.body);
            avatar
                .stale
                .extend(old.into_iter().map(|(path, etag)| (path, etag, old_body)));
            avatar.body = body;
            let excess = avatar.stale.len().saturating_sub(STALE_KEPT);
            avatar.stale.drain(..excess);
        }
    }

    fn delete(&mut self, tenant: usize, existing: Option<u64>, missing: Option<u64>) {
        let (slot, expect) = match (existing, missing) {
            (Some(slot), None) => (slot, ok(204)),
            (Some(slot), Some(_)) if self.rng.below(5) > 0 => (slot, ok(204)),
            (_, Some(slot)) => (slot, error(404, "not-found")),
            (None, None) => unreachable!("a slot is either used or free"),
        };
        let hash = self.hash(slot);
        let auth = format!("Bearer {}", self.server.token_for(TENANTS[tenant], &hash));
        let path = format!("{}/{hash}", Self::prefix(tenant));
        let headers = [("authorization", auth.as_str())];
        let reply = self.timed(Kind::Delete, "DELETE", &path, &headers, None);
        if self.check(Kind::Delete, "DELETE", &path, &reply, expect) {
            self.model[tenant].remove(&slot);
        }
    }

    fn bad_token(&mut self, tenant: usize, existing: Option<u64>, missing: Option<u64>) {
        let slot = existing.or(missing).expect("a hash");
        let hash = self.hash(slot);
        let now = unix_now();
        let claims = json!({
            "sub": "soak", "hash": hash, "tenant": TENANTS[tenant], "iat": now, "exp": now + 600,
        });
        let mut expired = claims.clone();
        expired["exp"] = json!(now - 3600);
        let other_slot = (slot + 1) % HASHES_PER_THREAD;
        let (token, expect) = match self.rng.below(6) {
            0 => (None, error(401, "missing-token")),
            1 => (Some("not-a-token".to_owned()), error(401, "invalid-token")),
            2 => (
                Some(sign(
                    &claims,
                    "another-secret-that-is-long-enough-for-hs256",
                )),
                error(401, "bad-signature"),
            ),
            3 => (
                Some(self.server.sign(&expired)),
                error(401, "token-expired"),
            ),
            4 => (
                Some(
                    self.server
                        .token_for(TENANTS[tenant], &self.hash(other_slot)),
                ),
                error(403, "wrong-hash"),
            ),
            _ => (
                Some(self.server.token_for(TENANTS[1 - tenant], &hash)),
                error(403, "wrong-tenant"),
            ),
        };
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        let path = format!("{}/{hash}", Self::prefix(tenant));
        let (method, body) = if self.rng.below(3) == 0 {
            ("DELETE", None)
        } else {
            headers.push(("content-type", self.bodies[0].1));
            ("PUT", Some(self.bodies[0].0.clone()))
        };
        let reply = self.timed(Kind::BadToken, method, &path, &headers, body.as_deref());
        self.check(Kind::BadToken, method, &path, &reply, expect);
    }
}

impl Kind {
    /// The kind of a read of `size` (a path suffix).
    fn from_size(size: &str) -> Kind {
        let pixels = size
            .trim_start_matches('/')
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit());
        if pixels {
            Kind::ReadPixels
        } else {
            Kind::ReadNamed
        }
    }
}
