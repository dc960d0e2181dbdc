//! Host-side data: annotation readers/writers (COCO JSON, Pascal VOC XML), generated scenes,
//! image transforms. Plain Rust, no tensors; parsing works on `&str`/`&[u8]` (wasm32-friendly),
//! the `*_file` functions are thin `std::fs` wrappers.
//!
//! Box convention everywhere: `[f32; 4]` = (x1, y1, x2, y2) in pixels, continuous coordinates
//! with (0, 0) the top-left corner of the top-left pixel, so width = x2 - x1.

pub mod coco;
pub mod synthetic;
pub mod tile;
pub mod transform;
pub mod voc;

use std::fmt;
use std::path::Path;

/// One image and its boxes. `boxes[i]` has class `labels[i]` (index into [`Dataset::classes`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Annotated {
    /// File name (COCO `file_name`, VOC `filename`) or generated id.
    pub image: String,
    pub width: u32,
    pub height: u32,
    pub boxes: Vec<[f32; 4]>,
    pub labels: Vec<usize>,
    /// The annotated area of each box (COCO `area`, the segmentation's), which evaluation's size
    /// ranges use; empty where the source gives none (then each box's own area is used).
    pub areas: Vec<f64>,
    /// Crowd regions (COCO `iscrowd = 1`): never trained on; evaluation ignores the detections
    /// they cover (see [`crate::eval`]).
    pub crowd: Vec<Crowd>,
}

/// A box around many objects of class `label` (COCO `iscrowd = 1`), not one instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crowd {
    pub bbox: [f32; 4],
    pub label: usize,
}

/// Class names (label `i` is `classes[i]`) and the annotated images.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    pub classes: Vec<String>,
    pub items: Vec<Annotated>,
}

/// Why reading, writing or checking data failed. Messages name the file, image and annotation.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: invalid JSON at line {line}, column {column}: {msg}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        msg: String,
    },
    #[error("{file}: invalid VOC XML: {msg}")]
    Xml { file: String, msg: String },
    #[error("{file}: {what} id {id} appears more than once")]
    DuplicateId {
        file: String,
        what: &'static str,
        id: u64,
    },
    #[error("{file}: {annotation} refers to unknown image_id {image_id}")]
    UnknownImage {
        file: String,
        annotation: String,
        image_id: u64,
    },
    #[error("{file}: {annotation} refers to unknown category_id {category_id}")]
    UnknownCategory {
        file: String,
        annotation: String,
        category_id: u64,
    },
    #[error("{file}: {object} has unknown class {name:?}")]
    UnknownClass {
        file: String,
        object: String,
        name: String,
    },
    #[error("image {image}: {origin} has a non-finite coordinate {bbox:?}")]
    NonFiniteBox {
        image: String,
        origin: String,
        bbox: [f32; 4],
    },
    #[error("image {image}: size {width}x{height} is empty")]
    EmptyImage {
        image: String,
        width: u32,
        height: u32,
    },
    #[error("image {image}: {boxes} boxes but {labels} labels")]
    LengthMismatch {
        image: String,
        boxes: usize,
        labels: usize,
    },
    #[error("image {image}: {boxes} boxes but {areas} areas")]
    AreaCount {
        image: String,
        boxes: usize,
        areas: usize,
    },
    #[error("image {image}: {origin} has label {label}, but there are {num_classes} classes")]
    LabelOutOfRange {
        image: String,
        origin: String,
        label: usize,
        num_classes: usize,
    },
    #[error("image {image}: cannot decode: {msg}")]
    Decode { image: String, msg: String },
    #[error("invalid scene config: {0}")]
    SceneConfig(String),
}

/// Why a box was dropped (see [`Warning::Skipped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// x2 <= x1 or y2 <= y1 as given.
    ZeroSize,
    /// Nothing left after clipping to the image.
    OutsideImage,
    /// VOC `difficult = 1` and the reader was asked to drop those.
    Difficult,
}

/// A documented change a reader made to the data; readers return these next to the data.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// A box partly outside the image was clipped to it.
    Clipped {
        image: String,
        origin: String,
        from: [f32; 4],
        to: [f32; 4],
    },
    /// A box was dropped.
    Skipped {
        image: String,
        origin: String,
        bbox: [f32; 4],
        reason: SkipReason,
    },
    /// The image has no (remaining) boxes; it is kept as a background-only image.
    NoBoxes { image: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Clipped {
                image,
                origin,
                from,
                to,
            } => write!(f, "image {image}: {origin}: box {from:?} clipped to {to:?}"),
            Warning::Skipped {
                image,
                origin,
                bbox,
                reason,
            } => {
                let why = match reason {
                    SkipReason::ZeroSize => "has zero or negative size",
                    SkipReason::OutsideImage => "lies outside the image",
                    SkipReason::Difficult => "is marked difficult",
                };
                write!(f, "image {image}: {origin}: box {bbox:?} {why}; skipped")
            }
            Warning::NoBoxes { image } => {
                write!(f, "image {image}: no boxes; kept as background")
            }
        }
    }
}

/// A box as read from a file, before [`validate_boxes`].
#[derive(Debug, Clone, PartialEq)]
pub struct RawBox {
    pub bbox: [f32; 4],
    pub label: usize,
    /// Where it came from, for messages, e.g. "annotation id 17" or "object 2".
    pub origin: String,
    /// The object's area as annotated (COCO `area`), if the source gives one.
    pub area: Option<f64>,
}

/// Builds an [`Annotated`] from raw boxes, shared by the readers:
/// - a non-finite coordinate (NaN, inf) or an empty image size is an error;
/// - a box with x2 <= x1 or y2 <= y1 is skipped ([`SkipReason::ZeroSize`]);
/// - a box partly outside `[0, width] x [0, height]` is clipped ([`Warning::Clipped`]);
///   one with nothing left after clipping is skipped ([`SkipReason::OutsideImage`]);
/// - an image left without boxes is kept ([`Warning::NoBoxes`]);
/// - the kept boxes' `area`s become [`Annotated::areas`] (a source gives all or none).
pub fn validate_boxes(
    image: &str,
    width: u32,
    height: u32,
    raw: Vec<RawBox>,
    warnings: &mut Vec<Warning>,
) -> Result<Annotated, DataError> {
    if width == 0 || height == 0 {
        return Err(DataError::EmptyImage {
            image: image.to_string(),
            width,
            height,
        });
    }
    let (w, h) = (width as f32, height as f32);
    let mut out = Annotated {
        image: image.to_string(),
        width,
        height,
        boxes: Vec::with_capacity(raw.len()),
        labels: Vec::with_capacity(raw.len()),
        areas: Vec::new(),
        crowd: Vec::new(),
    };
    for RawBox {
        bbox,
        label,
        origin,
        area,
    } in raw
    {
        if bbox.iter().any(|v| !v.is_finite()) {
            return Err(DataError::NonFiniteBox {
                image: image.to_string(),
                origin,
                bbox,
            });
        }
        let [x1, y1, x2, y2] = bbox;
        let clipped = [x1.max(0.0), y1.max(0.0), x2.min(w), y2.min(h)];
        let reason = if x2 <= x1 || y2 <= y1 {
            Some(SkipReason::ZeroSize)
        } else if clipped[2] <= clipped[0] || clipped[3] <= clipped[1] {
            Some(SkipReason::OutsideImage)
        } else {
            None
        };
        if let Some(reason) = reason {
            warnings.push(Warning::Skipped {
                image: image.to_string(),
                origin,
                bbox,
                reason,
            });
            continue;
        }
        if clipped != bbox {
            warnings.push(Warning::Clipped {
                image: image.to_string(),
                origin,
                from: bbox,
                to: clipped,
            });
        }
        out.boxes.push(clipped);
        out.labels.push(label);
        out.areas.extend(area);
    }
    if out.boxes.is_empty() {
        warnings.push(Warning::NoBoxes {
            image: image.to_string(),
        });
    }
    Ok(out)
}

impl Annotated {
    /// Checks what the writers and the evaluator rely on: as many labels as boxes, no areas or
    /// one per box, labels below `num_classes` and finite coordinates (crowd regions' too).
    pub fn check(&self, num_classes: usize) -> Result<(), DataError> {
        if self.boxes.len() != self.labels.len() {
            return Err(DataError::LengthMismatch {
                image: self.image.clone(),
                boxes: self.boxes.len(),
                labels: self.labels.len(),
            });
        }
        if !self.areas.is_empty() && self.areas.len() != self.boxes.len() {
            return Err(DataError::AreaCount {
                image: self.image.clone(),
                boxes: self.boxes.len(),
                areas: self.areas.len(),
            });
        }
        let boxes = self.boxes.iter().zip(&self.labels).enumerate().map(|(i, (b, &l))| (format!("box {i}"), b, l));
        let crowd = self.crowd.iter().enumerate().map(|(i, c)| (format!("crowd region {i}"), &c.bbox, c.label));
        for (origin, bbox, label) in boxes.chain(crowd) {
            if label >= num_classes {
                return Err(DataError::LabelOutOfRange {
                    image: self.image.clone(),
                    origin,
                    label,
                    num_classes,
                });
            }
            if bbox.iter().any(|v| !v.is_finite()) {
                return Err(DataError::NonFiniteBox {
                    image: self.image.clone(),
                    origin,
                    bbox: *bbox,
                });
            }
        }
        Ok(())
    }
}

/// Decodes PNG or JPEG bytes to 8-bit RGB (alpha dropped, grey expanded).
/// `name` only labels the error.
pub fn decode_image(bytes: &[u8], name: &str) -> Result<image::RgbImage, DataError> {
    use image::ImageDecoder;
    let decode = || -> image::ImageResult<image::RgbImage> {
        let mut decoder = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?.into_decoder()?;
        // Upright as browsers show it (`createImageBitmap` applies EXIF orientation), so boxes
        // drawn in the page fit the pixels here.
        let orientation = decoder.orientation()?;
        let mut img = image::DynamicImage::from_decoder(decoder)?;
        img.apply_orientation(orientation);
        Ok(img.to_rgb8())
    };
    decode().map_err(|e| DataError::Decode {
        image: name.to_string(),
        msg: e.to_string(),
    })
}

/// Reads and decodes an image file (thin wrapper over [`decode_image`]).
pub fn read_image_file(path: &Path) -> Result<image::RgbImage, DataError> {
    decode_image(&read_bytes(path)?, &path.display().to_string())
}

/// `std::fs::read` with the path in the error.
fn read_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// `std::fs::read_to_string` with the path in the error.
fn read_text(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(bbox: [f32; 4]) -> RawBox {
        RawBox {
            bbox,
            label: 1,
            origin: "object 0".into(),
            area: None,
        }
    }

    #[test]
    fn inside_box_kept_unchanged() {
        let mut w = Vec::new();
        let a =
            validate_boxes("a.jpg", 100, 50, vec![raw([1.0, 2.0, 30.0, 40.0])], &mut w).unwrap();
        assert_eq!(a.boxes, vec![[1.0, 2.0, 30.0, 40.0]]);
        assert_eq!(a.labels, vec![1]);
        assert!(w.is_empty());
    }

    #[test]
    fn partly_outside_box_is_clipped_with_warning() {
        // Image 100x50: x1 -5 -> 0, y2 60 -> 50.
        let mut w = Vec::new();
        let a = validate_boxes(
            "a.jpg",
            100,
            50,
            vec![raw([-5.0, 10.0, 20.0, 60.0])],
            &mut w,
        )
        .unwrap();
        assert_eq!(a.boxes, vec![[0.0, 10.0, 20.0, 50.0]]);
        assert_eq!(
            w,
            vec![Warning::Clipped {
                image: "a.jpg".into(),
                origin: "object 0".into(),
                from: [-5.0, 10.0, 20.0, 60.0],
                to: [0.0, 10.0, 20.0, 50.0],
            }]
        );
    }

    #[test]
    fn degenerate_and_outside_boxes_are_skipped_and_reported() {
        let mut w = Vec::new();
        let boxes = vec![
            raw([10.0, 10.0, 10.0, 20.0]),  // zero width
            raw([10.0, 30.0, 20.0, 20.0]),  // negative height
            raw([100.0, 0.0, 120.0, 10.0]), // right of a 100-wide image: x1 = x2 = 100 after clip
            raw([5.0, 5.0, 15.0, 15.0]),    // fine
        ];
        // Annotated areas 1, 2, 3, 4 follow their boxes: only the kept one's remains.
        let boxes = (1..).zip(boxes).map(|(i, b)| RawBox { area: Some(i as f64), ..b }).collect();
        let a = validate_boxes("b.png", 100, 50, boxes, &mut w).unwrap();
        assert_eq!(a.boxes, vec![[5.0, 5.0, 15.0, 15.0]]);
        assert_eq!(a.areas, vec![4.0]);
        let reasons: Vec<_> = w
            .iter()
            .map(|w| match w {
                Warning::Skipped { reason, .. } => *reason,
                other => panic!("unexpected {other}"),
            })
            .collect();
        assert_eq!(
            reasons,
            vec![
                SkipReason::ZeroSize,
                SkipReason::ZeroSize,
                SkipReason::OutsideImage
            ]
        );
    }

    #[test]
    fn nan_is_an_error_naming_image_and_origin() {
        let mut w = Vec::new();
        let err = validate_boxes(
            "c.jpg",
            10,
            10,
            vec![raw([0.0, f32::NAN, 5.0, 5.0])],
            &mut w,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("c.jpg") && msg.contains("object 0"), "{msg}");
    }

    #[test]
    fn empty_image_size_is_an_error() {
        let err = validate_boxes("d.jpg", 0, 10, vec![], &mut Vec::new()).unwrap_err();
        assert!(matches!(err, DataError::EmptyImage { width: 0, .. }));
    }

    #[test]
    fn image_without_boxes_kept_as_background() {
        let mut w = Vec::new();
        let a = validate_boxes("e.jpg", 10, 10, vec![], &mut w).unwrap();
        assert!(a.boxes.is_empty());
        assert_eq!(
            w,
            vec![Warning::NoBoxes {
                image: "e.jpg".into()
            }]
        );
    }

    #[test]
    fn check_rejects_bad_labels_and_lengths() {
        let mut a = Annotated {
            image: "f.jpg".into(),
            width: 10,
            height: 10,
            boxes: vec![[0.0, 0.0, 1.0, 1.0]],
            labels: vec![2],
            areas: vec![],
            crowd: vec![Crowd { bbox: [0.0, 0.0, 5.0, 5.0], label: 1 }],
        };
        assert!(matches!(
            a.check(2),
            Err(DataError::LabelOutOfRange { label: 2, .. })
        ));
        assert!(a.check(3).is_ok());
        let e = a.check(1).unwrap_err().to_string();
        assert!(e.contains("box 0"), "{e}");
        a.labels[0] = 0;
        let e = a.check(1).unwrap_err().to_string();
        assert!(e.contains("crowd region 0"), "{e}");
        a.areas = vec![0.5, 0.5];
        assert!(matches!(
            a.check(3),
            Err(DataError::AreaCount { boxes: 1, areas: 2, .. })
        ));
        a.areas.pop();
        assert!(a.check(3).is_ok());
        a.labels.push(0);
        assert!(matches!(
            a.check(3),
            Err(DataError::LengthMismatch {
                boxes: 1,
                labels: 2,
                ..
            })
        ));
    }

    #[test]
    fn decode_png_round_trip_and_corrupt_error() {
        // 2x1 image: red, blue.
        let img = image::RgbImage::from_raw(2, 1, vec![255, 0, 0, 0, 0, 255]).unwrap();
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
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
        assert!(
            err.to_string().contains("/nonexistent/dir/img.png"),
            "{err}"
        );
    }
}
