//! Drawing a [`Robot`]: each part's shapes, back to front, in design units on a square of
//! [`UNITS`](guest_kit::draw::UNITS). The head spans its top (chosen by the hash) to [`BOTTOM`] around the middle;
//! everything else is placed from it, so parts meet whatever the head's width.

use guest_kit::Rgba;
use guest_kit::draw::{
    Canvas, Path, PathBuilder, circle, ellipse, polygon, polyline, rounded_rect, smooth_open,
};

use super::{Antenna, Body, Ears, Eyes, Head, Mouth, Robot};

/// The middle of the picture, in design units.
const MIDDLE: f32 = 50.0;
/// The bottom of the head.
pub(super) const BOTTOM: f32 = 68.0;
/// The width of every outline, in design units.
const LINE: f32 = 2.2;
const WHITE: Rgba = [0xff, 0xff, 0xff, 0xff];

impl Robot {
    /// Draws the robot, back to front.
    pub(super) fn draw(&self, canvas: &mut Canvas) {
        self.draw_body(canvas);
        let p = self.palette;
        let neck = rounded_rect(MIDDLE - 7.0, BOTTOM - 4.0, 14.0, 16.0, 2.0);
        canvas.outlined(neck, p.dark, p.outline, LINE);
        for y in [BOTTOM + 3.5, BOTTOM + 7.5] {
            canvas.stroke(
                polyline(&[(MIDDLE - 7.0, y), (MIDDLE + 7.0, y)]),
                p.outline,
                1.4,
            );
        }
        self.draw_ears(canvas);
        self.draw_antenna(canvas);
        canvas.outlined(self.head_shape(), p.metal, p.outline, LINE);
        let w = self.half_width;
        if self.head == Head::Screen {
            let height = BOTTOM - self.top - 10.0;
            let screen = rounded_rect(
                MIDDLE - w + 5.0,
                self.top + 5.0,
                2.0 * w - 10.0,
                height,
                5.0,
            );
            canvas.outlined(screen, p.screen, p.outline, LINE * 0.8);
        } else {
            // A highlight along the top of the head.
            let shine = rounded_rect(MIDDLE - w + 5.0, self.top + 3.5, w * 0.7, 2.6, 1.3);
            canvas.fill(shine, p.light);
        }
        if self.rivets {
            for (dx, y) in [
                (-1.0, self.top + 5.0),
                (1.0, self.top + 5.0),
                (-1.0, BOTTOM - 5.0),
                (1.0, BOTTOM - 5.0),
            ] {
                let x = MIDDLE + dx * (w - 4.5);
                canvas.outlined(circle(x, y, 1.6), p.light, p.outline, 1.0);
            }
        }
        self.draw_eyes(canvas);
        self.draw_mouth(canvas);
    }

    fn head_shape(&self) -> Option<Path> {
        let w = self.half_width;
        let (left, right) = (MIDDLE - w, MIDDLE + w);
        match self.head {
            Head::Box | Head::Screen => {
                rounded_rect(left, self.top, 2.0 * w, BOTTOM - self.top, 7.0)
            }
            Head::Dome => {
                let shoulder = self.top + w * 0.75;
                let k = 0.552_284_8;
                let mut path = PathBuilder::new();
                path.move_to(left, BOTTOM - 4.0);
                path.line_to(left, shoulder);
                path.cubic_to(
                    left,
                    shoulder - (shoulder - self.top) * k,
                    MIDDLE - w * k,
                    self.top,
                    MIDDLE,
                    self.top,
                );
                path.cubic_to(
                    MIDDLE + w * k,
                    self.top,
                    right,
                    shoulder - (shoulder - self.top) * k,
                    right,
                    shoulder,
                );
                path.line_to(right, BOTTOM - 4.0);
                path.quad_to(right, BOTTOM, right - 4.0, BOTTOM);
                path.line_to(left + 4.0, BOTTOM);
                path.quad_to(left, BOTTOM, left, BOTTOM - 4.0);
                path.close();
                path.finish()
            }
            Head::Tapered => polygon(&[
                (MIDDLE - w * 0.72, self.top),
                (MIDDLE + w * 0.72, self.top),
                (right, BOTTOM),
                (left, BOTTOM),
            ]),
            Head::Octagon => {
                let cut = 8.0;
                polygon(&[
                    (left + cut, self.top),
                    (right - cut, self.top),
                    (right, self.top + cut),
                    (right, BOTTOM - cut),
                    (right - cut, BOTTOM),
                    (left + cut, BOTTOM),
                    (left, BOTTOM - cut),
                    (left, self.top + cut),
                ])
            }
            Head::Round => ellipse(
                MIDDLE,
                (self.top + BOTTOM) / 2.0,
                w + 1.0,
                (BOTTOM - self.top) / 2.0,
            ),
        }
    }

    fn draw_body(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let top = BOTTOM + 10.0;
        match self.body {
            Body::Boxy | Body::Armour => {
                canvas.outlined(
                    rounded_rect(18.0, top, 64.0, 40.0, 10.0),
                    p.chassis,
                    p.outline,
                    LINE,
                );
                if self.body == Body::Boxy {
                    let panel = rounded_rect(35.0, top + 6.0, 30.0, 12.0, 3.0);
                    canvas.outlined(panel, p.screen, p.outline, LINE * 0.8);
                    for x in [42.0, 50.0, 58.0] {
                        canvas.fill(circle(x, top + 12.0, 2.3), p.glow);
                    }
                } else {
                    let stripe = rounded_rect(18.0, top + 9.0, 64.0, 5.0, 0.0);
                    canvas.outlined(stripe, p.dark, p.outline, LINE * 0.8);
                    for x in [24.0, 32.0, 68.0, 76.0] {
                        canvas.outlined(circle(x, top + 4.5, 1.5), p.light, p.outline, 1.0);
                    }
                }
            }
            Body::Shoulders => {
                canvas.outlined(
                    rounded_rect(28.0, top, 44.0, 40.0, 8.0),
                    p.chassis,
                    p.outline,
                    LINE,
                );
                for x in [24.0, 76.0] {
                    canvas.outlined(circle(x, top + 9.0, 9.5), p.dark, p.outline, LINE);
                    canvas.fill(circle(x - 2.5, top + 6.5, 2.5), p.light);
                }
                let vent = |y: f32| polyline(&[(40.0, y), (60.0, y)]);
                for y in [top + 8.0, top + 12.0, top + 16.0] {
                    canvas.stroke(vent(y), p.outline, 1.6);
                }
            }
            Body::Wedge => {
                let wedge = polygon(&[(30.0, top), (70.0, top), (90.0, 106.0), (10.0, 106.0)]);
                canvas.outlined(wedge, p.chassis, p.outline, LINE);
                canvas.outlined(
                    circle(MIDDLE, top + 11.0, 5.5),
                    p.screen,
                    p.outline,
                    LINE * 0.8,
                );
                canvas.fill(circle(MIDDLE, top + 11.0, 3.0), p.glow);
            }
        }
    }

    fn draw_ears(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let w = self.half_width;
        let y = (self.top + BOTTOM) / 2.0;
        for side in [-1.0f32, 1.0] {
            let x = MIDDLE + side * w;
            match self.ears {
                Ears::Bare => {}
                Ears::Bolts => {
                    let bolt = rounded_rect(x - 2.5 + side * 2.5, y - 4.0, 5.0, 8.0, 1.0);
                    canvas.outlined(bolt, p.dark, p.outline, LINE);
                    canvas.outlined(circle(x + side * 6.5, y, 3.2), p.light, p.outline, LINE);
                }
                Ears::Muffs => {
                    let muff = rounded_rect(x - 4.5 + side * 3.5, y - 9.0, 9.0, 18.0, 4.0);
                    canvas.outlined(muff, p.dark, p.outline, LINE);
                }
                Ears::Cones => {
                    let cone = polygon(&[(x, y - 6.0), (x + side * 11.0, y), (x, y + 6.0)]);
                    canvas.outlined(cone, p.dark, p.outline, LINE);
                }
            }
        }
    }

    fn draw_antenna(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let rod = |canvas: &mut Canvas, points: &[(f32, f32)]| {
            let path = polyline(points);
            canvas.stroke(path.clone(), p.outline, 2.0 + 2.0 * LINE);
            canvas.stroke(path, p.dark, 2.0);
        };
        let knob = |canvas: &mut Canvas, x: f32, y: f32| {
            canvas.outlined(circle(x, y, 4.0), p.glow, p.outline, LINE);
            canvas.fill(circle(x - 1.3, y - 1.3, 1.2), WHITE);
        };
        let base = self.top + 2.0;
        match self.antenna {
            Antenna::Rod => {
                rod(canvas, &[(MIDDLE, base), (MIDDLE, self.top - 13.0)]);
                knob(canvas, MIDDLE, self.top - 15.0);
            }
            Antenna::Pair => {
                for side in [-1.0, 1.0] {
                    let tip = (MIDDLE + side * 13.0, self.top - 12.0);
                    rod(canvas, &[(MIDDLE + side * 5.0, base), tip]);
                    knob(canvas, tip.0, tip.1 - 1.0);
                }
            }
            Antenna::Bolt => {
                let zigzag = [
                    (MIDDLE, base),
                    (MIDDLE, self.top - 5.0),
                    (MIDDLE + 5.0, self.top - 9.0),
                    (MIDDLE - 3.0, self.top - 13.0),
                    (MIDDLE + 2.0, self.top - 19.0),
                ];
                let path = polyline(&zigzag);
                canvas.stroke(path.clone(), p.outline, 3.0 + 2.0 * LINE);
                canvas.stroke(path, p.glow, 3.0);
            }
            Antenna::Dish => {
                rod(canvas, &[(MIDDLE, base), (MIDDLE, self.top - 8.0)]);
                let mut dish = PathBuilder::new();
                dish.move_to(MIDDLE - 10.0, self.top - 16.0);
                dish.quad_to(MIDDLE, self.top - 2.0, MIDDLE + 10.0, self.top - 16.0);
                dish.close();
                canvas.outlined(dish.finish(), p.light, p.outline, LINE);
                knob(canvas, MIDDLE, self.top - 15.0);
            }
            Antenna::Bulb => {
                let socket = rounded_rect(MIDDLE - 5.0, self.top - 5.0, 10.0, 7.0, 1.5);
                canvas.outlined(socket, p.dark, p.outline, LINE);
                canvas.outlined(
                    ellipse(MIDDLE, self.top - 10.0, 6.5, 7.0),
                    p.glow,
                    p.outline,
                    LINE,
                );
                canvas.fill(ellipse(MIDDLE - 2.2, self.top - 12.0, 1.6, 2.4), WHITE);
            }
            Antenna::Spring => {
                let coil: Vec<(f32, f32)> = (0..=6)
                    .map(|k| {
                        let dx = match k {
                            0 => 0.0,
                            _ if k % 2 == 0 => -3.5,
                            _ => 3.5,
                        };
                        (MIDDLE + dx, base - 2.2 * k as f32)
                    })
                    .collect();
                let path = smooth_open(&coil);
                canvas.stroke(path.clone(), p.outline, 1.8 + 2.0 * LINE);
                canvas.stroke(path, p.light, 1.8);
                knob(canvas, MIDDLE - 3.5, base - 2.2 * 6.0 - 3.5);
            }
        }
    }

    fn draw_eyes(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let w = self.half_width;
        let y = self.top + 0.4 * (BOTTOM - self.top);
        let spread = w * self.spread;
        let screen = self.head == Head::Screen;
        let lens = |canvas: &mut Canvas, x: f32, r: f32| {
            if !screen {
                canvas.outlined(circle(x, y, r), p.light, p.outline, LINE);
            }
            canvas.fill(circle(x, y, r * 0.62), p.glow);
            canvas.fill(circle(x - r * 0.22, y - r * 0.22, r * 0.18), WHITE);
        };
        match self.eyes {
            Eyes::Lenses => {
                for side in [-1.0, 1.0] {
                    lens(canvas, MIDDLE + side * spread, 6.5);
                }
            }
            Eyes::Cyclops => lens(canvas, MIDDLE, 9.0),
            Eyes::Visor => {
                let visor = rounded_rect(MIDDLE - w + 6.0, y - 5.5, 2.0 * w - 12.0, 11.0, 5.5);
                canvas.outlined(visor, p.screen, p.outline, LINE);
                let bar = rounded_rect(MIDDLE - w + 10.0, y - 1.6, 2.0 * w - 20.0, 3.2, 1.6);
                canvas.fill(bar, p.glow);
            }
            Eyes::Square => {
                for side in [-1.0, 1.0] {
                    let x = MIDDLE + side * spread;
                    canvas.outlined(
                        rounded_rect(x - 5.0, y - 5.0, 10.0, 10.0, 1.5),
                        p.glow,
                        p.outline,
                        LINE,
                    );
                    canvas.fill(rounded_rect(x - 3.5, y - 3.5, 2.5, 2.5, 0.5), WHITE);
                }
            }
            Eyes::Goggles => {
                let bridge = polyline(&[(MIDDLE - spread, y), (MIDDLE + spread, y)]);
                canvas.stroke(bridge, p.outline, 4.0);
                for side in [-1.0, 1.0] {
                    let x = MIDDLE + side * spread;
                    canvas.outlined(circle(x, y, 7.5), p.dark, p.outline, LINE);
                    canvas.fill(circle(x, y, 5.0), p.glow);
                    canvas.fill(circle(x - 1.6, y - 1.6, 1.4), WHITE);
                }
            }
            Eyes::Slits => {
                for side in [-1.0, 1.0] {
                    let x = MIDDLE + side * spread;
                    let slit = rounded_rect(x - 6.0, y - 2.0, 12.0, 4.0, 2.0);
                    canvas.outlined(slit, p.glow, p.outline, LINE);
                }
            }
        }
    }

    fn draw_mouth(&self, canvas: &mut Canvas) {
        let p = self.palette;
        let y = BOTTOM - 11.5;
        let half = (self.half_width * 0.5).min(12.0);
        let screen = self.head == Head::Screen;
        let plate = |canvas: &mut Canvas, height: f32, color: Rgba| {
            let shape = rounded_rect(MIDDLE - half, y - height / 2.0, 2.0 * half, height, 2.0);
            canvas.outlined(shape, color, p.outline, LINE * 0.8);
        };
        match self.mouth {
            Mouth::Grille => {
                plate(canvas, 9.0, p.screen);
                for k in 1..6 {
                    let x = MIDDLE - half + 2.0 * half * k as f32 / 6.0;
                    canvas.stroke(polyline(&[(x, y - 3.0), (x, y + 3.0)]), p.dark, 1.6);
                }
            }
            Mouth::Teeth => {
                plate(canvas, 8.0, WHITE);
                canvas.stroke(
                    polyline(&[(MIDDLE - half, y), (MIDDLE + half, y)]),
                    p.outline,
                    1.0,
                );
                for k in 1..5 {
                    let x = MIDDLE - half + 2.0 * half * k as f32 / 5.0;
                    canvas.stroke(polyline(&[(x, y - 4.0), (x, y + 4.0)]), p.outline, 1.0);
                }
            }
            Mouth::Slot => plate(canvas, 3.5, p.screen),
            Mouth::Lights => {
                for k in 0..5 {
                    let t = k as f32 / 4.0 * 2.0 - 1.0;
                    let (x, dy) = (MIDDLE + t * half, 3.0 * (1.0 - t * t));
                    let light = rounded_rect(x - 2.0, y - 3.0 + dy, 4.0, 4.0, 0.8);
                    if screen {
                        canvas.fill(light, p.glow);
                    } else {
                        canvas.outlined(light, p.glow, p.outline, LINE * 0.6);
                    }
                }
            }
            Mouth::Wave => {
                if !screen {
                    plate(canvas, 10.0, p.screen);
                }
                let wave: Vec<(f32, f32)> = (0..=8)
                    .map(|k| {
                        let x = MIDDLE - half + 2.0 + (2.0 * half - 4.0) * k as f32 / 8.0;
                        (x, y + [0.0, -2.5, 0.0, 2.5][k % 4])
                    })
                    .collect();
                canvas.stroke(smooth_open(&wave), p.glow, 1.6);
            }
        }
    }
}
