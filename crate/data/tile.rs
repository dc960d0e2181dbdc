//! Cutting a large labelled photo (an aerial survey, a scan) into square tiles the network can
//! take at full resolution, with each tile's boxes.

use image::RgbImage;
use image::imageops;

use super::{Annotated, Crowd};

/// A box belongs to a tile when at least this share of its area lies inside (then it is clipped).
pub const MIN_INSIDE: f32 = 0.5;

/// Tile origins along a side of `len` pixels: every `side`, the last one moved back to end at the
/// edge (so tiles overlap there instead of running off); one origin at 0 when `len <= side`.
pub fn origins(len: u32, side: u32) -> Vec<u32> {
    if len <= side {
        return vec![0];
    }
    let mut o: Vec<u32> = (0..len - side).step_by(side as usize).collect();
    o.push(len - side);
    o
}

/// `side x side` tiles of `image` (smaller where the image is) with the boxes of `ann` that lie
/// at least [`MIN_INSIDE`] inside each, clipped to it, and the crowd regions that overlap it,
/// clipped. Annotated areas are not kept (the boxes are cut). Tiles are named `<image>@<x>,<y>`.
pub fn tiles(image: &RgbImage, ann: &Annotated, side: u32) -> Vec<(RgbImage, Annotated)> {
    let (w, h) = image.dimensions();
    let mut out = Vec::new();
    for &y in &origins(h, side) {
        for &x in &origins(w, side) {
            let (tw, th) = (side.min(w - x), side.min(h - y));
            let crop = imageops::crop_imm(image, x, y, tw, th).to_image();
            let mut tile = Annotated {
                image: format!("{}@{x},{y}", ann.image),
                width: tw,
                height: th,
                boxes: Vec::new(),
                labels: Vec::new(),
                areas: Vec::new(),
                crowd: Vec::new(),
            };
            let (x0, y0) = (x as f32, y as f32);
            let clip = |b: &[f32; 4]| [(b[0] - x0).max(0.0), (b[1] - y0).max(0.0), (b[2] - x0).min(tw as f32), (b[3] - y0).min(th as f32)];
            for (b, &label) in ann.boxes.iter().zip(&ann.labels) {
                let c = clip(b);
                let inside = (c[2] - c[0]).max(0.0) * (c[3] - c[1]).max(0.0);
                let area = (b[2] - b[0]) * (b[3] - b[1]);
                if area > 0.0 && inside >= MIN_INSIDE * area {
                    tile.boxes.push(c);
                    tile.labels.push(label);
                }
            }
            for crowd in &ann.crowd {
                let c = clip(&crowd.bbox);
                if c[2] > c[0] && c[3] > c[1] {
                    tile.crowd.push(Crowd { bbox: c, ..*crowd });
                }
            }
            out.push((crop, tile));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_cover_the_side_and_end_at_the_edge() {
        assert_eq!(origins(300, 320), vec![0]);
        assert_eq!(origins(320, 320), vec![0]);
        assert_eq!(origins(400, 320), vec![0, 80]);
        assert_eq!(origins(1000, 320), vec![0, 320, 640, 680]);
    }

    #[test]
    fn boxes_mostly_inside_are_clipped_others_dropped() {
        // 400x300 image in 320 tiles: origins x {0, 80}, y {0}; tiles 320x300.
        let image = RgbImage::from_fn(400, 300, |x, y| image::Rgb([x as u8, y as u8, 0]));
        let ann = Annotated {
            image: "big".into(),
            width: 400,
            height: 300,
            // A: well inside tile 0 only partly in tile 1 (x 60..100: 20 of 40 px in tile 1 = 50%: kept);
            // B: x 300..340: in tile 0 20 of 40 px (50%: kept, clipped to 320), fully in tile 1.
            boxes: vec![[60.0, 10.0, 100.0, 50.0], [300.0, 10.0, 340.0, 50.0], [70.0, 0.0, 90.0, 10.0]],
            labels: vec![0, 1, 2],
            areas: vec![1000.0, 1000.0, 100.0],
            // In tile 0 only (x 0..40), across both (x 300..400).
            crowd: vec![Crowd { bbox: [0.0, 0.0, 40.0, 40.0], label: 1 }, Crowd { bbox: [300.0, 0.0, 400.0, 300.0], label: 0 }],
        };
        let t = tiles(&image, &ann, 320);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].0.dimensions(), t[1].0.dimensions()), ((320, 300), (320, 300)));
        assert_eq!(t[1].0.get_pixel(0, 5), &image::Rgb([80, 5, 0]), "tile 1 starts at x = 80");
        assert_eq!(t[0].1.boxes, vec![[60.0, 10.0, 100.0, 50.0], [300.0, 10.0, 320.0, 50.0], [70.0, 0.0, 90.0, 10.0]]);
        assert_eq!(t[0].1.labels, vec![0, 1, 2]);
        // In tile 1 (x - 80): A -> [0, 10, 20, 50] (half inside), B -> [220, 10, 260, 50]; C (x 70..90) has 10 of 20 px inside.
        assert_eq!(t[1].1.boxes, vec![[0.0, 10.0, 20.0, 50.0], [220.0, 10.0, 260.0, 50.0], [0.0, 0.0, 10.0, 10.0]]);
        assert_eq!(t[1].1.image, "big@80,0");
        assert!(t[0].1.areas.is_empty() && t[1].1.areas.is_empty(), "cut boxes lose their annotated areas");
        assert_eq!(t[0].1.crowd, vec![Crowd { bbox: [0.0, 0.0, 40.0, 40.0], label: 1 }, Crowd { bbox: [300.0, 0.0, 320.0, 300.0], label: 0 }]);
        assert_eq!(t[1].1.crowd, vec![Crowd { bbox: [220.0, 0.0, 320.0, 300.0], label: 0 }]);
    }
}
