//! Pascal VOC XML annotations (one file per image): reader and writer.
//!
//! VOC pixel coordinates are 1-based and inclusive: `<xmin>1</xmin><xmax>10</xmax>` covers the
//! first ten pixel columns. In our continuous convention that is x1 = xmin - 1, x2 = xmax
//! (so x1 = 0, x2 = 10, width 10); the same for y. The writer does the inverse. Arithmetic is
//! done in f64 so a write/read round trip reproduces f32 boxes exactly.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::files::read_text;
use super::{Annotated, DataError, Dataset, RawBox, SkipReason, Warning, validate_boxes};

#[derive(Deserialize, Serialize)]
#[serde(rename = "annotation")]
struct VocAnnotation {
    filename: String,
    size: VocSize,
    #[serde(default, rename = "object")]
    objects: Vec<VocObject>,
}

#[derive(Deserialize, Serialize)]
struct VocSize {
    width: u32,
    height: u32,
    #[serde(default = "three")]
    depth: u32,
}

fn three() -> u32 {
    3
}

#[derive(Deserialize, Serialize)]
struct VocObject {
    name: String,
    #[serde(default)]
    difficult: u8,
    bndbox: VocBndBox,
}

#[derive(Deserialize, Serialize)]
struct VocBndBox {
    xmin: f64,
    ymin: f64,
    xmax: f64,
    ymax: f64,
}

/// How object names become labels.
#[derive(Debug, Clone, PartialEq)]
pub struct VocClasses {
    names: Vec<String>,
    grow: bool,
}

impl VocClasses {
    /// A fixed class list: label = position; an unknown name is an error.
    pub fn fixed(names: Vec<String>) -> Self {
        Self { names, grow: false }
    }

    /// Starts empty; every new name is appended (first-seen order over files and objects).
    pub fn collect() -> Self {
        Self {
            names: Vec::new(),
            grow: true,
        }
    }

    /// Class names so far (label i is `names()[i]`).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn label(&mut self, name: &str, file: &str, object: &str) -> Result<usize, DataError> {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return Ok(i);
        }
        if !self.grow {
            return Err(DataError::UnknownClass {
                file: file.to_string(),
                object: object.to_string(),
                name: name.to_string(),
            });
        }
        self.names.push(name.to_string());
        Ok(self.names.len() - 1)
    }
}

/// Parses one VOC XML annotation; `file` labels errors. Object names are trimmed.
/// With `keep_difficult = false`, objects with `<difficult>1</difficult>` are skipped
/// ([`SkipReason::Difficult`]); otherwise they are kept as ordinary boxes.
pub fn parse_voc(
    xml: &str,
    file: &str,
    classes: &mut VocClasses,
    keep_difficult: bool,
) -> Result<(Annotated, Vec<Warning>), DataError> {
    let ann: VocAnnotation = quick_xml::de::from_str(xml).map_err(|e| DataError::Xml {
        file: file.to_string(),
        msg: e.to_string(),
    })?;
    let mut warnings = Vec::new();
    let mut raw = Vec::with_capacity(ann.objects.len());
    for (i, obj) in ann.objects.iter().enumerate() {
        let origin = format!("object {i} ({})", obj.name.trim());
        let label = classes.label(obj.name.trim(), file, &origin)?;
        let b = &obj.bndbox;
        let bbox = [
            (b.xmin - 1.0) as f32,
            (b.ymin - 1.0) as f32,
            b.xmax as f32,
            b.ymax as f32,
        ];
        if obj.difficult != 0 && !keep_difficult {
            warnings.push(Warning::Skipped {
                image: ann.filename.clone(),
                origin,
                bbox,
                reason: SkipReason::Difficult,
            });
            continue;
        }
        raw.push(RawBox {
            bbox,
            label,
            origin,
            area: None,
        });
    }
    let item = validate_boxes(
        &ann.filename,
        ann.size.width,
        ann.size.height,
        raw,
        &mut warnings,
    )?;
    Ok((item, warnings))
}

/// Parses many `(file name, xml)` pairs into one dataset; classes as in [`parse_voc`].
pub fn parse_voc_dataset<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
    mut classes: VocClasses,
    keep_difficult: bool,
) -> Result<(Dataset, Vec<Warning>), DataError> {
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    for (file, xml) in files {
        let (item, w) = parse_voc(xml, file, &mut classes, keep_difficult)?;
        items.push(item);
        warnings.extend(w);
    }
    Ok((
        Dataset {
            classes: classes.names,
            items,
        },
        warnings,
    ))
}

/// Reads one VOC XML file (thin wrapper over [`parse_voc`]).
pub fn read_voc_file(
    path: &Path,
    classes: &mut VocClasses,
    keep_difficult: bool,
) -> Result<(Annotated, Vec<Warning>), DataError> {
    parse_voc(
        &read_text(path)?,
        &path.display().to_string(),
        classes,
        keep_difficult,
    )
}

/// Writes one VOC XML annotation (xmin = x1 + 1, xmax = x2; `difficult` 0, depth 3); VOC has
/// no crowd regions or annotated areas, so those are not written.
/// Errors on label/box count mismatch, labels outside `classes`, non-finite boxes.
pub fn to_voc_xml(item: &Annotated, classes: &[String]) -> Result<String, DataError> {
    item.check(classes.len())?;
    let ann = VocAnnotation {
        filename: item.image.clone(),
        size: VocSize {
            width: item.width,
            height: item.height,
            depth: 3,
        },
        objects: item
            .boxes
            .iter()
            .zip(&item.labels)
            .map(|(b, &label)| {
                let [x1, y1, x2, y2] = b.map(f64::from);
                VocObject {
                    name: classes[label].clone(),
                    difficult: 0,
                    bndbox: VocBndBox {
                        xmin: x1 + 1.0,
                        ymin: y1 + 1.0,
                        xmax: x2,
                        ymax: y2,
                    },
                }
            })
            .collect(),
    };
    let mut out = String::new();
    let mut ser = quick_xml::se::Serializer::new(&mut out);
    ser.indent(' ', 2);
    ann.serialize(ser).map_err(|e| DataError::Xml {
        file: item.image.clone(),
        msg: e.to_string(),
    })?;
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<annotation>
  <folder>VOC2007</folder>
  <filename>000005.jpg</filename>
  <source><database>The VOC2007 Database</database></source>
  <size><width>500</width><height>375</height><depth>3</depth></size>
  <segmented>0</segmented>
  <object>
    <name>chair</name><pose>Rear</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox>
  </object>
  <object>
    <name> person </name><pose>Unspecified</pose><truncated>1</truncated><difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>1.5</ymin><xmax>500</xmax><ymax>375</ymax></bndbox>
  </object>
</annotation>"#;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_objects_with_one_based_conversion() {
        let mut classes = VocClasses::fixed(names(&["person", "chair"]));
        let (a, w) = parse_voc(SAMPLE, "000005.xml", &mut classes, true).unwrap();
        assert_eq!(
            (a.image.as_str(), a.width, a.height),
            ("000005.jpg", 500, 375)
        );
        // chair: (263 - 1, 211 - 1, 324, 339); person: (1 - 1, 1.5 - 1, 500, 375) = whole width.
        assert_eq!(
            a.boxes,
            vec![[262.0, 210.0, 324.0, 339.0], [0.0, 0.5, 500.0, 375.0]]
        );
        assert_eq!(a.labels, vec![1, 0]);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn difficult_objects_can_be_skipped_with_warning() {
        let mut classes = VocClasses::fixed(names(&["person", "chair"]));
        let (a, w) = parse_voc(SAMPLE, "000005.xml", &mut classes, false).unwrap();
        assert_eq!(a.labels, vec![1]);
        assert!(
            matches!(
                &w[..],
                [Warning::Skipped {
                    reason: SkipReason::Difficult,
                    ..
                }]
            ),
            "{w:?}"
        );
    }

    #[test]
    fn unknown_class_is_an_error_naming_it() {
        let mut classes = VocClasses::fixed(names(&["person"]));
        let msg = parse_voc(SAMPLE, "000005.xml", &mut classes, true)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("000005.xml") && msg.contains("\"chair\"") && msg.contains("object 0"),
            "{msg}"
        );
    }

    #[test]
    fn collect_mode_assigns_labels_in_first_seen_order() {
        let other = SAMPLE.replace("chair", "dog");
        let (ds, _) = parse_voc_dataset(
            [("a.xml", SAMPLE), ("b.xml", other.as_str())],
            VocClasses::collect(),
            true,
        )
        .unwrap();
        // a.xml: chair (0), person (1); b.xml: dog (2), person (1).
        assert_eq!(ds.classes, names(&["chair", "person", "dog"]));
        assert_eq!(ds.items[0].labels, vec![0, 1]);
        assert_eq!(ds.items[1].labels, vec![2, 1]);
    }

    #[test]
    fn malformed_xml_and_nan_are_errors() {
        let mut classes = VocClasses::collect();
        let broken = SAMPLE.replace("</size>", "");
        let err = parse_voc(&broken, "bad.xml", &mut classes, true).unwrap_err();
        assert!(
            matches!(&err, DataError::Xml { file, .. } if file == "bad.xml"),
            "{err}"
        );

        let nan = SAMPLE.replace("<xmin>263</xmin>", "<xmin>NaN</xmin>");
        let err = parse_voc(&nan, "nan.xml", &mut classes, true).unwrap_err();
        assert!(matches!(err, DataError::NonFiniteBox { .. }), "{err}");
    }

    #[test]
    fn write_then_read_gives_same_boxes() {
        let classes = names(&["cat", "dog"]);
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
