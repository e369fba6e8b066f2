//! Writes a photo-like test image (noisy gradients, so encoders do real work):
//! `cargo run -p avatar-tests --example make_image -- OUT.jpg [SIDE]`. The format follows the
//! extension.

use image::{Rgb, RgbImage};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: make_image OUT [SIDE]"))?;
    let side: u32 = args.next().map_or(Ok(1000), |s| s.parse())?;
    let mut seed: u32 = 0x9E37_79B9;
    let image = RgbImage::from_fn(side, side, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 24) as i32 - 12;
        let c = |v: u32| (v as i32 + noise).clamp(0, 255) as u8;
        Rgb([
            c(x * 255 / side),
            c(y * 255 / side),
            c(((x + y) * 128 / side) % 256),
        ])
    });
    image.save(&out)?;
    println!("{out}");
    Ok(())
}
