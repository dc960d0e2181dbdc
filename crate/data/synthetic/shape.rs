//! The objects' shapes: their geometry, random draws from a [`SceneConfig`], and rasterisation
//! into a pixel mask with its tight box.

use std::f32::consts::TAU;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::SceneConfig;

/// A shape in its own frame: pixel (px, py) maps to u = rot(-angle)(p - c).x / rx, same for v.
pub(super) struct Shape {
    class: usize,
    cx: f32,
    cy: f32,
    rx: f32,
    ry: f32,
    cos: f32,
    sin: f32,
    /// Ring: inner radius; cross: arm half-width; star: inner radius (all in frame units).
    param: f32,
}

impl Shape {
    fn contains(&self, px: f32, py: f32) -> bool {
        let (dx, dy) = (px - self.cx, py - self.cy);
        let u = (dx * self.cos + dy * self.sin) / self.rx;
        let v = (-dx * self.sin + dy * self.cos) / self.ry;
        let r2 = u * u + v * v;
        match self.class {
            0 => r2 <= 1.0,
            1 => u.abs() <= 1.0 && v.abs() <= 1.0,
            2 => v <= 1.0 && u.abs() <= (v + 1.0) / 2.0,
            3 => r2 <= 1.0 && r2 >= self.param * self.param,
            4 => {
                let t = self.param;
                (u.abs() <= 1.0 && v.abs() <= t) || (v.abs() <= 1.0 && u.abs() <= t)
            }
            _ => in_star(u, v, self.param),
        }
    }
}

/// 5-point star, outer radius 1 at angle 0, inner radius `inner` between points.
fn in_star(u: f32, v: f32, inner: f32) -> bool {
    let r = (u * u + v * v).sqrt();
    if r > 1.0 {
        return false;
    }
    // Fold the angle into [0, pi/5]: between an outer point (1, 0) and an inner point.
    let sector = TAU / 5.0;
    let mut a = v.atan2(u).rem_euclid(sector);
    if a > sector / 2.0 {
        a = sector - a;
    }
    let (qx, qy) = (r * a.cos(), r * a.sin());
    let (ix, iy) = (inner * (sector / 2.0).cos(), inner * (sector / 2.0).sin());
    // Inside iff q is on the origin's side of the edge (1, 0) -> (ix, iy).
    let side = |x: f32, y: f32| (ix - 1.0) * y - iy * (x - 1.0);
    side(qx, qy) * side(0.0, 0.0) >= 0.0
}

/// A placed object: its mask (row-major over `bbox`) and box in whole pixels.
pub(super) struct Object {
    pub(super) class: usize,
    /// (x1, y1, x2, y2), exclusive end.
    pub(super) bbox: [u32; 4],
    pub(super) mask: Vec<bool>,
}

impl Object {
    pub(super) fn area(&self) -> f32 {
        ((self.bbox[2] - self.bbox[0]) * (self.bbox[3] - self.bbox[1])) as f32
    }

    pub(super) fn pixels(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let [x1, y1, x2, _] = self.bbox;
        let w = (x2 - x1) as usize;
        self.mask.iter().enumerate().filter(|(_, m)| **m).map(move |(i, _)| (x1 + (i % w) as u32, y1 + (i / w) as u32))
    }
}

/// Rasterises `shape` (pixel centres) and crops the mask to its tight box; None if empty.
pub(super) fn rasterise(shape: &Shape, cfg: &SceneConfig) -> Option<Object> {
    let reach = shape.rx.hypot(shape.ry);
    let x0 = (shape.cx - reach).floor().max(0.0) as u32;
    let y0 = (shape.cy - reach).floor().max(0.0) as u32;
    let x1 = ((shape.cx + reach).ceil() as u32).min(cfg.width);
    let y1 = ((shape.cy + reach).ceil() as u32).min(cfg.height);
    let mut hits = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            if shape.contains(x as f32 + 0.5, y as f32 + 0.5) {
                hits.push((x, y));
            }
        }
    }
    let bx1 = hits.iter().map(|p| p.0).min()?;
    let by1 = hits.iter().map(|p| p.1).min()?;
    let bx2 = hits.iter().map(|p| p.0).max()? + 1;
    let by2 = hits.iter().map(|p| p.1).max()? + 1;
    let w = (bx2 - bx1) as usize;
    let mut mask = vec![false; w * (by2 - by1) as usize];
    for (x, y) in hits {
        mask[(y - by1) as usize * w + (x - bx1) as usize] = true;
    }
    Some(Object { class: shape.class, bbox: [bx1, by1, bx2, by2], mask })
}

pub(super) fn random_shape(cfg: &SceneConfig, rng: &mut ChaCha8Rng) -> Shape {
    let class = rng.random_range(0..cfg.classes as u32) as usize;
    let size = rng.random_range(cfg.min_size..=cfg.max_size) as f32;
    let aspect = rng.random_range(1.0..=cfg.max_aspect);
    let (w, h) = if rng.random_bool(0.5) { (size, size / aspect) } else { (size / aspect, size) };
    let (rx, ry) = (w / 2.0, h / 2.0);
    let reach = rx.hypot(ry);
    let angle = rng.random_range(0.0..TAU);
    let param = match class {
        3 => rng.random_range(0.45..0.7),
        4 => rng.random_range(0.22..0.38),
        5 => rng.random_range(0.38..0.55),
        _ => 0.0,
    };
    Shape {
        class,
        cx: rng.random_range(reach..=(cfg.width as f32 - reach).max(reach)),
        cy: rng.random_range(reach..=(cfg.height as f32 - reach).max(reach)),
        rx,
        ry,
        cos: angle.cos(),
        sin: angle.sin(),
        param,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn rasterised_box_equals_brute_force_bounds() {
        // Scan the whole image with `contains` (no reach window, no cropping) and compare the
        // pixel bounds and pixel set with `rasterise`.
        let cfg = SceneConfig { width: 96, height: 96, min_size: 4, max_size: 60, max_aspect: 3.0, ..SceneConfig::default() };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let shape = random_shape(&cfg, &mut rng);
            let inside: Vec<(u32, u32)> =
                (0..cfg.height).flat_map(|y| (0..cfg.width).map(move |x| (x, y))).filter(|&(x, y)| shape.contains(x as f32 + 0.5, y as f32 + 0.5)).collect();
            let Some(obj) = rasterise(&shape, &cfg) else {
                assert!(inside.is_empty());
                continue;
            };
            let want = [
                inside.iter().map(|p| p.0).min().unwrap(),
                inside.iter().map(|p| p.1).min().unwrap(),
                inside.iter().map(|p| p.0).max().unwrap() + 1,
                inside.iter().map(|p| p.1).max().unwrap() + 1,
            ];
            assert_eq!(obj.bbox, want, "class {}", shape.class);
            assert_eq!(obj.pixels().collect::<Vec<_>>(), inside);
        }
    }
}
