//! Turning a square grid of coloured cells into `rgba8` pixels of any side, in integers only:
//! solid blocks from one pixel per cell up, area-weighted averages below.

use guest_kit::Rgba;

/// The pixels of a `grid` x `grid` picture of `colors` (row by row) at `size` x `size`.
pub fn render(colors: &[Rgba], grid: usize, size: u32) -> Vec<u8> {
    if size as usize >= grid {
        blocks(colors, grid, size)
    } else {
        averaged(colors, grid, size as usize)
    }
}

/// The `grid + 1` edges of the cells across `size` pixels: rounded fractions of it, placed
/// symmetrically about the middle so that mirrored cells are equally wide. With an even grid on
/// an odd side, the middle pixel falls in one of the two middle cells, which mirror each other,
/// so the picture stays symmetric.
pub fn cell_edges(size: u32, grid: usize) -> Vec<u32> {
    let (size, grid) = (u64::from(size), grid as u64);
    let left = |i: u64| (2 * i * size + grid) / (2 * grid);
    (0..=grid)
        // At most `size`, which is a u32.
        .map(|i| if i <= grid / 2 { left(i) } else { size - left(grid - i) } as u32)
        .collect()
}

/// Each cell a solid block, at least one pixel wide.
fn blocks(colors: &[Rgba], grid: usize, size: u32) -> Vec<u8> {
    let edges = cell_edges(size, grid);
    let side = size as usize;
    // The cell of each pixel column; each pixel row copies the drawn row of its cell row.
    let mut cols = Vec::with_capacity(side);
    for (cell, edge) in edges.windows(2).enumerate() {
        cols.extend(std::iter::repeat_n(cell, (edge[1] - edge[0]) as usize));
    }
    let mut data = Vec::with_capacity(side * side * 4);
    for (row, edge) in edges.windows(2).enumerate() {
        let line: Vec<u8> = cols
            .iter()
            .flat_map(|col| colors[row * grid + col])
            .collect();
        for _ in edge[0]..edge[1] {
            data.extend_from_slice(&line);
        }
    }
    data
}

/// Each pixel the average of the cells it covers, weighted by area and alpha. Pixel `p`
/// covers `[p * grid, (p + 1) * grid)` and cell `c` covers `[c * size, (c + 1) * size)`, in
/// units of 1 / (grid * size) of the side, so every overlap is a whole number.
fn averaged(colors: &[Rgba], grid: usize, size: usize) -> Vec<u8> {
    // For each pixel along a side: the cells it overlaps and by how much.
    let spans: Vec<Vec<(usize, u64)>> = (0..size)
        .map(|p| {
            let (from, to) = (p * grid, (p + 1) * grid);
            (from / size..to.div_ceil(size))
                .map(|c| {
                    let overlap = to.min((c + 1) * size) - from.max(c * size);
                    (c, overlap as u64)
                })
                .collect()
        })
        .collect();
    let mut data = Vec::with_capacity(size * size * 4);
    for rows in &spans {
        for cols in &spans {
            // Sums of alpha-weighted channels, then of alpha; the overlaps' products sum to
            // grid^2 (a pixel is `grid` units wide and high).
            let (mut rgb, mut alpha) = ([0u64; 3], 0u64);
            for &(row, h) in rows {
                for &(col, w) in cols {
                    let [r, g, b, a] = colors[row * grid + col];
                    let weight = h * w * u64::from(a);
                    for (sum, channel) in rgb.iter_mut().zip([r, g, b]) {
                        *sum += weight * u64::from(channel);
                    }
                    alpha += weight;
                }
            }
            let area = (grid * grid) as u64;
            let pixel = match alpha {
                0 => [0; 4],
                _ => {
                    let channel = |sum: u64| ((sum + alpha / 2) / alpha) as u8;
                    let a = ((alpha + area / 2) / area) as u8;
                    [channel(rgb[0]), channel(rgb[1]), channel(rgb[2]), a]
                }
            };
            data.extend_from_slice(&pixel);
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_ordered_symmetric_and_even() {
        for grid in [2, 5, 16] {
            for size in grid as u32..=600 {
                let edges = cell_edges(size, grid);
                assert_eq!((edges[0], edges[grid]), (0, size));
                for (i, (a, b)) in edges.iter().zip(edges.iter().rev()).enumerate() {
                    if 2 * i == grid && size % 2 == 1 {
                        continue;
                    }
                    assert_eq!(*a, size - b, "{size} {grid}: {edges:?}");
                }
                let widths: Vec<u32> = edges.windows(2).map(|w| w[1] - w[0]).collect();
                let (min, max) = (widths.iter().min(), widths.iter().max());
                assert!(
                    min.is_some_and(|min| *min >= 1),
                    "{size} {grid}: {widths:?}"
                );
                assert!(
                    max.zip(min).is_some_and(|(max, min)| max - min <= 1),
                    "{size} {grid}: {widths:?}"
                );
            }
        }
        assert_eq!(cell_edges(20, 4), [0, 5, 10, 15, 20]);
    }

    #[test]
    fn blocks_repeat_cells() {
        let (r, g, b, w) = (
            [255, 0, 0, 255],
            [0, 255, 0, 255],
            [0, 0, 255, 255],
            [255; 4],
        );
        let data = render(&[r, g, b, w], 2, 4);
        let expected = [[r, r, g, g], [r, r, g, g], [b, b, w, w], [b, b, w, w]].concat();
        assert_eq!(data, expected.concat());
        assert_eq!(render(&[r, g, b, w], 2, 2), [r, g, b, w].concat());
    }

    #[test]
    fn small_pictures_average_by_area_and_alpha() {
        let (black, white, clear) = ([0, 0, 0, 255], [255; 4], [0; 4]);
        // Four cells into one pixel: the plain average.
        assert_eq!(
            render(&[black, white, white, black], 2, 1),
            [128, 128, 128, 255]
        );
        // A transparent cell lowers the alpha, not the colour.
        assert_eq!(
            render(&[white, clear, clear, clear], 2, 1),
            [255, 255, 255, 64]
        );
        assert_eq!(render(&[clear; 4], 2, 1), [0; 4]);
        // Three cells into two pixels: the middle cell is split between them.
        let red = [255, 0, 0, 255];
        let cells = [[black, red, white]; 3].concat();
        let data = render(&cells, 3, 2);
        assert_eq!(&data[..8], &[85, 0, 0, 255, 255, 170, 170, 255]);
    }
}
