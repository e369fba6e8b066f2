//! Drawing a [`Wavatar`]: the background's waves, then the face and its features, back to
//! front, in design units on a square of [`UNITS`](guest_kit::draw::UNITS). Every curve is a
//! smooth spline through points the hash moved, so nothing has a straight edge or a corner.

use guest_kit::Rgba;
use guest_kit::draw::{
    Canvas, PathBuilder, circle, ellipse, faded, polar, polygon, smooth_closed, smooth_open, spline,
};

use super::{Brows, Eyes, Hair, Mouth, Wavatar};

/// The face's centre, in design units.
pub(super) const CENTRE: (f32, f32) = (50.0, 53.0);
const WHITE: Rgba = [0xff, 0xff, 0xff, 0xff];
/// The width of brows and of mouths drawn as lines, in design units.
const LINE: f32 = 3.0;

/// The sine of `degrees`, through [`polar`] so that it is libm's on every target.
fn sine(degrees: f32) -> f32 {
    polar(0.0, 0.0, 1.0, degrees).1
}

impl Wavatar {
    /// The soft waves behind the face, rising from the bottom.
    pub(super) fn draw_background(&self, canvas: &mut Canvas) {
        for (i, (height, phase)) in self.swell.iter().enumerate() {
            let base = 58.0 + 20.0 * i as f32 + 8.0 * height;
            let crest: Vec<(f32, f32)> = (0..=12)
                .map(|k| {
                    let x = -10.0 + 10.0 * k as f32;
                    (x, base + 4.5 * sine(x * 5.4 + phase))
                })
                .collect();
            let mut path = PathBuilder::new();
            spline(&mut path, &crest);
            path.line_to(110.0, 110.0);
            path.line_to(-10.0, 110.0);
            path.close();
            canvas.fill(path.finish(), self.palette.background[i + 1]);
        }
    }

    /// Draws the face, back to front.
    pub(super) fn draw(&self, canvas: &mut Canvas) {
        let p = self.palette;
        canvas.fill(self.face_shape(2.0, 2.5, 0.0), p.shadow);
        canvas.fill(self.face_shape(0.0, 0.0, 0.0), p.face);
        let (cx, cy) = CENTRE;
        let (r, _) = self.shape;
        let shine = ellipse(cx - r * 0.38, cy - r * 0.5, r * 0.28, r * 0.16);
        canvas.fill(shine, faded(WHITE, 0.28));
        if self.cheeks {
            for side in [-1.0, 1.0] {
                let cheek = ellipse(cx + side * r * 0.58, cy + r * 0.24, 6.5, 4.2);
                canvas.fill(cheek, faded(p.blush, 0.5));
            }
        }
        self.draw_hair(canvas);
        self.draw_eyes(canvas);
        self.draw_brows(canvas);
        self.draw_mouth(canvas);
    }

    /// The point of the face's wavy outline at `degrees`, `grow` design units further out.
    fn outline_at(&self, degrees: f32, grow: f32) -> (f32, f32) {
        let (cx, cy) = CENTRE;
        let (r, tall) = self.shape;
        let ripple: f32 = self
            .waves
            .iter()
            .map(|(count, depth, phase)| depth * sine(count * degrees + phase))
            .sum();
        let (x, y) = polar(0.0, 0.0, r * (1.0 + ripple) + grow, degrees);
        (cx + x, cy + y * tall)
    }

    fn face_shape(&self, dx: f32, dy: f32, grow: f32) -> Option<guest_kit::draw::Path> {
        let points: Vec<(f32, f32)> = (0..36)
            .map(|k| {
                let (x, y) = self.outline_at(k as f32 * 10.0, grow);
                (x + dx, y + dy)
            })
            .collect();
        smooth_closed(&points)
    }

    fn draw_hair(&self, canvas: &mut Canvas) {
        let (cx, _) = CENTRE;
        let color = self.palette.hair;
        match self.hair {
            Hair::Bald => {}
            Hair::Fringe => {
                // Over the top of the head, then back along a scalloped lower edge.
                let mut points: Vec<(f32, f32)> = (0..=10)
                    .map(|k| self.outline_at(195.0 + 15.0 * k as f32, 1.5))
                    .collect();
                let (r, _) = self.shape;
                points.extend((0..=10).rev().map(|k| {
                    let degrees = 195.0 + 15.0 * k as f32;
                    let dip = if k % 2 == 0 { 0.3 } else { 0.16 };
                    self.outline_at(degrees, -r * dip)
                }));
                canvas.fill(smooth_closed(&points), color);
            }
            Hair::Curl => {
                let (_, top) = self.outline_at(270.0, 0.0);
                let curl = smooth_open(&[
                    (cx - 1.0, top + 5.0),
                    (cx, top - 3.0),
                    (cx + 5.0, top - 8.0),
                    (cx + 10.0, top - 5.0),
                    (cx + 8.0, top - 0.5),
                    (cx + 4.5, top - 2.5),
                ]);
                canvas.stroke(curl, color, 3.6);
            }
        }
    }

    fn draw_eyes(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let (cx, cy) = CENTRE;
        let (r, _) = self.shape;
        let y = cy - r * 0.12;
        let spread = r * self.features.0;
        let (gx, gy) = self.gaze;
        let dot = |canvas: &mut Canvas, x: f32| {
            canvas.fill(ellipse(x + gx, y + gy, 3.2, 4.2), p.ink);
            canvas.fill(circle(x + gx - 1.0, y + gy - 1.6, 1.1), WHITE);
        };
        let closed = |canvas: &mut Canvas, x: f32| {
            let mut arc = PathBuilder::new();
            arc.move_to(x - 5.0, y + 1.5);
            arc.quad_to(x, y - 5.5, x + 5.0, y + 1.5);
            canvas.stroke(arc.finish(), p.ink, 2.8);
        };
        for side in [-1.0, 1.0] {
            let x = cx + side * spread;
            match self.eyes {
                Eyes::Round => {
                    canvas.fill(ellipse(x, y, 6.5, 7.5), WHITE);
                    canvas.fill(circle(x + gx * 2.2, y + gy * 2.2, 3.3), p.ink);
                }
                Eyes::Dots => dot(canvas, x),
                Eyes::Closed => closed(canvas, x),
                Eyes::Big => {
                    canvas.fill(ellipse(x, y, 8.0, 9.0), WHITE);
                    let (ix, iy) = (x + gx * 2.0, y + gy * 2.0);
                    canvas.fill(circle(ix, iy, 5.2), p.feature);
                    canvas.fill(circle(ix, iy, 2.6), p.ink);
                    canvas.fill(circle(ix - 1.8, iy - 2.0, 1.5), WHITE);
                }
                Eyes::Wink if side < 0.0 => dot(canvas, x),
                Eyes::Wink => closed(canvas, x),
                Eyes::Lidded => {
                    canvas.fill(ellipse(x, y, 7.0, 6.5), WHITE);
                    canvas.fill(circle(x + gx * 2.0, y + 1.5, 3.2), p.ink);
                    // The lid: face colour over the eye's top, ending in a gentle wave.
                    let edge = [(x + 8.5, y - 0.5), (x + 3.0, y + 0.8), (x - 3.0, y - 0.2)];
                    let mut lid = vec![(x - 8.5, y - 10.0), (x + 8.5, y - 10.0)];
                    lid.extend(edge);
                    lid.push((x - 8.5, y + 0.3));
                    canvas.fill(polygon(&lid), p.face);
                    let mut lash: Vec<(f32, f32)> = edge.to_vec();
                    lash.push((x - 7.5, y + 0.3));
                    canvas.stroke(smooth_open(&lash), p.ink, 1.8);
                }
            }
        }
    }

    fn draw_brows(&self, canvas: &mut Canvas) {
        let (cx, cy) = CENTRE;
        let (r, _) = self.shape;
        let y = cy - r * 0.12 - 11.0;
        let spread = r * self.features.0;
        for side in [-1.0, 1.0] {
            let (inner, outer) = (cx + side * spread * 0.45, cx + side * spread * 1.45);
            let third = |k: f32| outer + (inner - outer) * k / 3.0;
            let points: Vec<(f32, f32)> = match self.brows {
                Brows::Arched => vec![(outer, y + 2.0), (third(1.5), y - 3.0), (inner, y + 1.0)],
                Brows::Flat => vec![(outer, y), (inner, y)],
                Brows::Cross => vec![(outer, y - 3.0), (inner, y + 2.5)],
                Brows::Worried => vec![(outer, y + 2.0), (inner, y - 3.0)],
                Brows::Wavy => vec![
                    (outer, y),
                    (third(1.0), y - 2.0),
                    (third(2.0), y + 1.5),
                    (inner, y - 1.0),
                ],
            };
            canvas.stroke(smooth_open(&points), self.palette.hair, LINE * 1.1);
        }
    }

    fn draw_mouth(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let (cx, cy) = CENTRE;
        let (r, _) = self.shape;
        let y = cy + r * 0.42;
        let half = r * self.features.1;
        match self.mouth {
            Mouth::Smile => {
                let smile =
                    smooth_open(&[(cx - half, y - 2.0), (cx, y + 4.0), (cx + half, y - 2.0)]);
                canvas.stroke(smile, p.ink, LINE);
            }
            Mouth::Wavy => {
                let points: Vec<(f32, f32)> = (0..=6)
                    .map(|k| {
                        let x = cx - half + half * k as f32 / 3.0;
                        (x, y + if k % 2 == 0 { 1.5 } else { -1.5 })
                    })
                    .collect();
                canvas.stroke(smooth_open(&points), p.ink, LINE * 0.9);
            }
            Mouth::Grin | Mouth::Beam => {
                let (top, depth) = if self.mouth == Mouth::Grin {
                    (y - 2.0, 11.0)
                } else {
                    (y + 1.5, 13.0)
                };
                let mut mouth = PathBuilder::new();
                mouth.move_to(cx - half, y - 3.0);
                mouth.quad_to(cx, top, cx + half, y - 3.0);
                mouth.quad_to(cx, y + depth, cx - half, y - 3.0);
                mouth.close();
                canvas.fill(mouth.finish(), p.ink);
                let tongue = ellipse(cx, y + depth * 0.36, half * 0.42, 2.6);
                canvas.fill(tongue, p.blush);
            }
            Mouth::Oh => canvas.fill(ellipse(cx, y + 1.0, 4.0, 5.0), p.ink),
            Mouth::Smirk => {
                let smirk = smooth_open(&[
                    (cx - half * 0.8, y + 1.0),
                    (cx + half * 0.2, y + 2.0),
                    (cx + half, y - 3.0),
                ]);
                canvas.stroke(smirk, p.ink, LINE);
            }
        }
    }
}
