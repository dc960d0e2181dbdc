//! Reading COCO JSON into a [`Dataset`]: class indices, boxes, areas and crowd regions.

use std::collections::HashMap;
use std::path::Path;

use super::schema::{CocoCategory, CocoFile};
use crate::data::files::read_text;
use crate::data::{Annotated, Crowd, DataError, Dataset, RawBox, Warning, validate_boxes};

/// Parses COCO detection JSON; `file` only labels errors and warnings.
/// Errors: broken JSON (with line/column), duplicate image or category ids, an annotation with
/// an unknown `image_id` or `category_id`, non-finite boxes (crowd regions' too), empty image
/// sizes.
pub fn parse_coco(json: &str, file: &str) -> Result<(Dataset, Vec<Warning>), DataError> {
    let coco: CocoFile = serde_json::from_str(json).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        DataError::Json { file: file.to_string(), line, column, msg: full.strip_suffix(&suffix).unwrap_or(&full).to_string() }
    })?;

    let mut categories: Vec<&CocoCategory> = coco.categories.iter().collect();
    categories.sort_by_key(|c| c.id);
    let mut label_of = HashMap::new();
    for (label, c) in categories.iter().enumerate() {
        if label_of.insert(c.id, label).is_some() {
            return Err(DataError::DuplicateId { file: file.to_string(), what: "category", id: c.id });
        }
    }

    let mut index_of = HashMap::new();
    for (i, img) in coco.images.iter().enumerate() {
        if index_of.insert(img.id, i).is_some() {
            return Err(DataError::DuplicateId { file: file.to_string(), what: "image", id: img.id });
        }
    }

    let mut warnings = Vec::new();
    let mut raw: Vec<Vec<RawBox>> = coco.images.iter().map(|_| Vec::new()).collect();
    let mut crowd: Vec<Vec<Crowd>> = coco.images.iter().map(|_| Vec::new()).collect();
    for (n, ann) in coco.annotations.iter().enumerate() {
        let origin = match ann.id {
            Some(id) => format!("annotation id {id}"),
            None => format!("annotation #{n}"),
        };
        let Some(&image) = index_of.get(&ann.image_id) else {
            return Err(DataError::UnknownImage { file: file.to_string(), annotation: origin, image_id: ann.image_id });
        };
        let Some(&label) = label_of.get(&ann.category_id) else {
            return Err(DataError::UnknownCategory { file: file.to_string(), annotation: origin, category_id: ann.category_id });
        };
        let [x, y, w, h] = ann.bbox;
        let bbox = [x as f32, y as f32, (x + w) as f32, (y + h) as f32];
        if ann.iscrowd != 0 {
            if bbox.iter().any(|v| !v.is_finite()) {
                return Err(DataError::NonFiniteBox { image: coco.images[image].file_name.clone(), origin, bbox });
            }
            crowd[image].push(Crowd { bbox, label });
            continue;
        }
        raw[image].push(RawBox { bbox, label, origin, area: Some(ann.area.unwrap_or(w * h)) });
    }

    let items = coco
        .images
        .iter()
        .zip(raw)
        .zip(crowd)
        .map(|((img, raw), crowd)| {
            let item = validate_boxes(&img.file_name, img.width, img.height, raw, &mut warnings)?;
            Ok(Annotated { crowd, ..item })
        })
        .collect::<Result<Vec<Annotated>, DataError>>()?;
    let classes = categories.iter().map(|c| c.name.clone()).collect();
    Ok((Dataset { classes, items }, warnings))
}

/// Reads a COCO JSON file (thin wrapper over [`parse_coco`]).
pub fn read_coco_file(path: &Path) -> Result<(Dataset, Vec<Warning>), DataError> {
    parse_coco(&read_text(path)?, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "info": {"year": 2017},
      "images": [
        {"id": 42, "file_name": "a.jpg", "width": 100, "height": 80, "license": 1},
        {"id": 7, "file_name": "b.jpg", "width": 50, "height": 50}
      ],
      "annotations": [
        {"id": 1, "image_id": 42, "category_id": 18, "bbox": [10, 20, 30, 40], "area": 1200, "iscrowd": 0},
        {"id": 2, "image_id": 42, "category_id": 3, "bbox": [90.5, 70, 20, 20], "iscrowd": 0},
        {"id": 3, "image_id": 42, "category_id": 3, "bbox": [0, 0, 5, 5], "iscrowd": 1}
      ],
      "categories": [
        {"id": 18, "name": "dog", "supercategory": "animal"},
        {"id": 3, "name": "car"}
      ]
    }"#;

    #[test]
    fn reads_categories_in_id_order_and_converts_boxes() {
        let (ds, warnings) = parse_coco(SAMPLE, "inst.json").unwrap();
        // ids sorted: 3 (car) -> 0, 18 (dog) -> 1.
        assert_eq!(ds.classes, vec!["car", "dog"]);
        assert_eq!(ds.items.len(), 2);
        let a = &ds.items[0];
        assert_eq!((a.image.as_str(), a.width, a.height), ("a.jpg", 100, 80));
        // [10, 20, 30, 40] -> (10, 20, 40, 60); [90.5, 70, 20, 20] -> (90.5, 70, 110.5, 90),
        // clipped to the 100x80 image -> (90.5, 70, 100, 80).
        assert_eq!(a.boxes, vec![[10.0, 20.0, 40.0, 60.0], [90.5, 70.0, 100.0, 80.0]]);
        assert_eq!(a.labels, vec![1, 0]);
        // id 1's `area`; id 2 has none: w * h of the box as given (not clipped).
        assert_eq!(a.areas, vec![1200.0, 400.0]);
        // id 3 is a crowd region, kept for evaluation only.
        assert_eq!(a.crowd, vec![Crowd { bbox: [0.0, 0.0, 5.0, 5.0], label: 0 }]);
        assert!(ds.items[1].boxes.is_empty());
        // Clipped (id 2), b.jpg background.
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(matches!(&warnings[0], Warning::Clipped { origin, .. } if origin == "annotation id 2"));
        assert_eq!(warnings[1], Warning::NoBoxes { image: "b.jpg".into() });
    }

    #[test]
    fn unknown_ids_are_errors_naming_them() {
        let bad_cat = SAMPLE.replace("\"category_id\": 18", "\"category_id\": 99");
        let msg = parse_coco(&bad_cat, "inst.json").unwrap_err().to_string();
        assert!(msg.contains("inst.json") && msg.contains("annotation id 1") && msg.contains("99"), "{msg}");

        let bad_img = SAMPLE.replace("\"image_id\": 42, \"category_id\": 18", "\"image_id\": 5, \"category_id\": 18");
        let err = parse_coco(&bad_img, "inst.json").unwrap_err();
        assert!(matches!(err, DataError::UnknownImage { image_id: 5, .. }), "{err}");
    }

    #[test]
    fn duplicate_ids_are_errors() {
        let dup = SAMPLE.replace("\"id\": 7,", "\"id\": 42,");
        let err = parse_coco(&dup, "inst.json").unwrap_err();
        assert!(matches!(err, DataError::DuplicateId { what: "image", id: 42, .. }), "{err}");
    }

    #[test]
    fn broken_json_reports_line_and_column() {
        // Line 3 is `  "images": [}`: the `}` is the 14th character.
        let broken = "{\n  \"categories\": [],\n  \"images\": [}\n";
        let err = parse_coco(broken, "broken.json").unwrap_err();
        match &err {
            DataError::Json { file, line, column, .. } => {
                assert_eq!((file.as_str(), *line, *column), ("broken.json", 3, 14));
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("line 3, column 14"), "{err}");
    }
}
