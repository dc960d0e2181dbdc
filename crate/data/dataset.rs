//! The in-memory dataset: annotated images and their class names.

use super::DataError;

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

impl Annotated {
    /// Checks what the writers and the evaluator rely on: as many labels as boxes, no areas or
    /// one per box, labels below `num_classes` and finite coordinates (crowd regions' too).
    pub fn check(&self, num_classes: usize) -> Result<(), DataError> {
        if self.boxes.len() != self.labels.len() {
            return Err(DataError::LengthMismatch { image: self.image.clone(), boxes: self.boxes.len(), labels: self.labels.len() });
        }
        if !self.areas.is_empty() && self.areas.len() != self.boxes.len() {
            return Err(DataError::AreaCount { image: self.image.clone(), boxes: self.boxes.len(), areas: self.areas.len() });
        }
        let boxes = self.boxes.iter().zip(&self.labels).enumerate().map(|(i, (b, &l))| (format!("box {i}"), b, l));
        let crowd = self.crowd.iter().enumerate().map(|(i, c)| (format!("crowd region {i}"), &c.bbox, c.label));
        for (origin, bbox, label) in boxes.chain(crowd) {
            if label >= num_classes {
                return Err(DataError::LabelOutOfRange { image: self.image.clone(), origin, label, num_classes });
            }
            if bbox.iter().any(|v| !v.is_finite()) {
                return Err(DataError::NonFiniteBox { image: self.image.clone(), origin, bbox: *bbox });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(matches!(a.check(2), Err(DataError::LabelOutOfRange { label: 2, .. })));
        assert!(a.check(3).is_ok());
        let e = a.check(1).unwrap_err().to_string();
        assert!(e.contains("box 0"), "{e}");
        a.labels[0] = 0;
        let e = a.check(1).unwrap_err().to_string();
        assert!(e.contains("crowd region 0"), "{e}");
        a.areas = vec![0.5, 0.5];
        assert!(matches!(a.check(3), Err(DataError::AreaCount { boxes: 1, areas: 2, .. })));
        a.areas.pop();
        assert!(a.check(3).is_ok());
        a.labels.push(0);
        assert!(matches!(a.check(3), Err(DataError::LengthMismatch { boxes: 1, labels: 2, .. })));
    }
}
