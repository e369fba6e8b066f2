//! Uploads with a crop rectangle through the real server, without a browser: `crop=x,y,w,h`
//! as a query parameter or a form field, in source pixels after EXIF orientation, the stored
//! avatar made of the rectangle at every size; rectangles at every edge; malformed and
//! outside rectangles refused with `400 invalid-crop`, the previous avatar kept whole.

use avatar_tests::images;
use avatar_tests::server::{Multipart, Reply, TestServer};
use image::imageops::{self, FilterType};
use image::{DynamicImage, GenericImageView, ImageFormat, RgbImage};

const A: &str = "0123456789abcdef0123456789abcdef01234567";

/// Red, green, blue and white quadrants of 800 x 600.
const W: u32 = 800;
const H: u32 = 600;

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

fn put_cropped(server: &TestServer, body: &[u8], content_type: &str, crop: &str) -> Reply {
    let auth = format!("Bearer {}", server.token(A));
    server.request(
        "PUT",
        &format!("/{A}?crop={crop}"),
        &[("authorization", &auth), ("content-type", content_type)],
        Some(body),
    )
}

fn png(image: &RgbImage) -> Vec<u8> {
    images::encode(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Png)
}

/// Every pixel of `reply`'s image within `tolerance` of `colour`. The resampler reads a few
/// pixels past the rectangle's edge (as Pillow's `resize(box=…)` does), so a crop next to
/// another colour is a little tinted along that edge.
fn all_near(reply: &Reply, colour: [u8; 3], tolerance: u8, what: &str) {
    let image = reply.image().to_rgb8();
    let worst = image
        .pixels()
        .map(|p| {
            p.0.iter()
                .zip(colour)
                .map(|(a, b)| a.abs_diff(b))
                .max()
                .unwrap()
        })
        .max()
        .unwrap();
    assert!(
        worst <= tolerance,
        "{what}: a pixel is {worst} away from {colour:?}"
    );
}

#[test]
fn the_stored_avatar_is_the_crop_at_every_size() {
    let server = TestServer::start();
    let source = png(&images::quadrants(W, H));
    // The top-right quadrant, 400 x 300: its centred square is all green.
    let reply = put_cropped(&server, &source, "image/png", "400,0,400,300");
    assert_eq!(reply.status, 201, "{}", reply.text());
    // 300 px of source: the 256 preset is stored from it, the larger ones are not made.
    for size in ["small", "medium", "128", "80", "300"] {
        let served = server.get(&format!("/{A}/{size}"));
        assert_eq!(served.status, 200, "{size}");
        all_near(&served, GREEN, 24, size);
    }
    assert_eq!(
        server.get(&format!("/{A}/medium")).image().dimensions(),
        (256, 256)
    );
}

#[test]
fn a_crop_in_a_form_field_counts_like_one_in_the_query() {
    let server = TestServer::start();
    let source = png(&images::quadrants(W, H));
    let (content_type, body) = Multipart::new()
        .file("avatar", "me.png", "image/png", &source)
        .text("crop", "0,300,400,300")
        .finish();
    let auth = format!("Bearer {}", server.token(A));
    let reply = server.request(
        "PUT",
        &format!("/{A}"),
        &[("authorization", &auth), ("content-type", &content_type)],
        Some(&body),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    all_near(&server.get(&format!("/{A}/small")), BLUE, 24, "bottom-left");
}

#[test]
fn the_pixels_are_those_of_the_rectangle() {
    let server = TestServer::start();
    let photo = images::photo(W.max(H));
    let source = png(&photo);
    let (x, y, side) = (517, 131, 256);
    let reply = put_cropped(
        &server,
        &source,
        "image/png",
        &format!("{x},{y},{side},{side}"),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let served = server.get(&format!("/{A}/128")).image().to_rgb8();
    let region = imageops::crop_imm(&photo, x, y, side, side).to_image();
    let expected = imageops::resize(&region, 128, 128, FilterType::Lanczos3);
    let centre = imageops::crop_imm(&photo, 0, 0, W.max(H), W.max(H)).to_image();
    let uncropped = imageops::resize(&centre, 128, 128, FilterType::Lanczos3);
    let diff = |a: &RgbImage, b: &RgbImage| {
        let total: u64 = a
            .pixels()
            .zip(b.pixels())
            .flat_map(|(p, q)| p.0.iter().zip(q.0).map(|(x, y)| u64::from(x.abs_diff(y))))
            .sum();
        total as f64 / (128.0 * 128.0 * 3.0)
    };
    let near = diff(&served, &expected);
    let far = diff(&served, &uncropped);
    assert!(
        near < 3.0,
        "the served image is {near:.2} per channel from the crop"
    );
    assert!(
        far > 10.0,
        "the uncropped picture is as close ({far:.2}): the test proves nothing"
    );
}

#[test]
fn rectangles_at_every_edge_are_kept() {
    let server = TestServer::start();
    let source = png(&images::quadrants(W, H));
    let cases = [
        ("0,0,800,600", None),
        ("0,0,300,300", Some(RED)),
        ("500,0,300,300", Some(GREEN)),
        ("0,300,300,300", Some(BLUE)),
        ("500,300,300,300", Some(WHITE)),
        // One pixel in the bottom-right corner: the smallest size is always made.
        ("799,599,1,1", Some(WHITE)),
        ("0,0,1,500", Some(RED)),
    ];
    for (crop, colour) in cases {
        let reply = put_cropped(&server, &source, "image/png", crop);
        assert_eq!(reply.status, 201, "{crop}: {}", reply.text());
        let served = server.get(&format!("/{A}/small"));
        assert_eq!(served.image().dimensions(), (128, 128), "{crop}");
        if let Some(colour) = colour {
            all_near(&served, colour, 24, crop);
        }
    }
}

#[test]
fn an_exif_rotated_jpeg_is_cropped_as_it_is_shown() {
    let server = TestServer::start();
    // Shown upright as quadrants(600, 800); stored rotated a quarter turn to the left, with
    // orientation 6 ("rotate 90 clockwise to show").
    let shown = images::quadrants(600, 800);
    let stored = imageops::rotate270(&shown);
    let jpeg = images::encode(&DynamicImage::ImageRgb8(stored), ImageFormat::Jpeg);
    let rotated = images::with_exif_orientation(&jpeg, 6);
    for (crop, colour) in [
        ("300,0,300,300", GREEN),
        ("0,500,300,300", BLUE),
        ("300,500,300,300", WHITE),
    ] {
        let reply = put_cropped(&server, &rotated, "image/jpeg", crop);
        assert_eq!(reply.status, 201, "{crop}: {}", reply.text());
        all_near(&server.get(&format!("/{A}/small")), colour, 40, crop);
    }
    // 600 x 800 as shown: 700 fits the height, not the width.
    put_cropped(&server, &rotated, "image/jpeg", "0,0,700,10").assert_error(400, "invalid-crop");
    assert_eq!(
        put_cropped(&server, &rotated, "image/jpeg", "0,100,10,700").status,
        201
    );
}

#[test]
fn bad_rectangles_are_refused_and_the_avatar_is_kept() {
    let server = TestServer::start();
    let source = png(&images::quadrants(W, H));
    let kept = put_cropped(&server, &source, "image/png", "0,0,300,300");
    assert_eq!(kept.status, 201);
    let before = server.get(&format!("/{A}/small")).body;
    for crop in [
        // Outside the picture, by one pixel or by far.
        "501,0,300,300",
        "0,301,300,300",
        "800,0,1,1",
        "0,0,801,600",
        "4294967295,0,1,1",
        // Not a rectangle.
        "0,0,0,10",
        "0,0,10,0",
        "1,2,3",
        "1,2,3,4,5",
        "a,b,c,d",
        "-1,0,10,10",
        "4294967296,0,1,1",
        "1.5,0,10,10",
    ] {
        put_cropped(&server, &source, "image/png", crop).assert_error(400, "invalid-crop");
    }
    assert_eq!(server.get(&format!("/{A}/small")).body, before);
}
