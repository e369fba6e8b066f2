//! Drawing a [`Monster`]: each part's shapes, back to front, in design units on a square of
//! [`UNITS`](guest_kit::draw::UNITS). Every part is placed relative to the body's centre and
//! half sizes, so that ears sit on the head and feet under the body whatever their measures.

use guest_kit::Rgba;
use guest_kit::draw::{
    Canvas, Path, PathBuilder, circle, ellipse, polar, polygon, rounded_rect, smooth_closed,
    smooth_open,
};

use super::{Body, Eyes, Limbs, Marks, Monster, Mouth, Top};

/// The body's centre, in design units.
pub(super) const CENTRE: (f32, f32) = (50.0, 57.0);
/// The width of every outline, in design units.
const LINE: f32 = 2.4;
const WHITE: Rgba = [0xff, 0xff, 0xff, 0xff];
const PUPIL: Rgba = [0x1e, 0x1b, 0x26, 0xff];
const MOUTH: Rgba = [0x5a, 0x17, 0x26, 0xff];
const TONGUE: Rgba = [0xf2, 0x7d, 0x96, 0xff];

impl Monster {
    /// Draws the monster, back to front.
    pub fn draw(&self, canvas: &mut Canvas) {
        self.draw_top(canvas);
        self.draw_limbs(canvas);
        let p = self.palette;
        canvas.outlined(self.body_shape(), p.body, p.outline, LINE);
        self.draw_marks(canvas);
        self.draw_eyes(canvas);
        self.draw_mouth(canvas);
    }

    fn body_shape(&self) -> Option<Path> {
        let (cx, cy) = CENTRE;
        let (w, h) = self.half;
        match self.body {
            Body::Round => ellipse(cx, cy, w.max(h), h),
            Body::Egg => {
                let points: Vec<(f32, f32)> = (0..16)
                    .map(|k| {
                        let (x, y) = polar(0.0, 0.0, 1.0, k as f32 * 22.5);
                        (cx + w * x * (1.0 + 0.14 * y), cy + h * y)
                    })
                    .collect();
                smooth_closed(&points)
            }
            Body::Ghost => {
                let (left, right, top, bottom) = (cx - w, cx + w, cy - h, cy + h);
                let k = w * 0.552_284_8;
                let mut path = PathBuilder::new();
                path.move_to(left, bottom);
                path.line_to(left, top + w);
                path.cubic_to(left, top + w - k, cx - k, top, cx, top);
                path.cubic_to(cx + k, top, right, top + w - k, right, top + w);
                path.line_to(right, bottom);
                // Three scallops back to the left.
                let step = 2.0 * w / 3.0;
                for i in 0..3 {
                    let x = right - step * (i as f32 + 1.0);
                    path.quad_to(x + step / 2.0, bottom - 9.0, x, bottom);
                }
                path.close();
                path.finish()
            }
            Body::Block => rounded_rect(cx - w, cy - h, 2.0 * w, 2.0 * h, 13.0),
            Body::Blob => {
                // Mirrored lumps, so the blob is lopsided only within reason.
                let r = w.max(h) * 0.98;
                let lump = |k: usize| self.lumps[if k <= 4 { k } else { 8 - k }];
                let points: Vec<(f32, f32)> = (0..8)
                    .map(|k| {
                        let (x, y) = polar(0.0, 0.0, r * lump(k), -90.0 + k as f32 * 45.0);
                        (cx + x, cy + y * h / w.max(h))
                    })
                    .collect();
                smooth_closed(&points)
            }
        }
    }

    /// The top of the body at `dx` from the middle (a fraction of the half width).
    fn top_at(&self, dx: f32) -> f32 {
        let (_, cy) = CENTRE;
        let (_, h) = self.half;
        match self.body {
            Body::Block | Body::Ghost if dx.abs() < 0.6 => cy - h,
            _ => cy - h * (1.0 - dx * dx).max(0.0).sqrt(),
        }
    }

    fn draw_top(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let (cx, _) = CENTRE;
        let (w, _) = self.half;
        for side in [-1.0f32, 1.0] {
            let x = cx + side * w * 0.55;
            let base = self.top_at(0.55) + 4.0;
            match self.top {
                Top::Horns => {
                    // From the inner side of its base, out to the tip, back to the outer side.
                    let mut horn = PathBuilder::new();
                    horn.move_to(x - side * 5.0, base + 2.0);
                    horn.quad_to(x - side * 1.0, base - 10.0, x + side * 9.0, base - 19.0);
                    horn.quad_to(x + side * 5.0, base - 6.0, x + side * 5.0, base + 2.0);
                    horn.close();
                    canvas.outlined(horn.finish(), p.light, p.outline, LINE);
                }
                Top::CatEars => {
                    let tip = (x + side * 4.0, base - 19.0);
                    let ear = polygon(&[(x - 10.0, base + 4.0), tip, (x + 10.0, base + 4.0)]);
                    canvas.outlined(ear, p.body, p.outline, LINE);
                    let inner = polygon(&[
                        (x - 5.0, base + 2.0),
                        (tip.0, tip.1 + 8.0),
                        (x + 5.0, base + 2.0),
                    ]);
                    canvas.fill(inner, p.accent);
                }
                Top::BearEars => {
                    let (ex, ey) = (x + side * 3.0, base - 3.0);
                    canvas.outlined(circle(ex, ey, 8.5), p.body, p.outline, LINE);
                    canvas.fill(circle(ex, ey, 4.5), p.accent);
                }
                Top::Antennae => {
                    let stalk = smooth_open(&[
                        (cx + side * 5.0, base),
                        (cx + side * 9.0, base - 10.0),
                        (cx + side * 15.0, base - 17.0),
                    ]);
                    canvas.stroke(stalk, p.outline, LINE);
                    let knob = circle(cx + side * 15.0, base - 18.0, 4.2);
                    canvas.outlined(knob, p.accent, p.outline, LINE);
                }
                Top::Tuft | Top::Unicorn => {}
            }
        }
        let top = self.top_at(0.0);
        match self.top {
            Top::Tuft => {
                for (dx, lean) in [(-4.0, -7.0), (0.0, 1.0), (4.0, 7.0)] {
                    let hair = smooth_open(&[
                        (cx + dx, top + 4.0),
                        (cx + dx + lean * 0.3, top - 5.0),
                        (cx + dx + lean, top - 11.0),
                    ]);
                    canvas.stroke(hair.clone(), p.outline, 5.6);
                    canvas.stroke(hair, p.accent, 5.6 - 2.0 * LINE);
                }
            }
            Top::Unicorn => {
                let horn = polygon(&[
                    (cx - 5.5, top + 4.0),
                    (cx, top - 20.0),
                    (cx + 5.5, top + 4.0),
                ]);
                canvas.outlined(horn, p.accent, p.outline, LINE);
            }
            _ => {}
        }
    }

    fn draw_limbs(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let (cx, cy) = CENTRE;
        let (w, h) = self.half;
        let bottom = cy + h;
        // A thick outlined stroke: an arm, a leg or a tentacle.
        let limb = |canvas: &mut Canvas, points: &[(f32, f32)], width: f32| {
            let path = smooth_open(points);
            canvas.stroke(path.clone(), p.outline, width + 2.0 * LINE);
            canvas.stroke(path, p.body, width);
        };
        for side in [-1.0f32, 1.0] {
            let shoulder = (cx + side * (w - 4.0), cy + 2.0);
            match self.limbs {
                Limbs::Stubby => {
                    let arm = ellipse(cx + side * (w + 1.0), cy + 6.0, 6.0, 9.0);
                    canvas.outlined(arm, p.shade, p.outline, LINE);
                }
                Limbs::Waving => {
                    let hand = (cx + side * (w + 11.0), cy - 14.0);
                    limb(
                        canvas,
                        &[shoulder, (hand.0 - side * 2.0, cy - 3.0), hand],
                        5.0,
                    );
                    canvas.outlined(circle(hand.0, hand.1, 4.5), p.shade, p.outline, LINE);
                }
                Limbs::Legs => {
                    let hip = cx + side * w * 0.4;
                    limb(
                        canvas,
                        &[(hip, bottom - 6.0), (hip + side, bottom + 7.0)],
                        4.0,
                    );
                    let foot = ellipse(hip + side * 4.0, bottom + 8.5, 7.5, 4.0);
                    canvas.outlined(foot, p.shade, p.outline, LINE);
                }
                Limbs::Feet | Limbs::Tentacles => {}
            }
            if matches!(self.limbs, Limbs::Feet | Limbs::Stubby | Limbs::Waving) {
                let foot = ellipse(cx + side * w * 0.45, bottom - 1.0, 9.0, 6.0);
                canvas.outlined(foot, p.shade, p.outline, LINE);
            }
        }
        if self.limbs == Limbs::Tentacles {
            // Fanning out from the middle, each curling away from it.
            for dx in [-0.6f32, -0.2, 0.2, 0.6] {
                let (x, out) = (cx + dx * w, dx.signum());
                limb(
                    canvas,
                    &[
                        (x, bottom - 8.0),
                        (x + out * (1.0 + 3.0 * dx.abs()), bottom + 2.0),
                        (x + out * (4.0 + 6.0 * dx.abs()), bottom + 7.0),
                    ],
                    5.0,
                );
            }
        }
    }

    fn draw_marks(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let (cx, cy) = CENTRE;
        let (w, h) = self.half;
        match self.marks {
            Marks::Plain => {}
            Marks::Spots => {
                for (dx, dy, r) in [(-0.6, 0.35, 4.0), (0.62, 0.05, 3.0), (0.35, 0.62, 2.5)] {
                    canvas.fill(circle(cx + dx * w, cy + dy * h, r), p.shade);
                }
            }
            Marks::Belly => {
                canvas.fill(ellipse(cx, cy + h * 0.5, w * 0.55, h * 0.38), p.light);
            }
        }
    }

    fn draw_eyes(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let (cx, cy) = CENTRE;
        let (w, h) = self.half;
        let y = cy - h * 0.3;
        let spread = w * 0.4;
        let (gx, gy) = self.gaze;
        // A white eye of radius `r` with a pupil looking along the gaze (`turn` mirrors it).
        let eye = |canvas: &mut Canvas, x: f32, y: f32, r: f32, turn: f32| {
            canvas.outlined(circle(x, y, r), WHITE, p.outline, LINE);
            let (px, py) = (x + turn * gx * r * 0.35, y + gy * r * 0.3);
            canvas.fill(circle(px, py, r * 0.5), PUPIL);
            canvas.fill(circle(px - r * 0.18, py - r * 0.2, r * 0.17), WHITE);
        };
        match self.eyes {
            Eyes::Pair => {
                for side in [-1.0, 1.0] {
                    eye(canvas, cx + side * spread, y, 7.0, 1.0);
                }
            }
            Eyes::Cyclops => {
                let r = 11.0;
                canvas.outlined(circle(cx, y, r), WHITE, p.outline, LINE);
                let (px, py) = (cx + gx * r * 0.3, y + gy * r * 0.25);
                canvas.fill(circle(px, py, r * 0.62), p.accent);
                canvas.fill(circle(px, py, r * 0.32), PUPIL);
                canvas.fill(circle(px - r * 0.2, py - r * 0.22, r * 0.14), WHITE);
            }
            Eyes::Three => {
                for (dx, dy) in [(-1.1, 2.0), (1.1, 2.0), (0.0, -6.0)] {
                    eye(canvas, cx + dx * spread, y + dy, 5.2, 1.0);
                }
            }
            Eyes::Sleepy => {
                for side in [-1.0, 1.0] {
                    let (x, r) = (cx + side * spread, 7.0);
                    eye(canvas, x, y, r, 1.0);
                    // The lid: the eye's upper half in the body's colour, outlined.
                    let k = r * 0.552_284_8;
                    let mut lid = PathBuilder::new();
                    lid.move_to(x - r, y + 0.5);
                    lid.cubic_to(x - r, y - k, x - k, y - r, x, y - r);
                    lid.cubic_to(x + k, y - r, x + r, y - k, x + r, y + 0.5);
                    lid.close();
                    canvas.outlined(lid.finish(), p.shade, p.outline, LINE);
                }
            }
            Eyes::Googly => {
                eye(canvas, cx - spread * 1.05, y - 1.0, 8.5, 1.0);
                eye(canvas, cx + spread * 1.05, y + 1.5, 5.5, -1.0);
            }
            Eyes::Happy => {
                for side in [-1.0, 1.0] {
                    let x = cx + side * spread;
                    let mut arc = PathBuilder::new();
                    arc.move_to(x - 5.5, y + 2.0);
                    arc.quad_to(x, y - 7.0, x + 5.5, y + 2.0);
                    canvas.stroke(arc.finish(), p.outline, 2.8);
                }
            }
        }
    }

    fn draw_mouth(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let (cx, cy) = CENTRE;
        let (w, h) = self.half;
        let y = cy + h * 0.3;
        let half = w * 0.5;
        // An open mouth: a straight top and a round bottom.
        let open = |depth: f32| {
            let mut path = PathBuilder::new();
            path.move_to(cx - half, y - 3.0);
            path.line_to(cx + half, y - 3.0);
            path.cubic_to(
                cx + half,
                y + depth,
                cx - half,
                y + depth,
                cx - half,
                y - 3.0,
            );
            path.close();
            path.finish()
        };
        let smile = || {
            let mut path = PathBuilder::new();
            path.move_to(cx - half, y - 2.0);
            path.quad_to(cx, y + half * 0.7, cx + half, y - 2.0);
            path.finish()
        };
        match self.mouth {
            Mouth::Smile => canvas.stroke(smile(), p.outline, 2.8),
            Mouth::Fangs | Mouth::Tooth => {
                canvas.outlined(open(half * 0.9), MOUTH, p.outline, LINE);
                let fangs: &[f32] = if self.mouth == Mouth::Fangs {
                    &[-0.5, 0.5]
                } else {
                    &[-0.2]
                };
                for dx in fangs {
                    let x = cx + dx * half;
                    let fang = if self.mouth == Mouth::Fangs {
                        polygon(&[(x - 3.2, y - 3.0), (x, y + 3.5), (x + 3.2, y - 3.0)])
                    } else {
                        rounded_rect(x - 3.0, y - 3.0, 6.0, 5.5, 1.0)
                    };
                    canvas.outlined(fang, WHITE, p.outline, LINE * 0.6);
                }
            }
            Mouth::Oh => canvas.outlined(ellipse(cx, y + 1.0, 4.0, 5.0), MOUTH, p.outline, LINE),
            Mouth::Teeth => {
                let (top, bottom) = (y - 5.0, y + 5.0);
                canvas.outlined(
                    rounded_rect(cx - half, top, 2.0 * half, bottom - top, 4.5),
                    MOUTH,
                    p.outline,
                    LINE,
                );
                let n = 5;
                let step = 2.0 * half / n as f32;
                let mut upper = vec![(cx - half + 1.0, top + 0.5)];
                for i in 0..n {
                    let x = cx - half + step * i as f32;
                    upper.push((x + step / 2.0, top + 4.0));
                    upper.push((x + step, top + 0.5));
                }
                canvas.fill(polygon(&upper), WHITE);
            }
            Mouth::Tongue => {
                // A U hanging from the smile: its top is where the smile's curve passes
                // (the quadratic at t = 0.65, where x = cx + 0.3 * half).
                let (x, t) = (cx + half * 0.3, 0.65);
                let top = y - 2.0 + 2.0 * t * (1.0 - t) * (half * 0.7 + 2.0);
                let mut tongue = PathBuilder::new();
                tongue.move_to(x - 4.0, top - 1.0);
                tongue.line_to(x - 4.0, top + 3.0);
                tongue.cubic_to(x - 4.0, top + 9.0, x + 4.0, top + 9.0, x + 4.0, top + 3.0);
                tongue.line_to(x + 4.0, top - 1.0);
                tongue.close();
                canvas.outlined(tongue.finish(), TONGUE, p.outline, LINE);
                canvas.stroke(smile(), p.outline, 2.8);
            }
        }
    }
}
