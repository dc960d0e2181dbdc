//! The box checks every reader shares: raw boxes to an [`Annotated`] image, with the
//! [`Warning`]s for what was clipped or skipped.

use std::fmt;

use super::{Annotated, DataError};

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
    Clipped { image: String, origin: String, from: [f32; 4], to: [f32; 4] },
    /// A box was dropped.
    Skipped { image: String, origin: String, bbox: [f32; 4], reason: SkipReason },
    /// The image has no (remaining) boxes; it is kept as a background-only image.
    NoBoxes { image: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Clipped { image, origin, from, to } => write!(f, "image {image}: {origin}: box {from:?} clipped to {to:?}"),
            Warning::Skipped { image, origin, bbox, reason } => {
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

/// Builds an [`Annotated`] from raw boxes, shared by the readers:
/// - a non-finite coordinate (NaN, inf) or an empty image size is an error;
/// - a box with x2 <= x1 or y2 <= y1 is skipped ([`SkipReason::ZeroSize`]);
/// - a box partly outside `[0, width] x [0, height]` is clipped ([`Warning::Clipped`]);
///   one with nothing left after clipping is skipped ([`SkipReason::OutsideImage`]);
/// - an image left without boxes is kept ([`Warning::NoBoxes`]);
/// - the kept boxes' `area`s become [`Annotated::areas`] (a source gives all or none).
pub fn validate_boxes(image: &str, width: u32, height: u32, raw: Vec<RawBox>, warnings: &mut Vec<Warning>) -> Result<Annotated, DataError> {
    if width == 0 || height == 0 {
        return Err(DataError::EmptyImage { image: image.to_string(), width, height });
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
    for RawBox { bbox, label, origin, area } in raw {
        if bbox.iter().any(|v| !v.is_finite()) {
            return Err(DataError::NonFiniteBox { image: image.to_string(), origin, bbox });
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
            warnings.push(Warning::Skipped { image: image.to_string(), origin, bbox, reason });
            continue;
        }
        if clipped != bbox {
            warnings.push(Warning::Clipped { image: image.to_string(), origin, from: bbox, to: clipped });
        }
        out.boxes.push(clipped);
        out.labels.push(label);
        out.areas.extend(area);
    }
    if out.boxes.is_empty() {
        warnings.push(Warning::NoBoxes { image: image.to_string() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(bbox: [f32; 4]) -> RawBox {
        RawBox { bbox, label: 1, origin: "object 0".into(), area: None }
    }

    #[test]
    fn inside_box_kept_unchanged() {
        let mut w = Vec::new();
        let a = validate_boxes("a.jpg", 100, 50, vec![raw([1.0, 2.0, 30.0, 40.0])], &mut w).unwrap();
        assert_eq!(a.boxes, vec![[1.0, 2.0, 30.0, 40.0]]);
        assert_eq!(a.labels, vec![1]);
        assert!(w.is_empty());
    }

    #[test]
    fn partly_outside_box_is_clipped_with_warning() {
        // Image 100x50: x1 -5 -> 0, y2 60 -> 50.
        let mut w = Vec::new();
        let a = validate_boxes("a.jpg", 100, 50, vec![raw([-5.0, 10.0, 20.0, 60.0])], &mut w).unwrap();
        assert_eq!(a.boxes, vec![[0.0, 10.0, 20.0, 50.0]]);
        assert_eq!(w, vec![Warning::Clipped { image: "a.jpg".into(), origin: "object 0".into(), from: [-5.0, 10.0, 20.0, 60.0], to: [0.0, 10.0, 20.0, 50.0] }]);
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
        assert_eq!(reasons, vec![SkipReason::ZeroSize, SkipReason::ZeroSize, SkipReason::OutsideImage]);
    }

    #[test]
    fn nan_is_an_error_naming_image_and_origin() {
        let mut w = Vec::new();
        let err = validate_boxes("c.jpg", 10, 10, vec![raw([0.0, f32::NAN, 5.0, 5.0])], &mut w).unwrap_err();
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
        assert_eq!(w, vec![Warning::NoBoxes { image: "e.jpg".into() }]);
    }
}
