//! Writing a [`Dataset`] as COCO JSON that reads back to the same boxes.

use super::schema::{CocoAnnotation, CocoCategory, CocoFile, CocoImage};
use crate::data::{DataError, Dataset};

/// Writes COCO detection JSON: category id = label + 1, image id = index + 1, annotation ids
/// 1.. in order (each image's boxes, then its crowd regions with `iscrowd = 1`), bbox =
/// [x1, y1, x2 - x1, y2 - y1] computed in f64 (exact for f32 inputs of similar magnitude), area
/// from [`Annotated::areas`](crate::data::Annotated::areas) or w * h, so
/// [`parse_coco`](super::parse_coco) gives back the same f32 boxes.
/// Errors on label/box count mismatch, labels outside `classes`, non-finite boxes.
pub fn to_coco_json(data: &Dataset) -> Result<String, DataError> {
    let mut coco = CocoFile {
        images: Vec::with_capacity(data.items.len()),
        annotations: Vec::new(),
        categories: (0..).zip(&data.classes).map(|(i, name)| CocoCategory { id: i + 1, name: name.clone() }).collect(),
    };
    for (image_id, item) in (1..).zip(&data.items) {
        item.check(data.classes.len())?;
        coco.images.push(CocoImage { id: image_id, file_name: item.image.clone(), width: item.width, height: item.height });
        let boxes = item.boxes.iter().zip(&item.labels).enumerate().map(|(i, (b, &l))| (b, l, item.areas.get(i).copied(), 0));
        let crowd = item.crowd.iter().map(|c| (&c.bbox, c.label, None, 1));
        for (b, label, area, iscrowd) in boxes.chain(crowd) {
            let [x1, y1, x2, y2] = b.map(f64::from);
            coco.annotations.push(CocoAnnotation {
                id: Some(coco.annotations.len() as u64 + 1),
                image_id,
                category_id: label as u64 + 1,
                bbox: [x1, y1, x2 - x1, y2 - y1],
                iscrowd,
                area: Some(area.unwrap_or((x2 - x1) * (y2 - y1))),
            });
        }
    }
    serde_json::to_string(&coco).map_err(|e| DataError::Json { file: "<COCO output>".to_string(), line: e.line(), column: e.column(), msg: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::coco::parse_coco;
    use crate::data::{Annotated, Crowd, Warning};

    #[test]
    fn write_then_read_gives_same_dataset() {
        // Fractional coordinates whose width is not exact in f32 arithmetic (0.3 - 0.1).
        let ds = Dataset {
            classes: vec!["cat".into(), "dog".into()],
            items: vec![
                Annotated {
                    image: "x.png".into(),
                    width: 640,
                    height: 480,
                    boxes: vec![[0.1, 0.2, 0.3, 479.9], [12.345, 67.89, 639.99, 100.01]],
                    labels: vec![1, 0],
                    areas: vec![0.5, 1e4],
                    crowd: vec![Crowd { bbox: [100.0, 100.0, 300.0, 200.5], label: 0 }],
                },
                Annotated { image: "empty.png".into(), width: 10, height: 20, boxes: vec![], labels: vec![], areas: vec![], crowd: vec![] },
            ],
        };
        let json = to_coco_json(&ds).unwrap();
        let (back, warnings) = parse_coco(&json, "out.json").unwrap();
        assert_eq!(back, ds);
        assert_eq!(warnings, vec![Warning::NoBoxes { image: "empty.png".into() }]);
    }

    #[test]
    fn writer_rejects_label_outside_classes() {
        let ds = Dataset {
            classes: vec!["cat".into()],
            items: vec![Annotated {
                image: "x.png".into(),
                width: 10,
                height: 10,
                boxes: vec![[0.0, 0.0, 1.0, 1.0]],
                labels: vec![1],
                areas: vec![],
                crowd: vec![],
            }],
        };
        assert!(matches!(to_coco_json(&ds), Err(DataError::LabelOutOfRange { label: 1, .. })));
    }
}
