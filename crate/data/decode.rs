//! Image decoding: PNG or JPEG bytes (or a file) to upright 8-bit RGB.

use std::path::Path;

use super::DataError;
use super::files::read_bytes;

/// The most pixels an image may have (8192 x 8192: 256 MiB as RGBA while decoding), and the
/// longest side: larger ones are refused from their header, before any pixel is allocated.
pub const MAX_IMAGE_PIXELS: u64 = 64 << 20;
pub const MAX_IMAGE_SIDE: u32 = 32_768;

/// Decodes PNG or JPEG bytes to 8-bit RGB (alpha dropped, grey expanded), refusing images over
/// [`MAX_IMAGE_PIXELS`] or [`MAX_IMAGE_SIDE`]. `name` only labels the error.
pub fn decode_image(bytes: &[u8], name: &str) -> Result<image::RgbImage, DataError> {
    use image::ImageDecoder;
    let error = |msg: String| DataError::Decode { image: name.to_string(), msg };
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| error(e.to_string()))?;
    let mut decoder = reader.into_decoder().map_err(|e| error(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    if w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE || w as u64 * h as u64 > MAX_IMAGE_PIXELS {
        return Err(error(format!(
            "{w} x {h} pixels is over the limit of {MAX_IMAGE_PIXELS} pixels (8192 x 8192) and {MAX_IMAGE_SIDE} per side; scale it down first"
        )));
    }
    // Upright as browsers show it (`createImageBitmap` applies EXIF orientation), so boxes
    // drawn in the page fit the pixels here.
    let pixels = || -> image::ImageResult<image::RgbImage> {
        let orientation = decoder.orientation()?;
        let mut img = image::DynamicImage::from_decoder(decoder)?;
        img.apply_orientation(orientation);
        Ok(img.to_rgb8())
    };
    pixels().map_err(|e| error(e.to_string()))
}

/// Reads and decodes an image file (thin wrapper over [`decode_image`]).
pub fn read_image_file(path: &Path) -> Result<image::RgbImage, DataError> {
    decode_image(&read_bytes(path)?, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_png_round_trip_and_corrupt_error() {
        // 2x1 image: red, blue.
        let img = image::RgbImage::from_raw(2, 1, vec![255, 0, 0, 0, 0, 255]).unwrap();
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        assert_eq!(decode_image(&png, "x.png").unwrap(), img);

        let err = decode_image(&png[..png.len() / 2], "half.png").unwrap_err();
        assert!(err.to_string().contains("half.png"), "{err}");
        let err = decode_image(b"GIF89a not supported", "y.gif").unwrap_err();
        assert!(err.to_string().contains("y.gif"), "{err}");
    }

    #[test]
    fn decode_applies_exif_orientation() {
        // A 2x1 JPEG (white, black) with an EXIF APP1 saying "rotate 90 degrees clockwise" (6).
        let img = image::RgbImage::from_raw(2, 1, vec![255, 255, 255, 0, 0, 0]).unwrap();
        let mut jpeg = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
        let tiff: &[u8] = &[b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
        let mut app1 = vec![0xFF, 0xE1];
        app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
        app1.extend_from_slice(b"Exif\0\0");
        app1.extend_from_slice(tiff);
        let rotated = [&jpeg[..2], &app1, &jpeg[2..]].concat();
        assert_eq!(decode_image(&jpeg, "a.jpg").unwrap().dimensions(), (2, 1));
        let upright = decode_image(&rotated, "b.jpg").unwrap();
        assert_eq!(upright.dimensions(), (1, 2), "rotated by the EXIF orientation");
        // Clockwise: the left (white) pixel ends on top.
        assert!(upright.get_pixel(0, 0)[0] > 200 && upright.get_pixel(0, 1)[0] < 60, "{upright:?}");
    }

    #[test]
    fn missing_file_error_names_path() {
        let err = read_image_file(Path::new("/nonexistent/dir/img.png")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/dir/img.png"), "{err}");
    }
}
