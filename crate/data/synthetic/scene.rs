//! A whole scene: background, distractors, objects placed without heavy overlap and filled in
//! contrasting colours, and its annotation ([`generate_scene`]).

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::SceneConfig;
use super::paint::{BACKGROUNDS, contrasting_colour, paint_background, paint_distractors};
use super::shape::{Object, random_shape, rasterise};
use crate::data::{Annotated, DataError};

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

/// Whether a new box overlaps an existing one too much (IoU > 0.3 or > half the smaller box).
fn too_close(a: &Object, b: &Object) -> bool {
    let iw = a.bbox[2].min(b.bbox[2]).saturating_sub(a.bbox[0].max(b.bbox[0]));
    let ih = a.bbox[3].min(b.bbox[3]).saturating_sub(a.bbox[1].max(b.bbox[1]));
    let inter = (iw * ih) as f32;
    let (aa, ab) = (a.area(), b.area());
    inter / (aa + ab - inter) > 0.3 || inter > 0.5 * aa.min(ab)
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
    fn scene_boxes_are_tight_inside_and_solid() {
        let cfg = SceneConfig::default();
        for seed in 0..40 {
            let (image, objects) = render(&cfg, seed);
            for (i, obj) in objects.iter().enumerate() {
                let [x1, y1, x2, y2] = obj.bbox;
                assert!(x1 < x2 && y1 < y2 && x2 <= cfg.width && y2 <= cfg.height, "seed {seed}: {:?}", obj.bbox);
                let px: Vec<(u32, u32)> = obj.pixels().collect();
                // Tight: some shape pixel on each edge row/column of the box.
                assert!(px.iter().any(|p| p.1 == y1) && px.iter().any(|p| p.1 == y2 - 1), "seed {seed} obj {i}");
                assert!(px.iter().any(|p| p.0 == x1) && px.iter().any(|p| p.0 == x2 - 1), "seed {seed} obj {i}");
                // Not covered by a later object: every pixel shows the same solid colour.
                if objects[i + 1..].iter().all(|o| !boxes_meet(o.bbox, obj.bbox)) {
                    let c = image.get_pixel(px[0].0, px[0].1);
                    assert!(px.iter().all(|&(x, y)| image.get_pixel(x, y) == c), "seed {seed} obj {i}");
                }
            }
        }
    }

    #[test]
    fn placements_respect_overlap_limit_and_counts() {
        let cfg = SceneConfig { min_objects: 2, max_objects: 5, ..SceneConfig::default() };
        for seed in 0..30 {
            let (_, a) = generate_scene(&cfg, seed).unwrap();
            assert!(a.boxes.len() <= 5, "seed {seed}");
            assert_eq!(a.boxes.len(), a.labels.len());
            for i in 0..a.boxes.len() {
                for j in 0..i {
                    assert!(iou(a.boxes[i], a.boxes[j]) <= 0.3, "seed {seed}: {i} vs {j}");
                }
            }
        }
    }

    #[test]
    fn labels_cover_exactly_the_configured_classes() {
        let cfg = SceneConfig { classes: 3, ..SceneConfig::default() };
        assert_eq!(cfg.class_names(), vec!["ellipse", "rectangle", "triangle"]);
        let mut seen = [false; 6];
        for seed in 0..30 {
            for l in generate_scene(&cfg, seed).unwrap().1.labels {
                seen[l] = true;
            }
        }
        assert_eq!(seen, [true, true, true, false, false, false]);
    }
}
