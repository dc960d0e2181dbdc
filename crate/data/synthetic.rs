//! Generated scenes: solid shapes on textured, cluttered backgrounds, with exact boxes.
//!
//! A scene is a pure function of ([`SceneConfig`], seed) (ChaCha8). Bit-identical on one
//! platform; sin/cos/atan2 come from the platform's libm, so edge pixels may differ between
//! native and wasm32.
//!
//! Background (one kind per scene): linear gradient, stripes at a random angle and period,
//! checkerboard, or smooth value noise; then per-pixel noise and 2..=8 distractors (blobs made
//! of 3 overlapping discs, line segments 1-4 px thick) that are not objects. Objects: a random class
//! from the first `classes` of [`SCENE_CLASSES`], random size, aspect and rotation, drawn larger
//! first, each in a random solid colour picked to contrast with the pixels it covers. A
//! placement is rejected if its box has IoU > 0.3 with an earlier box or covers more than half
//! of the smaller box; after 100 rejected tries the scene keeps the objects it has (so a
//! crowded scene can have fewer than `min_objects`). The box is the tight pixel bounding box of
//! the shape's mask: (min x, min y, max x + 1, max y + 1). Objects never touch the border.

use std::f32::consts::{PI, SQRT_2, TAU};

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Annotated, DataError};

/// Class names; label i draws shape i.
pub const SCENE_CLASSES: [&str; 6] = ["ellipse", "rectangle", "triangle", "ring", "cross", "star"];

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneConfig {
    pub width: u32,
    pub height: u32,
    /// Objects per scene, drawn uniformly from `min_objects..=max_objects`.
    pub min_objects: u32,
    pub max_objects: u32,
    /// Longer side of the unrotated shape frame in pixels, from `min_size..=max_size`
    /// (min_size >= 4, max_size * sqrt(2) <= min(width, height) so any rotation fits).
    pub min_size: u32,
    pub max_size: u32,
    /// Longer / shorter frame side is drawn from `[1, max_aspect]` (>= 1).
    pub max_aspect: f32,
    /// Use the first `classes` entries of [`SCENE_CLASSES`] (1..=6).
    pub classes: usize,
}

impl Default for SceneConfig {
    fn default() -> Self {
        Self {
            width: 320,
            height: 240,
            min_objects: 1,
            max_objects: 6,
            min_size: 16,
            max_size: 96,
            max_aspect: 1.6,
            classes: SCENE_CLASSES.len(),
        }
    }
}

impl SceneConfig {
    /// Class names of the labels this config produces.
    pub fn class_names(&self) -> Vec<String> {
        SCENE_CLASSES[..self.classes.min(SCENE_CLASSES.len())]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn check(&self) -> Result<(), DataError> {
        let err = |msg: String| Err(DataError::SceneConfig(msg));
        if self.classes == 0 || self.classes > SCENE_CLASSES.len() {
            return err(format!(
                "classes = {}, want 1..={}",
                self.classes,
                SCENE_CLASSES.len()
            ));
        }
        if self.min_objects > self.max_objects {
            return err(format!(
                "min_objects {} > max_objects {}",
                self.min_objects, self.max_objects
            ));
        }
        if self.min_size < 4 || self.min_size > self.max_size {
            return err(format!(
                "sizes {}..={}, want 4 <= min <= max",
                self.min_size, self.max_size
            ));
        }
        if self.max_size as f32 * SQRT_2 > self.width.min(self.height) as f32 {
            return err(format!(
                "max_size {} * sqrt(2) does not fit in {}x{}",
                self.max_size, self.width, self.height
            ));
        }
        if !(self.max_aspect >= 1.0 && self.max_aspect.is_finite()) {
            return err(format!("max_aspect {} < 1", self.max_aspect));
        }
        Ok(())
    }
}

/// `n` random boxes `[x1, y1, x2, y2]` in a 800 x 800 picture, sides 8..200 px (for the sampler's
/// tests and benchmark: IoU work of a training image's size).
pub fn random_boxes(n: usize, seed: u64) -> Vec<crate::boxes::BBox> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let (x, y) = (rng.random_range(0.0..600.0), rng.random_range(0.0..600.0));
            let (w, h): (f32, f32) = (rng.random_range(8.0..200.0), rng.random_range(8.0..200.0));
            [x, y, x + w, y + h]
        })
        .collect()
}

/// Renders scene `seed`. The annotation's image name is `scene-{seed}`, boxes are exact.
pub fn generate_scene(cfg: &SceneConfig, seed: u64) -> Result<(RgbImage, Annotated), DataError> {
    cfg.check()?;
    let (image, objects) = render(cfg, seed);
    let annotated = Annotated {
        image: format!("scene-{seed}"),
        width: cfg.width,
        height: cfg.height,
        boxes: objects.iter().map(|o| o.bbox.map(|v| v as f32)).collect(),
        labels: objects.iter().map(|o| o.class).collect(),
        areas: Vec::new(),
        crowd: Vec::new(),
    };
    Ok((image, annotated))
}

/// A shape in its own frame: pixel (px, py) maps to u = rot(-angle)(p - c).x / rx, same for v.
struct Shape {
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
struct Object {
    class: usize,
    /// (x1, y1, x2, y2), exclusive end.
    bbox: [u32; 4],
    mask: Vec<bool>,
}

impl Object {
    fn area(&self) -> f32 {
        ((self.bbox[2] - self.bbox[0]) * (self.bbox[3] - self.bbox[1])) as f32
    }

    fn pixels(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let [x1, y1, x2, _] = self.bbox;
        let w = (x2 - x1) as usize;
        self.mask
            .iter()
            .enumerate()
            .filter(|(_, m)| **m)
            .map(move |(i, _)| (x1 + (i % w) as u32, y1 + (i / w) as u32))
    }
}

/// Rasterises `shape` (pixel centres) and crops the mask to its tight box; None if empty.
fn rasterise(shape: &Shape, cfg: &SceneConfig) -> Option<Object> {
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
    Some(Object {
        class: shape.class,
        bbox: [bx1, by1, bx2, by2],
        mask,
    })
}

/// Whether a new box overlaps an existing one too much (IoU > 0.3 or > half the smaller box).
fn too_close(a: &Object, b: &Object) -> bool {
    let iw = a.bbox[2]
        .min(b.bbox[2])
        .saturating_sub(a.bbox[0].max(b.bbox[0]));
    let ih = a.bbox[3]
        .min(b.bbox[3])
        .saturating_sub(a.bbox[1].max(b.bbox[1]));
    let inter = (iw * ih) as f32;
    let (aa, ab) = (a.area(), b.area());
    inter / (aa + ab - inter) > 0.3 || inter > 0.5 * aa.min(ab)
}

fn random_shape(cfg: &SceneConfig, rng: &mut ChaCha8Rng) -> Shape {
    let class = rng.random_range(0..cfg.classes as u32) as usize;
    let size = rng.random_range(cfg.min_size..=cfg.max_size) as f32;
    let aspect = rng.random_range(1.0..=cfg.max_aspect);
    let (w, h) = if rng.random_bool(0.5) {
        (size, size / aspect)
    } else {
        (size / aspect, size)
    };
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

fn random_colour(rng: &mut ChaCha8Rng) -> [f32; 3] {
    [0; 3].map(|_| rng.random_range(0.0..=255.0))
}

fn lerp(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|c| a[c] + (b[c] - a[c]) * t)
}

/// Background kinds: gradient, stripes, checkerboard, value noise.
const BACKGROUNDS: usize = 4;

/// Fills `buf` (row-major RGB floats) with background `kind`.
fn paint_background(buf: &mut [[f32; 3]], cfg: &SceneConfig, kind: usize, rng: &mut ChaCha8Rng) {
    let (w, h) = (cfg.width as usize, cfg.height as usize);
    let (c0, c1) = (random_colour(rng), random_colour(rng));
    let angle = rng.random_range(0.0..PI);
    let (ca, sa) = (angle.cos(), angle.sin());
    let period = rng.random_range(6.0..40.0);
    let phase = rng.random_range(0.0..period);
    let cell = rng.random_range(8..=48u32) as usize;
    let (ox, oy) = (
        rng.random_range(0..cell as u32) as usize,
        rng.random_range(0..cell as u32) as usize,
    );
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
                1 => (((fx * ca + fy * sa + phase) / (period / 2.0)).floor() as i64).rem_euclid(2)
                    as f32,
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
fn paint_distractors(buf: &mut [[f32; 3]], cfg: &SceneConfig, rng: &mut ChaCha8Rng) {
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
            let (x, y) = (
                (i % cfg.width as usize) as f32 + 0.5,
                (i / cfg.width as usize) as f32 + 0.5,
            );
            if inside(x, y) {
                *p = colour;
            }
        }
    }
}

/// A colour far (RGB distance >= 80) from nearly all pixels the object covers: the first of
/// 24 random candidates with < 2 % close pixels, else the candidate with the fewest.
fn contrasting_colour(buf: &[[f32; 3]], width: u32, obj: &Object, rng: &mut ChaCha8Rng) -> [u8; 3] {
    let under: Vec<[f32; 3]> = obj
        .pixels()
        .map(|(x, y)| buf[(y * width + x) as usize])
        .collect();
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

/// Renders a scene from a checked config: the image and its objects in drawing order.
fn render(cfg: &SceneConfig, seed: u64) -> (RgbImage, Vec<Object>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = vec![[0.0f32; 3]; (cfg.width * cfg.height) as usize];
    let kind = rng.random_range(0..BACKGROUNDS);
    paint_background(&mut buf, cfg, kind, &mut rng);
    paint_distractors(&mut buf, cfg, &mut rng);

    let wanted = rng.random_range(cfg.min_objects..=cfg.max_objects);
    let mut objects: Vec<Object> = Vec::new();
    let mut tries = 0;
    while (objects.len() as u32) < wanted && tries < 100 {
        tries += 1;
        let shape = random_shape(cfg, &mut rng);
        if let Some(obj) = rasterise(&shape, cfg)
            && objects.iter().all(|o| !too_close(o, &obj))
        {
            objects.push(obj);
            tries = 0;
        }
    }
    // Larger first, so a small object is never hidden under a large one (stable for ties).
    objects.sort_by(|a, b| b.area().total_cmp(&a.area()));
    for obj in &objects {
        let colour = contrasting_colour(&buf, cfg.width, obj, &mut rng).map(f32::from);
        for (x, y) in obj.pixels() {
            buf[(y * cfg.width + x) as usize] = colour;
        }
    }

    let mut image = RgbImage::new(cfg.width, cfg.height);
    for (p, px) in image.pixels_mut().zip(&buf) {
        *p = Rgb(px.map(|c| c.round().clamp(0.0, 255.0) as u8));
    }
    (image, objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxes_meet(a: [u32; 4], b: [u32; 4]) -> bool {
        a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
    }

    fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
        let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
        let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
        let area = |r: [f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
        iw * ih / (area(a) + area(b) - iw * ih)
    }

    #[test]
    fn same_seed_same_scene_other_seed_differs() {
        let cfg = SceneConfig::default();
        let (a, ann_a) = generate_scene(&cfg, 7).unwrap();
        let (b, ann_b) = generate_scene(&cfg, 7).unwrap();
        let (c, _) = generate_scene(&cfg, 8).unwrap();
        assert_eq!(a, b);
        assert_eq!(ann_a, ann_b);
        assert_ne!(a, c);
        assert_eq!(ann_a.image, "scene-7");
        assert_eq!(a.dimensions(), (320, 240));
    }

    #[test]
    fn rasterised_box_equals_brute_force_bounds() {
        // Scan the whole image with `contains` (no reach window, no cropping) and compare the
        // pixel bounds and pixel set with `rasterise`.
        let cfg = SceneConfig {
            width: 96,
            height: 96,
            min_size: 4,
            max_size: 60,
            max_aspect: 3.0,
            ..SceneConfig::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let shape = random_shape(&cfg, &mut rng);
            let inside: Vec<(u32, u32)> = (0..cfg.height)
                .flat_map(|y| (0..cfg.width).map(move |x| (x, y)))
                .filter(|&(x, y)| shape.contains(x as f32 + 0.5, y as f32 + 0.5))
                .collect();
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

    #[test]
    fn scene_boxes_are_tight_inside_and_solid() {
        let cfg = SceneConfig::default();
        for seed in 0..40 {
            let (image, objects) = render(&cfg, seed);
            for (i, obj) in objects.iter().enumerate() {
                let [x1, y1, x2, y2] = obj.bbox;
                assert!(
                    x1 < x2 && y1 < y2 && x2 <= cfg.width && y2 <= cfg.height,
                    "seed {seed}: {:?}",
                    obj.bbox
                );
                let px: Vec<(u32, u32)> = obj.pixels().collect();
                // Tight: some shape pixel on each edge row/column of the box.
                assert!(
                    px.iter().any(|p| p.1 == y1) && px.iter().any(|p| p.1 == y2 - 1),
                    "seed {seed} obj {i}"
                );
                assert!(
                    px.iter().any(|p| p.0 == x1) && px.iter().any(|p| p.0 == x2 - 1),
                    "seed {seed} obj {i}"
                );
                // Not covered by a later object: every pixel shows the same solid colour.
                if objects[i + 1..]
                    .iter()
                    .all(|o| !boxes_meet(o.bbox, obj.bbox))
                {
                    let c = image.get_pixel(px[0].0, px[0].1);
                    assert!(
                        px.iter().all(|&(x, y)| image.get_pixel(x, y) == c),
                        "seed {seed} obj {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn placements_respect_overlap_limit_and_counts() {
        let cfg = SceneConfig {
            min_objects: 2,
            max_objects: 5,
            ..SceneConfig::default()
        };
        for seed in 0..30 {
            let (_, a) = generate_scene(&cfg, seed).unwrap();
            assert!(a.boxes.len() <= 5, "seed {seed}");
            assert_eq!(a.boxes.len(), a.labels.len());
            for i in 0..a.boxes.len() {
                for j in 0..i {
                    assert!(
                        iou(a.boxes[i], a.boxes[j]) <= 0.3,
                        "seed {seed}: {i} vs {j}"
                    );
                }
            }
        }
    }

    #[test]
    fn labels_cover_exactly_the_configured_classes() {
        let cfg = SceneConfig {
            classes: 3,
            ..SceneConfig::default()
        };
        assert_eq!(cfg.class_names(), vec!["ellipse", "rectangle", "triangle"]);
        let mut seen = [false; 6];
        for seed in 0..30 {
            for l in generate_scene(&cfg, seed).unwrap().1.labels {
                seen[l] = true;
            }
        }
        assert_eq!(seen, [true, true, true, false, false, false]);
    }

    #[test]
    fn colour_picker_avoids_the_covered_colours() {
        // A 20x20 object over two-colour stripes (columns alternate a, b): the picked colour
        // must be >= 80 (RGB distance) from both. Balls of radius 80 around a and b cover
        // roughly 10-25 % of the RGB cube, so a random pick would fail some of the 60 cases.
        let (width, height) = (20u32, 20u32);
        let obj = Object {
            class: 0,
            bbox: [0, 0, width, height],
            mask: vec![true; 400],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..60 {
            let (a, b) = (random_colour(&mut rng), random_colour(&mut rng));
            let buf: Vec<[f32; 3]> = (0..width * height)
                .map(|i| if i % 2 == 0 { a } else { b })
                .collect();
            let c = contrasting_colour(&buf, width, &obj, &mut rng).map(f32::from);
            let dist = |p: [f32; 3]| (0..3).map(|k| (p[k] - c[k]).powi(2)).sum::<f32>().sqrt();
            assert!(dist(a) >= 80.0 && dist(b) >= 80.0, "{c:?} vs {a:?}, {b:?}");
        }
    }

    #[test]
    fn bad_configs_are_errors() {
        let ok = SceneConfig::default();
        for bad in [
            SceneConfig {
                classes: 0,
                ..ok.clone()
            },
            SceneConfig {
                classes: 7,
                ..ok.clone()
            },
            SceneConfig {
                min_objects: 3,
                max_objects: 2,
                ..ok.clone()
            },
            SceneConfig {
                min_size: 3,
                ..ok.clone()
            },
            SceneConfig {
                min_size: 50,
                max_size: 40,
                ..ok.clone()
            },
            SceneConfig {
                max_size: 200,
                ..ok.clone()
            }, // 200 * 1.414 > 240
            SceneConfig {
                max_aspect: 0.5,
                ..ok.clone()
            },
            SceneConfig {
                max_aspect: f32::NAN,
                ..ok.clone()
            },
        ] {
            assert!(
                matches!(generate_scene(&bad, 0), Err(DataError::SceneConfig(_))),
                "{bad:?}"
            );
        }
    }
}
