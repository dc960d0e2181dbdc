//! Image/box transforms for the network input: letterbox resize, flips, normalisation.

use image::RgbImage;
use image::imageops::{self, FilterType};

use super::DataError;

/// ImageNet channel means (RGB) in 0..255 units: (0.485, 0.456, 0.406) * 255.
pub const MEAN: [f32; 3] = [123.675, 116.28, 103.53];
/// ImageNet channel standard deviations (RGB) in 0..255 units: (0.229, 0.224, 0.225) * 255.
pub const STD: [f32; 3] = [58.395, 57.12, 57.375];
/// Letterbox padding: [`MEAN`] rounded, so padding normalises to about 0.
pub const PAD_RGB: [u8; 3] = [124, 116, 104];

/// Aspect-preserving resize into an `out_w x out_h` canvas, content centred, rest padded with
/// [`PAD_RGB`]. Output pixel = source pixel * `scale` + (`pad_x`, `pad_y`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub scale: f32,
    pub pad_x: f32,
    pub pad_y: f32,
    pub out_w: u32,
    pub out_h: u32,
}

impl Letterbox {
    /// scale = min(out_w / src_w, out_h / src_h); the content is round(src * scale) pixels,
    /// offset by floor(half the free space) so the pads are whole pixels.
    /// Errors if any size is 0.
    pub fn fit(src_w: u32, src_h: u32, out_w: u32, out_h: u32) -> Result<Self, DataError> {
        if src_w == 0 || src_h == 0 || out_w == 0 || out_h == 0 {
            return Err(DataError::EmptyImage {
                image: format!("letterbox {src_w}x{src_h} -> {out_w}x{out_h}"),
                width: src_w.min(out_w),
                height: src_h.min(out_h),
            });
        }
        let scale = (out_w as f32 / src_w as f32).min(out_h as f32 / src_h as f32);
        let (w, h) = (content(src_w, scale, out_w), content(src_h, scale, out_h));
        Ok(Self { scale, pad_x: ((out_w - w) / 2) as f32, pad_y: ((out_h - h) / 2) as f32, out_w, out_h })
    }

    /// Resizes (triangle filter) and pads `img`, which must be the source this was fitted to.
    /// Output: `out_w x out_h`.
    pub fn apply_image(&self, img: &RgbImage) -> RgbImage {
        let (px, py) = (self.pad_x as u32, self.pad_y as u32);
        let w = content(img.width(), self.scale, self.out_w - px);
        let h = content(img.height(), self.scale, self.out_h - py);
        let resized = imageops::resize(img, w, h, FilterType::Triangle);
        let mut out = RgbImage::from_pixel(self.out_w, self.out_h, image::Rgb(PAD_RGB));
        imageops::replace(&mut out, &resized, px.into(), py.into());
        out
    }

    /// Source-pixel box -> output-pixel box. Uses the uniform `scale`; the resized content is
    /// rounded to whole pixels, so this is exact to within half an output pixel.
    pub fn map_box(&self, b: [f32; 4]) -> [f32; 4] {
        [b[0] * self.scale + self.pad_x, b[1] * self.scale + self.pad_y, b[2] * self.scale + self.pad_x, b[3] * self.scale + self.pad_y]
    }

    /// Output-pixel box -> source-pixel box (inverse of [`Self::map_box`]; not clipped).
    pub fn unmap_box(&self, b: [f32; 4]) -> [f32; 4] {
        [(b[0] - self.pad_x) / self.scale, (b[1] - self.pad_y) / self.scale, (b[2] - self.pad_x) / self.scale, (b[3] - self.pad_y) / self.scale]
    }
}

/// round(len * scale), kept within 1..=max.
fn content(len: u32, scale: f32, max: u32) -> u32 {
    ((len as f32 * scale).round() as u32).clamp(1, max.max(1))
}

/// Mirrors the image left-right; boxes follow: x1' = W - x2, x2' = W - x1.
pub fn hflip(img: &RgbImage, boxes: &[[f32; 4]]) -> (RgbImage, Vec<[f32; 4]>) {
    let w = img.width() as f32;
    let flipped = boxes.iter().map(|b| [w - b[2], b[1], w - b[0], b[3]]).collect();
    (imageops::flip_horizontal(img), flipped)
}

/// Mirrors the image top-bottom; boxes follow: y1' = H - y2, y2' = H - y1.
pub fn vflip(img: &RgbImage, boxes: &[[f32; 4]]) -> (RgbImage, Vec<[f32; 4]>) {
    let h = img.height() as f32;
    let flipped = boxes.iter().map(|b| [b[0], h - b[3], b[2], h - b[1]]).collect();
    (imageops::flip_vertical(img), flipped)
}

/// Swaps the axes (mirror about the main diagonal, a W x H image becomes H x W): pixel (x, y)
/// moves to (y, x), boxes [x1, y1, x2, y2] become [y1, x1, y2, x2].
pub fn transpose(img: &RgbImage, boxes: &[[f32; 4]]) -> (RgbImage, Vec<[f32; 4]>) {
    // A quarter turn clockwise sends (x, y) to (H - 1 - y, x); the mirror then to (y, x).
    let swapped = boxes.iter().map(|b| [b[1], b[0], b[3], b[2]]).collect();
    (imageops::flip_horizontal(&imageops::rotate90(img)), swapped)
}

/// Planar float tensor data, layout [3, h, w] (channel R, G, B; then row; then column):
/// `out[c * h * w + y * w + x] = (img[x, y][c] - MEAN[c]) / STD[c]`.
pub fn to_chw_normalized(img: &RgbImage) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = vec![0.0; 3 * h * w];
    for (x, y, p) in img.enumerate_pixels() {
        let i = y as usize * w + x as usize;
        for c in 0..3 {
            out[c * h * w + i] = (p[c] as f32 - MEAN[c]) / STD[c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_landscape_into_square() {
        // 200x100 into 100x100: scale = min(0.5, 1.0) = 0.5, content 100x50,
        // pad_y = (100 - 50) / 2 = 25.
        let lb = Letterbox::fit(200, 100, 100, 100).unwrap();
        assert_eq!(lb, Letterbox { scale: 0.5, pad_x: 0.0, pad_y: 25.0, out_w: 100, out_h: 100 });
        // (20, 10, 60, 50) * 0.5 + (0, 25) = (10, 30, 30, 50).
        assert_eq!(lb.map_box([20.0, 10.0, 60.0, 50.0]), [10.0, 30.0, 30.0, 50.0]);
        assert_eq!(lb.unmap_box([10.0, 30.0, 30.0, 50.0]), [20.0, 10.0, 60.0, 50.0]);
    }

    #[test]
    fn fit_odd_padding_and_round_trip() {
        // 30x40 into 64x48: scale = min(64/30, 48/40) = 1.2, content 36x48,
        // pad_x = floor((64 - 36) / 2) = 14.
        let lb = Letterbox::fit(30, 40, 64, 48).unwrap();
        assert_eq!((lb.scale, lb.pad_x, lb.pad_y), (1.2, 14.0, 0.0));
        let b = [1.5, 2.25, 29.0, 39.5];
        let back = lb.unmap_box(lb.map_box(b));
        for (u, v) in back.iter().zip(b) {
            assert!((u - v).abs() < 1e-4, "{back:?} vs {b:?}");
        }
    }

    #[test]
    fn fit_rejects_empty_sizes() {
        assert!(Letterbox::fit(0, 10, 10, 10).is_err());
        assert!(Letterbox::fit(10, 10, 10, 0).is_err());
    }

    #[test]
    fn apply_image_places_content_and_pads_with_mean() {
        // Uniform 4x2 white image into 8x8: scale 2, content 8x4, pad_y 2.
        let img = RgbImage::from_pixel(4, 2, image::Rgb([255, 255, 255]));
        let lb = Letterbox::fit(4, 2, 8, 8).unwrap();
        let out = lb.apply_image(&img);
        assert_eq!(out.dimensions(), (8, 8));
        for y in 0..8 {
            let want = if (2..6).contains(&y) { [255, 255, 255] } else { PAD_RGB };
            for x in 0..8 {
                assert_eq!(out.get_pixel(x, y).0, want, "pixel ({x}, {y})");
            }
        }
    }

    #[test]
    fn hflip_moves_pixels_and_boxes() {
        // 4x1 image with a red pixel at x = 0; box covering it: (0, 0, 1, 1) -> (3, 0, 4, 1).
        let mut img = RgbImage::new(4, 1);
        img.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        let (f, boxes) = hflip(&img, &[[0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 2.5, 1.0]]);
        assert_eq!(f.get_pixel(3, 0).0, [255, 0, 0]);
        assert_eq!(f.get_pixel(0, 0).0, [0, 0, 0]);
        // (1, 2.5) -> (4 - 2.5, 4 - 1) = (1.5, 3).
        assert_eq!(boxes, vec![[3.0, 0.0, 4.0, 1.0], [1.5, 0.0, 3.0, 1.0]]);
    }

    #[test]
    fn vflip_and_transpose_move_pixels_and_boxes() {
        // 3 wide, 2 high; a red pixel at (2, 0) under box (2, 0, 3, 1), and box (0, 0.5, 1, 2).
        let mut img = RgbImage::new(3, 2);
        img.put_pixel(2, 0, image::Rgb([255, 0, 0]));
        let boxes = [[2.0, 0.0, 3.0, 1.0], [0.0, 0.5, 1.0, 2.0]];
        let (v, vb) = vflip(&img, &boxes);
        assert_eq!(v.get_pixel(2, 1).0, [255, 0, 0]);
        // y: (0, 1) -> (2 - 1, 2 - 0) = (1, 2); (0.5, 2) -> (0, 1.5).
        assert_eq!(vb, vec![[2.0, 1.0, 3.0, 2.0], [0.0, 0.0, 1.0, 1.5]]);
        let (t, tb) = transpose(&img, &boxes);
        assert_eq!(t.dimensions(), (2, 3));
        assert_eq!(t.get_pixel(0, 2).0, [255, 0, 0]);
        assert_eq!(t.get_pixel(1, 0).0, [0, 0, 0]);
        assert_eq!(tb, vec![[0.0, 2.0, 1.0, 3.0], [0.5, 0.0, 2.0, 1.0]]);
    }

    #[test]
    fn chw_layout_and_normalisation() {
        // 2x1 image: pixel (0,0) = (0, 128, 255), pixel (1,0) = mean-ish (124, 116, 104).
        let img = RgbImage::from_raw(2, 1, vec![0, 128, 255, 124, 116, 104]).unwrap();
        let t = to_chw_normalized(&img);
        // Layout [3, 1, 2]: [R(0,0), R(1,0), G(0,0), G(1,0), B(0,0), B(1,0)].
        let want = [
            (0.0 - 123.675) / 58.395,
            (124.0 - 123.675) / 58.395,
            (128.0 - 116.28) / 57.12,
            (116.0 - 116.28) / 57.12,
            (255.0 - 103.53) / 57.375,
            (104.0 - 103.53) / 57.375,
        ];
        assert_eq!(t.len(), 6);
        for (a, b) in t.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{t:?}");
        }
        // Spot values: R of black = -2.1179, B of white = 2.6400.
        assert!((t[0] + 2.1179).abs() < 1e-4 && (t[4] - 2.6400).abs() < 1e-4);
    }
}
