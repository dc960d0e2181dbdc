//! Writing one image's boxes as a VOC XML annotation.

use serde::Serialize;

use super::schema::{VocAnnotation, VocBndBox, VocObject, VocSize};
use crate::data::{Annotated, DataError};

/// Writes one VOC XML annotation (xmin = x1 + 1, xmax = x2; `difficult` 0, depth 3); VOC has
/// no crowd regions or annotated areas, so those are not written.
/// Errors on label/box count mismatch, labels outside `classes`, non-finite boxes.
pub fn to_voc_xml(item: &Annotated, classes: &[String]) -> Result<String, DataError> {
    item.check(classes.len())?;
    let ann = VocAnnotation {
        filename: item.image.clone(),
        size: VocSize { width: item.width, height: item.height, depth: 3 },
        objects: item
            .boxes
            .iter()
            .zip(&item.labels)
            .map(|(b, &label)| {
                let [x1, y1, x2, y2] = b.map(f64::from);
                VocObject { name: classes[label].clone(), difficult: 0, bndbox: VocBndBox { xmin: x1 + 1.0, ymin: y1 + 1.0, xmax: x2, ymax: y2 } }
            })
            .collect(),
    };
    let mut out = String::new();
    let mut ser = quick_xml::se::Serializer::new(&mut out);
    ser.indent(' ', 2);
    ann.serialize(ser).map_err(|e| DataError::Xml { file: item.image.clone(), msg: e.to_string() })?;
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::voc::{VocClasses, parse_voc};

    #[test]
    fn write_then_read_gives_same_boxes() {
        let classes = vec!["cat".to_string(), "dog".to_string()];
        let item = Annotated {
            image: "x & y.jpg".into(),
            width: 64,
            height: 48,
            // Fractional x1 = 0.1: 0.1 + 1 - 1 is not 0.1 in f32, but is after the f64 trip.
            boxes: vec![[0.1, 2.0, 10.0, 20.5], [30.0, 40.0, 64.0, 48.0]],
            labels: vec![1, 0],
            areas: vec![],
            crowd: vec![],
        };
        let xml = to_voc_xml(&item, &classes).unwrap();
        // Integer corners print as VOC-style integers: x1 = 30 -> xmin 31.
        assert!(xml.contains("<xmin>31</xmin>"), "{xml}");
        let (back, w) = parse_voc(&xml, "x.xml", &mut VocClasses::fixed(classes), true).unwrap();
        assert_eq!(back, item);
        assert!(w.is_empty());
    }
}
