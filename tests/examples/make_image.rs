//! Writes a photo-like test image (noisy gradients, so encoders do real work):
//! `cargo run -p avatar-tests --example make_image -- OUT.jpg [SIDE]`. The format follows the
//! extension.

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: make_image OUT [SIDE]"))?;
    let side: u32 = args.next().map_or(Ok(1000), |s| s.parse())?;
    let image = avatar_tests::images::photo(side);
    image.save(&out)?;
    println!("{out}");
    Ok(())
}
