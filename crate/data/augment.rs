//! Training-time augmentation for small datasets, on a letterboxed image and its boxes: for
//! images where no direction is up, quarter turns and mirrors; a zoom in or out
//! (scale jitter inside the fixed network input); and mmdetection's photometric distortion
//! without its hue step (brightness, contrast, saturation).

use std::borrow::Cow;

use image::RgbImage;
use image::imageops::{self, FilterType};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::transform::{PAD_RGB, transpose, vflip};

/// What [`augment`] may change; [`Augment::OFF`] changes nothing.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Augment {
    /// For images where no direction is up (microscopy): each image is also flipped top-bottom
    /// and transposed, each with probability 1/2 (with the training's left-right flip, all
    /// eight quarter turns and mirrors, equally likely).
    pub turns: bool,
    /// The content is scaled by a factor drawn uniformly from `[min, max]` about a random point
    /// (below 1: smaller, padded; above 1: larger, cropped). `(1, 1)`: no zoom.
    pub zoom: (f32, f32),
    /// Brightness (+-32), contrast (x0.5..1.5) and saturation (x0.5..1.5), each with
    /// probability 1/2, as mmdetection's `PhotoMetricDistortion` (hue left out).
    pub photometric: bool,
}

impl Augment {
    pub const OFF: Self = Self { turns: false, zoom: (1.0, 1.0), photometric: false };
    /// For fine-tuning on a few photos.
    pub const SMALL_DATA: Self = Self { turns: false, zoom: (0.75, 1.33), photometric: true };

    /// The page's and the CLI's two switches: [`Self::SMALL_DATA`]'s zoom and photometric
    /// changes, and turns for images where no direction is up.
    pub fn choose(zoom_and_colour: bool, turns: bool) -> Self {
        Self { turns, ..if zoom_and_colour { Self::SMALL_DATA } else { Self::OFF } }
    }
}

impl Default for Augment {
    fn default() -> Self {
        Self::OFF
    }
}

/// A box keeps at least this share of its area when a zoom crops it, or it is dropped.
const MIN_VISIBLE: f32 = 0.5;
/// Boxes narrower or lower than this (input pixels) after a zoom are dropped.
const MIN_SIDE: f32 = 2.0;

/// `image` (square or not) and its `boxes` (with `labels`) changed as `aug` says, drawing from
/// `rng`. A zoom that would leave no box is not applied; a transpose swaps a non-square image's
/// sides (training's letterboxed inputs are square).
pub fn augment(image: &RgbImage, boxes: &[[f32; 4]], labels: &[usize], aug: &Augment, rng: &mut impl Rng) -> (RgbImage, Vec<[f32; 4]>, Vec<usize>) {
    let mut turned = (Cow::Borrowed(image), Cow::Borrowed(boxes));
    if aug.turns {
        for turn in [vflip, transpose] {
            if rng.random_bool(0.5) {
                let (img, b) = turn(&turned.0, &turned.1);
                turned = (Cow::Owned(img), Cow::Owned(b));
            }
        }
    }
    let (image, boxes) = (turned.0.as_ref(), turned.1.as_ref());
    let (lo, hi) = aug.zoom;
    let mut out = if hi > lo || lo != 1.0 {
        let factor = if hi > lo { rng.random_range(lo..=hi) } else { lo };
        let (fx, fy) = (rng.random::<f32>(), rng.random::<f32>());
        zoom(image, boxes, labels, factor, (fx, fy)).filter(|z| !z.1.is_empty())
    } else {
        None
    }
    .unwrap_or_else(|| (image.clone(), boxes.to_vec(), labels.to_vec()));
    if aug.photometric {
        let [b, c, s] = [0; 3].map(|_| rng.random_bool(0.5));
        let brightness = if b { rng.random_range(-32.0..=32.0) } else { 0.0 };
        let contrast = if c { rng.random_range(0.5..=1.5) } else { 1.0 };
        let saturation = if s { rng.random_range(0.5..=1.5) } else { 1.0 };
        photometric(&mut out.0, brightness, contrast, saturation);
    }
    out
}

/// The content scaled by `factor` and placed at `at` (each in 0..=1: from one extreme offset to
/// the other) in a canvas of the same size, padded with [`PAD_RGB`]. Boxes follow, clipped;
/// those left with less than [`MIN_VISIBLE`] of their area or a side under [`MIN_SIDE`] are
/// dropped (with their labels). `None` if the scaled content would be empty.
pub fn zoom(image: &RgbImage, boxes: &[[f32; 4]], labels: &[usize], factor: f32, at: (f32, f32)) -> Option<(RgbImage, Vec<[f32; 4]>, Vec<usize>)> {
    let (w, h) = image.dimensions();
    let (zw, zh) = ((w as f32 * factor).round() as u32, (h as f32 * factor).round() as u32);
    if zw == 0 || zh == 0 {
        return None;
    }
    // Offset of the scaled content in the canvas: from 0 to w - zw (negative when it is larger).
    let ox = ((w as f32 - zw as f32) * at.0).round() as i64;
    let oy = ((h as f32 - zh as f32) * at.1).round() as i64;
    let scaled = imageops::resize(image, zw, zh, FilterType::Triangle);
    let mut canvas = RgbImage::from_pixel(w, h, image::Rgb(PAD_RGB));
    imageops::replace(&mut canvas, &scaled, ox, oy);
    let (sx, sy) = (zw as f32 / w as f32, zh as f32 / h as f32);
    let (mut kept, mut kept_labels) = (Vec::new(), Vec::new());
    for (b, &label) in boxes.iter().zip(labels) {
        let moved = [b[0] * sx + ox as f32, b[1] * sy + oy as f32, b[2] * sx + ox as f32, b[3] * sy + oy as f32];
        let clipped = [moved[0].max(0.0), moved[1].max(0.0), moved[2].min(w as f32), moved[3].min(h as f32)];
        let area = |b: &[f32; 4]| (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0);
        let (cw, ch) = (clipped[2] - clipped[0], clipped[3] - clipped[1]);
        if cw >= MIN_SIDE && ch >= MIN_SIDE && area(&clipped) >= MIN_VISIBLE * area(&moved) {
            kept.push(clipped);
            kept_labels.push(label);
        }
    }
    Some((canvas, kept, kept_labels))
}

/// `p' = clamp(contrast * (p + brightness))`, then each pixel's saturation scaled about its grey
/// (BT.601 luma): `p'' = clamp(y + saturation * (p' - y))`.
pub fn photometric(image: &mut RgbImage, brightness: f32, contrast: f32, saturation: f32) {
    for p in image.pixels_mut() {
        let v = p.0.map(|c| (contrast * (c as f32 + brightness)).clamp(0.0, 255.0));
        let y = 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
        p.0 = v.map(|c| (y + saturation * (c - y)).clamp(0.0, 255.0).round() as u8);
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn zoom_out_shrinks_the_content_and_its_boxes_into_the_canvas() {
        // 100 x 80 image, factor 0.5 placed at the far corner: content 50 x 40 at (50, 40).
        let img = RgbImage::from_pixel(100, 80, image::Rgb([10, 20, 30]));
        let (out, boxes, labels) = zoom(&img, &[[10.0, 20.0, 30.0, 60.0]], &[3], 0.5, (1.0, 1.0)).expect("zoomed");
        assert_eq!(out.dimensions(), (100, 80));
        assert_eq!(out.get_pixel(0, 0).0, PAD_RGB);
        assert_eq!(out.get_pixel(75, 60).0, [10, 20, 30]);
        assert_eq!(boxes, vec![[55.0, 50.0, 65.0, 70.0]]);
        assert_eq!(labels, vec![3]);
    }

    #[test]
    fn zoom_in_crops_and_drops_boxes_mostly_outside() {
        // Factor 2 at (0, 0): content 200 x 160 at (0, 0), so only its top-left quarter shows.
        let img = RgbImage::from_fn(100, 80, |x, _| image::Rgb([x as u8, 0, 0]));
        let boxes = [[10.0, 10.0, 20.0, 20.0], [40.0, 10.0, 60.0, 20.0], [70.0, 50.0, 90.0, 70.0]];
        let (out, kept, labels) = zoom(&img, &boxes, &[0, 1, 2], 2.0, (0.0, 0.0)).expect("zoomed");
        assert_eq!(out.dimensions(), (100, 80));
        // Box 0 -> [20, 20, 40, 40] whole; box 1 -> [80, 20, 120, 40], half visible: kept clipped;
        // box 2 -> [140, 100, 180, 140], outside: dropped.
        assert_eq!(kept, vec![[20.0, 20.0, 40.0, 40.0], [80.0, 20.0, 100.0, 40.0]]);
        assert_eq!(labels, vec![0, 1]);
        // Pixel column x of the output shows source column x / 2.
        assert!((out.get_pixel(60, 10).0[0] as i32 - 30).abs() <= 1, "{:?}", out.get_pixel(60, 10));
    }

    #[test]
    fn turns_go_to_each_of_four_orientations_with_boxes_on_their_pixels() {
        // A red pixel at (0, 1) under box (0, 1, 1, 2); top-bottom flips and transposes of a
        // 4 x 4 image take it to (0, 1), (0, 2), (1, 0) and (2, 0).
        let mut img = RgbImage::new(4, 4);
        img.put_pixel(0, 1, image::Rgb([255, 0, 0]));
        let aug = Augment { turns: true, ..Augment::OFF };
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..32 {
            let (out, boxes, labels) = augment(&img, &[[0.0, 1.0, 1.0, 2.0]], &[5], &aug, &mut ChaCha8Rng::seed_from_u64(seed));
            let (x, y, _) = out.enumerate_pixels().find(|p| p.2.0 == [255, 0, 0]).expect("the red pixel stays");
            assert_eq!(boxes, vec![[x as f32, y as f32, x as f32 + 1.0, y as f32 + 1.0]], "seed {seed}");
            assert_eq!(labels, vec![5]);
            seen.insert((x, y));
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![(0, 1), (0, 2), (1, 0), (2, 0)]);
    }

    #[test]
    fn photometric_follows_its_formula() {
        let mut img = RgbImage::from_pixel(1, 1, image::Rgb([100, 150, 200]));
        photometric(&mut img, 10.0, 1.5, 1.0);
        assert_eq!(img.get_pixel(0, 0).0, [165, 240, 255]);
        let mut img = RgbImage::from_pixel(1, 1, image::Rgb([100, 150, 200]));
        photometric(&mut img, 0.0, 1.0, 0.0); // all grey: y = 29.9 + 88.05 + 22.8 = 140.75
        assert_eq!(img.get_pixel(0, 0).0, [141, 141, 141]);
    }

    #[test]
    fn off_changes_nothing_and_a_zoom_that_drops_every_box_is_not_applied() {
        let img = RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let boxes = [[1.0, 2.0, 30.0, 40.0]];
        assert_eq!(augment(&img, &boxes, &[0], &Augment::OFF, &mut rng), (img.clone(), boxes.to_vec(), vec![0]));
        // A box in the far corner zoomed 4x: unless the zoom's point is within 4 % of that
        // corner the box leaves the canvas, and then the zoom is not applied.
        let corner = [[60.0, 60.0, 64.0, 64.0]];
        let aug = Augment { zoom: (4.0, 4.0), ..Augment::OFF };
        let results: Vec<_> = (0..20).map(|seed| augment(&img, &corner, &[0], &aug, &mut ChaCha8Rng::seed_from_u64(seed))).collect();
        assert!(results.iter().all(|(_, kept, _)| kept.len() == 1), "every result keeps its box");
        assert!(results.iter().any(|r| *r == (img.clone(), corner.to_vec(), vec![0])), "some zooms fell back to the image as it was");
    }
}
