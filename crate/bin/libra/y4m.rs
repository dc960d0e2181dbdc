//! One-frame YUV4MPEG2 (4:2:0, full-range BT.601) videos, for Chromium's fake webcam
//! (`--use-file-for-fake-video-capture`), which plays the file in a loop.

use image::RgbImage;

/// Encodes `img` (even width and height) as a one-frame Y4M video at 30 fps.
pub fn encode(img: &RgbImage) -> Vec<u8> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    assert!(w % 2 == 0 && h % 2 == 0, "4:2:0 needs even sides, got {w}x{h}");
    let px = |x: usize, y: usize| img.get_pixel(x as u32, y as u32).0.map(f32::from);
    let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    let mut out = format!("YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg XCOLORRANGE=FULL\nFRAME\n").into_bytes();
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = px(x, y);
            out.push(clamp(0.299 * r + 0.587 * g + 0.114 * b));
        }
    }
    // Chroma of each 2x2 block from its mean colour.
    let mean = |x: usize, y: usize| {
        let s = [px(x, y), px(x + 1, y), px(x, y + 1), px(x + 1, y + 1)];
        [0, 1, 2].map(|c| s.iter().map(|p| p[c]).sum::<f32>() / 4.0)
    };
    let mut u = Vec::with_capacity(w * h / 4);
    let mut v = Vec::with_capacity(w * h / 4);
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let [r, g, b] = mean(x, y);
            u.push(clamp(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b));
            v.push(clamp(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b));
        }
    }
    out.extend(u);
    out.extend(v);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_planes_and_colours() {
        // Left half pure red, right half pure white, 4x2.
        let img = RgbImage::from_fn(4, 2, |x, _| if x < 2 { image::Rgb([255, 0, 0]) } else { image::Rgb([255, 255, 255]) });
        let y4m = encode(&img);
        let header = b"YUV4MPEG2 W4 H2 F30:1 Ip A1:1 C420jpeg XCOLORRANGE=FULL\nFRAME\n";
        assert_eq!(&y4m[..header.len()], header);
        let body = &y4m[header.len()..];
        assert_eq!(body.len(), 8 + 2 + 2);
        // Y of red = 0.299 * 255 = 76.2; of white 255.
        assert_eq!(&body[..8], &[76, 76, 255, 255, 76, 76, 255, 255]);
        // U of red = 128 - 0.168736 * 255 = 85.0, V = 128 + 127.5 = 255.5 -> 255; white: 128, 128.
        assert_eq!(&body[8..10], &[85, 128]);
        assert_eq!(&body[10..12], &[255, 128]);
    }
}
