//! Drawing detections into an image (box outlines in a per-class colour).

use image::{Rgb, RgbImage};
use libra_rcnn::infer::NamedDetection;

const PALETTE: [[u8; 3]; 8] = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230]];

/// Outlines each detection, `thickness` px wide, clipped to the image.
pub fn draw_detections(img: &mut RgbImage, dets: &[NamedDetection], thickness: u32) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    for d in dets {
        let c = Rgb(PALETTE[d.label % PALETTE.len()]);
        let [x1, y1, x2, y2] = d.bbox.map(|v| v.round() as i64);
        for t in 0..thickness as i64 {
            for x in (x1 + t).max(0)..=(x2 - t).min(w - 1) {
                for y in [y1 + t, y2 - t] {
                    if (0..h).contains(&y) {
                        img.put_pixel(x as u32, y as u32, c);
                    }
                }
            }
            for y in (y1 + t).max(0)..=(y2 - t).min(h - 1) {
                for x in [x1 + t, x2 - t] {
                    if (0..w).contains(&x) {
                        img.put_pixel(x as u32, y as u32, c);
                    }
                }
            }
        }
    }
}
