//! Painting the pixels: the background, the distractors, and the colour that sets an object off
//! from what it covers.

use std::f32::consts::{PI, TAU};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::SceneConfig;
use super::shape::Object;

fn random_colour(rng: &mut ChaCha8Rng) -> [f32; 3] {
    [0; 3].map(|_| rng.random_range(0.0..=255.0))
}

fn lerp(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|c| a[c] + (b[c] - a[c]) * t)
}

/// Background kinds: gradient, stripes, checkerboard, value noise.
pub(super) const BACKGROUNDS: usize = 4;

/// Fills `buf` (row-major RGB floats) with background `kind`.
pub(super) fn paint_background(buf: &mut [[f32; 3]], cfg: &SceneConfig, kind: usize, rng: &mut ChaCha8Rng) {
    let (w, h) = (cfg.width as usize, cfg.height as usize);
    let (c0, c1) = (random_colour(rng), random_colour(rng));
    let angle = rng.random_range(0.0..PI);
    let (ca, sa) = (angle.cos(), angle.sin());
    let period = rng.random_range(6.0..40.0);
    let phase = rng.random_range(0.0..period);
    let cell = rng.random_range(8..=48u32) as usize;
    let (ox, oy) = (rng.random_range(0..cell as u32) as usize, rng.random_range(0..cell as u32) as usize);
    // Value-noise lattice (kind 3): one random value per `lcell` pixels, +2 for the edge.
    let lcell = rng.random_range(16..=64u32) as usize;
    let (gw, gh) = (w / lcell + 2, h / lcell + 2);
    let lattice: Vec<f32> = (0..gw * gh).map(|_| rng.random::<f32>()).collect();
    let diag = (w as f32).hypot(h as f32);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            let t = match kind {
                0 => ((fx * ca + fy * sa) / diag).clamp(0.0, 1.0),
                1 => (((fx * ca + fy * sa + phase) / (period / 2.0)).floor() as i64).rem_euclid(2) as f32,
                2 => (((x + ox) / cell + (y + oy) / cell) % 2) as f32,
                _ => {
                    let (gx, gy) = (fx / lcell as f32, fy / lcell as f32);
                    let (ix, iy) = (gx as usize, gy as usize);
                    let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
                    let (tx, ty) = (smooth(gx.fract()), smooth(gy.fract()));
                    let at = |i: usize, j: usize| lattice[j * gw + i];
                    let top = at(ix, iy) + (at(ix + 1, iy) - at(ix, iy)) * tx;
                    let bot = at(ix, iy + 1) + (at(ix + 1, iy + 1) - at(ix, iy + 1)) * tx;
                    top + (bot - top) * ty
                }
            };
            buf[y * w + x] = lerp(c0, c1, t);
        }
    }
    let noise = rng.random_range(0.0..12.0);
    for p in buf.iter_mut() {
        for c in p.iter_mut() {
            *c += rng.random_range(-1.0..=1.0) * noise;
        }
    }
}

/// Paints 2..=8 distractors: 3-disc blobs and thick segments, random colours.
pub(super) fn paint_distractors(buf: &mut [[f32; 3]], cfg: &SceneConfig, rng: &mut ChaCha8Rng) {
    let (w, h) = (cfg.width as f32, cfg.height as f32);
    let max_r = (cfg.max_size as f32 / 4.0).max(3.0);
    for _ in 0..rng.random_range(2..=8u32) {
        let colour = random_colour(rng);
        let inside: Box<dyn Fn(f32, f32) -> bool> = if rng.random_bool(0.5) {
            let (bx, by) = (rng.random_range(0.0..w), rng.random_range(0.0..h));
            // Three discs pushed out from the centre at about 120 degree steps: a lumpy blob,
            // never a clean disc that could pass for an ellipse.
            let turn = rng.random_range(0.0..TAU);
            let discs: Vec<(f32, f32, f32)> = (0..3)
                .map(|k| {
                    let r = rng.random_range(3.0..=max_r);
                    let a = turn + k as f32 * TAU / 3.0 + rng.random_range(-0.4..=0.4);
                    let d = r * rng.random_range(0.6..=1.0);
                    (bx + d * a.cos(), by + d * a.sin(), r)
                })
                .collect();
            Box::new(move |x, y| discs.iter().any(|&(cx, cy, r)| (x - cx).hypot(y - cy) <= r))
        } else {
            let (ax, ay) = (rng.random_range(0.0..w), rng.random_range(0.0..h));
            let (bx, by) = (rng.random_range(0.0..w), rng.random_range(0.0..h));
            let half = rng.random_range(0.5..=2.0);
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = (dx * dx + dy * dy).max(1e-6);
            Box::new(move |x, y| {
                let t = (((x - ax) * dx + (y - ay) * dy) / len2).clamp(0.0, 1.0);
                (x - ax - t * dx).hypot(y - ay - t * dy) <= half
            })
        };
        for (i, p) in buf.iter_mut().enumerate() {
            let (x, y) = ((i % cfg.width as usize) as f32 + 0.5, (i / cfg.width as usize) as f32 + 0.5);
            if inside(x, y) {
                *p = colour;
            }
        }
    }
}

/// A colour far (RGB distance >= 80) from nearly all pixels the object covers: the first of
/// 24 random candidates with < 2 % close pixels, else the candidate with the fewest.
pub(super) fn contrasting_colour(buf: &[[f32; 3]], width: u32, obj: &Object, rng: &mut ChaCha8Rng) -> [u8; 3] {
    let under: Vec<[f32; 3]> = obj.pixels().map(|(x, y)| buf[(y * width + x) as usize]).collect();
    let step = under.len().div_ceil(512).max(1);
    let sample: Vec<&[f32; 3]> = under.iter().step_by(step).collect();
    let mut best = ([0u8; 3], usize::MAX);
    for _ in 0..24 {
        let c = [0; 3].map(|_| rng.random_range(0..=255u8));
        let close = sample
            .iter()
            .filter(|p| {
                let d2: f32 = (0..3).map(|i| (p[i] - c[i] as f32).powi(2)).sum();
                d2 < 80.0 * 80.0
            })
            .count();
        if close < best.1 {
            best = (c, close);
        }
        if close * 50 < sample.len() {
            break;
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn colour_picker_avoids_the_covered_colours() {
        // A 20x20 object over two-colour stripes (columns alternate a, b): the picked colour
        // must be >= 80 (RGB distance) from both. Balls of radius 80 around a and b cover
        // roughly 10-25 % of the RGB cube, so a random pick would fail some of the 60 cases.
        let (width, height) = (20u32, 20u32);
        let obj = Object { class: 0, bbox: [0, 0, width, height], mask: vec![true; 400] };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..60 {
            let (a, b) = (random_colour(&mut rng), random_colour(&mut rng));
            let buf: Vec<[f32; 3]> = (0..width * height).map(|i| if i % 2 == 0 { a } else { b }).collect();
            let c = contrasting_colour(&buf, width, &obj, &mut rng).map(f32::from);
            let dist = |p: [f32; 3]| (0..3).map(|k| (p[k] - c[k]).powi(2)).sum::<f32>().sqrt();
            assert!(dist(a) >= 80.0 && dist(b) >= 80.0, "{c:?} vs {a:?}, {b:?}");
        }
    }
}
