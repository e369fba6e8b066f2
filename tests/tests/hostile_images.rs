//! A bounded mutation run over real images through the real transform plugin: JPEG, PNG, GIF
//! and WebP files made by the `image` crate, truncated at many offsets, with single and
//! multiple bit flips, with the dimensions forged in their headers (PNG IHDR with its CRC
//! recomputed, JPEG SOF0, the GIF logical screen and image descriptors, the WebP VP8L
//! header), and with chunks or segments declaring huge lengths. Every answer is a `2xx` (a
//! mutant may still be an image), a `4xx`, or a `plugin-*` `5xx`, each error with a JSON
//! body; the host never crashes and serves normally after.
//!
//! The mutants come from a seeded generator of this file's own, so every run sends the same
//! ones; the run stops at [`MAX_MUTANTS`] or after [`TIME_CAP`], and says how many ran.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use avatar_tests::images;
use avatar_tests::server::{Reply, TestServer};
use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};

/// The most mutants one run uploads.
const MAX_MUTANTS: usize = 300;
/// The run stops sending mutants after this long, and reports how many it sent.
const TIME_CAP: Duration = Duration::from_secs(60);
/// How often one mutant is sent again while its tenant is suspended (a run of plugin
/// failures suspends it, as designed, for a second and then longer).
const MAX_SUSPENDED_RETRIES: usize = 5;

/// A real image to mutate.
struct Original {
    name: &'static str,
    content_type: &'static str,
    bytes: Vec<u8>,
}

/// One upload: what it is, for the tally and for failure messages.
struct Mutant {
    what: String,
    content_type: &'static str,
    bytes: Vec<u8>,
}

fn originals() -> Vec<Original> {
    let photo = DynamicImage::ImageRgb8(images::photo(96));
    let translucent = DynamicImage::ImageRgba8(images::translucent(64, 48));
    // GIF is palette-based: few colours, as GIF avatars have.
    let gif = DynamicImage::ImageRgba8(RgbaImage::from_fn(40, 30, |x, y| {
        Rgba([(x * 6) as u8 & 0xC0, (y * 8) as u8 & 0xC0, 0x80, 255])
    }));
    vec![
        Original {
            name: "jpeg",
            content_type: "image/jpeg",
            bytes: images::encode(&photo, ImageFormat::Jpeg),
        },
        Original {
            name: "png",
            content_type: "image/png",
            bytes: images::encode(&photo, ImageFormat::Png),
        },
        Original {
            name: "png-rgba",
            content_type: "image/png",
            bytes: images::encode(&translucent, ImageFormat::Png),
        },
        Original {
            name: "gif",
            content_type: "image/gif",
            bytes: images::encode(&gif, ImageFormat::Gif),
        },
        Original {
            name: "webp",
            content_type: "image/webp",
            bytes: images::encode(&translucent, ImageFormat::WebP),
        },
    ]
}

/// Forged dimensions: zero, one, the largest each field holds, and pictures larger than the
/// pixel limit or the plugin's memory.
const FORGED: [(u32, u32); 9] = [
    (0, 0),
    (0, 64),
    (1, 1),
    (1, 65_535),
    (65_535, 1),
    (65_535, 65_535),
    (7_000, 7_000),
    (10_000, 10_000),
    (8, 8),
];

/// The PNG with IHDR's width and height replaced (and its CRC recomputed, so a decoder gets
/// past it); `None` when it is no PNG.
fn png_with_size(png: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    // Signature (8), then IHDR: length (4), type (4), data (13), CRC (4).
    if png.len() < 33 || &png[12..16] != b"IHDR" {
        return None;
    }
    let mut out = png.to_vec();
    out[16..20].copy_from_slice(&width.to_be_bytes());
    out[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = images::crc32(&out[12..29]);
    out[29..33].copy_from_slice(&crc.to_be_bytes());
    Some(out)
}

/// The PNG with IHDR's bit depth and colour type replaced (CRC recomputed).
fn png_with_format(png: &[u8], depth: u8, colour: u8) -> Vec<u8> {
    let mut out = png.to_vec();
    out[24] = depth;
    out[25] = colour;
    let crc = images::crc32(&out[12..29]);
    out[29..33].copy_from_slice(&crc.to_be_bytes());
    out
}

/// The PNG with a chunk of `kind` after IHDR whose length field says `declared` and whose
/// data is a few bytes (then the file goes on).
fn png_with_huge_chunk(png: &[u8], kind: &[u8; 4], declared: u32) -> Vec<u8> {
    let mut out = png[..33].to_vec();
    out.extend_from_slice(&declared.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(b"\0\0\0\0\0\0\0\0");
    out.extend_from_slice(&png[33..]);
    out
}

/// The PNG with its first IDAT's length field replaced by `declared`.
fn png_with_idat_length(png: &[u8], declared: u32) -> Option<Vec<u8>> {
    let at = png.windows(4).position(|w| w == b"IDAT")?.checked_sub(4)?;
    let mut out = png.to_vec();
    out[at..at + 4].copy_from_slice(&declared.to_be_bytes());
    Some(out)
}

/// The offset of the first JPEG marker `marker` (`0xFF marker`) in `jpeg`.
fn jpeg_marker(jpeg: &[u8], marker: u8) -> Option<usize> {
    jpeg.windows(2).position(|w| w == [0xFF, marker])
}

/// The JPEG with SOF0's height and width replaced.
fn jpeg_with_size(jpeg: &[u8], width: u16, height: u16) -> Option<Vec<u8>> {
    // FF C0, length (2), precision (1), height (2), width (2), components (1).
    let at = jpeg_marker(jpeg, 0xC0)?;
    let mut out = jpeg.to_vec();
    out[at + 5..at + 7].copy_from_slice(&height.to_be_bytes());
    out[at + 7..at + 9].copy_from_slice(&width.to_be_bytes());
    Some(out)
}

/// The JPEG with SOF0's component count replaced.
fn jpeg_with_components(jpeg: &[u8], components: u8) -> Option<Vec<u8>> {
    let at = jpeg_marker(jpeg, 0xC0)?;
    let mut out = jpeg.to_vec();
    out[at + 9] = components;
    Some(out)
}

/// The JPEG with an APP segment right after SOI whose length says `declared` (at most
/// 65,535: the field's width) but which holds a few bytes.
fn jpeg_with_huge_segment(jpeg: &[u8], declared: u16) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE5]);
    out.extend_from_slice(&declared.to_be_bytes());
    out.extend_from_slice(b"short");
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The JPEG with the length of its first DQT or DHT segment replaced.
fn jpeg_with_table_length(jpeg: &[u8], marker: u8, declared: u16) -> Option<Vec<u8>> {
    let at = jpeg_marker(jpeg, marker)?;
    let mut out = jpeg.to_vec();
    out[at + 2..at + 4].copy_from_slice(&declared.to_be_bytes());
    Some(out)
}

/// The GIF with the logical screen descriptor's width and height replaced, and (with
/// `descriptor`) the first image descriptor's too.
fn gif_with_size(gif: &[u8], width: u16, height: u16, descriptor: bool) -> Option<Vec<u8>> {
    if gif.len() < 13 || !gif.starts_with(b"GIF8") {
        return None;
    }
    let mut out = gif.to_vec();
    out[6..8].copy_from_slice(&width.to_le_bytes());
    out[8..10].copy_from_slice(&height.to_le_bytes());
    if descriptor {
        // Past the header (6), the screen descriptor (7) and the global colour table.
        let packed = gif[10];
        let table = if packed & 0x80 != 0 {
            3 << ((packed & 7) + 1)
        } else {
            0
        };
        let at = 13 + table + gif[13 + table..].iter().position(|&b| b == 0x2C)?;
        // 2C, left (2), top (2), width (2), height (2).
        out[at + 5..at + 7].copy_from_slice(&width.to_le_bytes());
        out[at + 7..at + 9].copy_from_slice(&height.to_le_bytes());
    }
    Some(out)
}

/// The WebP with the VP8L header's width and height replaced (14 bits each, less one).
fn webp_with_size(webp: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    // RIFF (4), size (4), WEBP (4), VP8L (4), chunk size (4), signature 0x2F (1), then
    // width - 1 (14 bits), height - 1 (14 bits), alpha (1), version (3), little endian.
    if webp.len() < 25 || &webp[12..16] != b"VP8L" || webp[20] != 0x2F {
        return None;
    }
    let old = u32::from_le_bytes(webp[21..25].try_into().ok()?);
    let w = width.saturating_sub(1).min(0x3FFF);
    let h = height.saturating_sub(1).min(0x3FFF);
    let new = (old & 0xF000_0000) | w | (h << 14);
    let mut out = webp.to_vec();
    out[21..25].copy_from_slice(&new.to_le_bytes());
    Some(out)
}

/// The WebP with its RIFF size or its first chunk's size replaced by `declared`.
fn webp_with_length(webp: &[u8], riff: bool, declared: u32) -> Vec<u8> {
    let mut out = webp.to_vec();
    let at = if riff { 4 } else { 16 };
    out[at..at + 4].copy_from_slice(&declared.to_le_bytes());
    out
}

/// The format-aware mutants of `original`: forged dimensions and huge declared lengths.
fn structural(original: &Original) -> Vec<(String, Vec<u8>)> {
    let bytes = &original.bytes;
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let clamp16 = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    match original.content_type {
        "image/png" => {
            for (w, h) in FORGED
                .into_iter()
                .chain([(0x7FFF_FFFF, 1), (u32::MAX, u32::MAX)])
            {
                out.extend(png_with_size(bytes, w, h).map(|m| (format!("IHDR {w}x{h}"), m)));
            }
            for (depth, colour) in [(3, 2), (16, 3), (8, 7), (0, 0)] {
                out.push((
                    format!("IHDR depth {depth} colour type {colour}"),
                    png_with_format(bytes, depth, colour),
                ));
            }
            for (kind, declared) in [
                (b"tEXt", 0x7FFF_FFFF),
                (b"zTXt", 0x7FFF_FFFE),
                (b"iCCP", 100 << 20),
                (b"teSt", u32::MAX),
            ] {
                out.push((
                    format!(
                        "{} chunk declaring {declared} bytes",
                        String::from_utf8_lossy(kind)
                    ),
                    png_with_huge_chunk(bytes, kind, declared),
                ));
            }
            for declared in [0x7FFF_FFFF, 64 << 20, 0] {
                out.extend(
                    png_with_idat_length(bytes, declared)
                        .map(|m| (format!("IDAT declaring {declared} bytes"), m)),
                );
            }
        }
        "image/jpeg" => {
            for (w, h) in FORGED {
                out.extend(
                    jpeg_with_size(bytes, clamp16(w), clamp16(h))
                        .map(|m| (format!("SOF0 {w}x{h}"), m)),
                );
            }
            for components in [0, 2, 4, 255] {
                out.extend(
                    jpeg_with_components(bytes, components)
                        .map(|m| (format!("SOF0 with {components} components"), m)),
                );
            }
            for declared in [u16::MAX, 2, 0] {
                out.push((
                    format!("APP5 declaring {declared} bytes"),
                    jpeg_with_huge_segment(bytes, declared),
                ));
            }
            for (name, marker) in [("DQT", 0xDB), ("DHT", 0xC4)] {
                for declared in [u16::MAX, 3] {
                    out.extend(
                        jpeg_with_table_length(bytes, marker, declared)
                            .map(|m| (format!("{name} declaring {declared} bytes"), m)),
                    );
                }
            }
        }
        "image/gif" => {
            for (w, h) in FORGED {
                for descriptor in [false, true] {
                    let which = if descriptor {
                        "screen and image"
                    } else {
                        "screen"
                    };
                    out.extend(
                        gif_with_size(bytes, clamp16(w), clamp16(h), descriptor)
                            .map(|m| (format!("GIF {which} {w}x{h}"), m)),
                    );
                }
            }
        }
        "image/webp" => {
            // VP8L stores each side less one, so a side of 0 is not expressible.
            let sizes = FORGED.into_iter().filter(|&(w, h)| w > 0 && h > 0);
            for (w, h) in sizes.chain([(16_384, 16_384)]) {
                out.extend(webp_with_size(bytes, w, h).map(|m| (format!("VP8L {w}x{h}"), m)));
            }
            for (riff, declared) in [
                (true, u32::MAX),
                (true, 8),
                (false, 0x7FFF_FFFF),
                (false, 0),
            ] {
                let which = if riff { "RIFF" } else { "VP8L chunk" };
                out.push((
                    format!("{which} declaring {declared} bytes"),
                    webp_with_length(bytes, riff, declared),
                ));
            }
        }
        _ => {}
    }
    out
}

/// Every mutant, deterministic: per original its structural mutants, then truncations and
/// bit flips, interleaved across originals so a time cap still covers each format.
fn mutants() -> Vec<Mutant> {
    // Seeded: the same mutants every run.
    let mut rng = fastrand::Rng::with_seed(0x0BAD_1A6E_5EED_0001);
    let mut per_original: Vec<Vec<Mutant>> = Vec::new();
    for original in originals() {
        let bytes = &original.bytes;
        let mut list: Vec<(String, Vec<u8>)> = structural(&original);
        // Truncations: the first bytes, across the headers, spread over the file, the end.
        let len = bytes.len();
        let mut cuts: Vec<usize> = vec![0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 33, 48, 64];
        cuts.extend((1..10).map(|tenth| len * tenth / 10));
        cuts.extend([len - 16, len - 4, len - 2, len - 1]);
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts.into_iter().filter(|&c| c < len) {
            list.push((
                format!("truncated to {cut} of {len} bytes"),
                bytes[..cut].to_vec(),
            ));
        }
        // Single bit flips, half of them in the first 64 bytes, where the headers are.
        for n in 0..14 {
            let at = if n % 2 == 0 {
                rng.usize(..len.min(64))
            } else {
                rng.usize(..len)
            };
            let bit = rng.usize(..8);
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << bit;
            list.push((format!("bit {bit} of byte {at} flipped"), flipped));
        }
        // Several flips at once.
        for _ in 0..12 {
            let flips = 2 + rng.usize(..31);
            let mut flipped = bytes.clone();
            for _ in 0..flips {
                let at = rng.usize(..len);
                flipped[at] ^= 1 << rng.usize(..8);
            }
            list.push((format!("{flips} random bits flipped"), flipped));
        }
        per_original.push(
            list.into_iter()
                .map(|(what, bytes)| Mutant {
                    what: format!("{}: {what}", original.name),
                    content_type: original.content_type,
                    bytes,
                })
                .collect(),
        );
    }
    let mut all = Vec::new();
    let longest = per_original.iter().map(Vec::len).max().unwrap_or(0);
    let mut iters: Vec<_> = per_original.into_iter().map(Vec::into_iter).collect();
    for _ in 0..longest {
        for iter in &mut iters {
            all.extend(iter.next());
        }
    }
    all.truncate(MAX_MUTANTS);
    all
}

fn hash(n: usize) -> String {
    format!("{:040x}", 0x4057_11e0_0000usize + n)
}

/// Uploads `mutant`, failing the test with the mutant's name when no answer comes (the
/// server gone), and waiting out a tenant suspension (bounded) when one answers.
fn upload(server: &TestServer, n: usize, mutant: &Mutant, suspensions: &mut usize) -> Reply {
    for _ in 0..=MAX_SUSPENDED_RETRIES {
        let sent = catch_unwind(AssertUnwindSafe(|| {
            server.upload(&hash(n), &mutant.bytes, mutant.content_type)
        }));
        let reply = sent.unwrap_or_else(|_| {
            panic!(
                "no answer to mutant {n} ({}, {} bytes)\n{}",
                mutant.what,
                mutant.bytes.len(),
                server.stderr_tail()
            )
        });
        if reply.status != 503 || reply.error_code() != "tenant-suspended" {
            return reply;
        }
        *suspensions += 1;
        let wait: u64 = reply
            .header("retry-after")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        std::thread::sleep(Duration::from_secs(wait.min(30)));
    }
    panic!("mutant {n} ({}): the tenant stayed suspended", mutant.what)
}

/// Whether the process `pid` is alive (running or sleeping, not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
        status
            .lines()
            .find(|l| l.starts_with("State:"))
            .is_some_and(|l| !l.contains('Z') && !l.contains('X'))
    })
}

#[test]
fn mutated_images_get_4xx_or_plugin_5xx_and_the_host_survives() {
    // The transform plugin is the same on every backend; the embedded ones keep it quick.
    let server = TestServer::builder().embedded().start();
    let pid = server.pid();
    let mutants = mutants();
    let started = Instant::now();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    // The mutants that were still images, and those that cost a plugin failure.
    let mut notable: Vec<String> = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    let mut suspensions = 0;
    let mut sent = 0;
    for (n, mutant) in mutants.iter().enumerate() {
        if started.elapsed() > TIME_CAP {
            break;
        }
        let before = Instant::now();
        let reply = upload(&server, n, mutant, &mut suspensions);
        let took = before.elapsed();
        if took > slowest.0 {
            slowest = (took, mutant.what.clone());
        }
        sent += 1;
        let code = reply.error_code();
        let json_error = reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
            && code != "<no code>"
            && reply.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty());
        let label = match reply.status {
            200 | 201 => format!("{} (still an image)", reply.status),
            status => format!("{status} {code}"),
        };
        if reply.status < 300 || reply.status >= 500 {
            notable.push(format!("{label}: {}", mutant.what));
        }
        *tally.entry(label).or_default() += 1;
        let fine = match reply.status {
            200 | 201 => true,
            400..=499 => json_error,
            500..=599 => json_error && code.starts_with("plugin-"),
            _ => false,
        };
        if !fine {
            failures.push(format!(
                "mutant {n} ({}, {} bytes): {} {}",
                mutant.what,
                mutant.bytes.len(),
                reply.status,
                reply.text()
            ));
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{sent} of {} mutants sent in {:.1} s (cap {MAX_MUTANTS} mutants, {TIME_CAP:?}); \
         slowest {:.0} ms ({}); {suspensions} answers of a suspended tenant waited out",
        mutants.len(),
        elapsed.as_secs_f64(),
        slowest.0.as_secs_f64() * 1000.0,
        slowest.1,
    );
    for (label, count) in &tally {
        println!("  {label}: {count}");
    }
    for line in &notable {
        println!("    {line}");
    }
    assert!(
        failures.is_empty(),
        "{} answers were neither 2xx, a 4xx JSON error nor a plugin-* 5xx:\n{}\n{}",
        failures.len(),
        failures.join("\n"),
        server.stderr_tail()
    );
    assert!(sent >= 50, "only {sent} mutants ran within {TIME_CAP:?}");

    // The host is alive, never panicked, and serves as before.
    assert!(alive(pid), "the server process is gone");
    let stderr = server.stderr();
    assert!(
        !stderr.contains("panicked"),
        "the host panicked:\n{}",
        server.stderr_tail()
    );
    assert_eq!(server.get("/healthz").status, 200);
    let good = hash(MAX_MUTANTS + 1);
    server.upload_png(&good, &images::png(300, 200));
    let read = server.get(&format!("/{good}/small"));
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.image().width(), 128);
}

/// A 35-byte GIF whose screen says `side` x `side`, with one 1x1 frame.
fn forged_gif(side: u16) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&side.to_le_bytes());
    gif.extend_from_slice(&side.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    gif.extend_from_slice(&[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, b';']);
    gif
}

#[test]
fn forged_headers_cannot_get_the_tenant_suspended() {
    // The defaults: 50 million pixels allowed, 256 MiB of plugin memory. A 7000x7000 GIF
    // (49 million pixels) does not fit that memory decoded: it is refused as the client's,
    // before decoding, and no run of them suspends the tenant for everyone else.
    let server = TestServer::start();
    for n in 0..8 {
        let reply = server.upload(&hash(9000 + n), &forged_gif(7000), "image/gif");
        reply.assert_error(422, "too-many-pixels");
    }
    // What fits is decoded and stored as ever.
    let reply = server.upload(&hash(9100), &forged_gif(3000), "image/gif");
    assert_eq!(reply.status, 201, "{}", reply.text());
    let png = avatar_tests::server::solid_png(64, [1, 2, 3]);
    server.upload_png(&hash(9101), &png);
}
