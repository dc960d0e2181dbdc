//! Reading VOC XML: object names to labels ([`VocClasses`]), one file or many into a [`Dataset`].

use std::path::Path;

use super::schema::VocAnnotation;
use crate::data::files::read_text;
use crate::data::{Annotated, DataError, Dataset, RawBox, SkipReason, Warning, validate_boxes};

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
        Self { names: Vec::new(), grow: true }
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
            return Err(DataError::UnknownClass { file: file.to_string(), object: object.to_string(), name: name.to_string() });
        }
        self.names.push(name.to_string());
        Ok(self.names.len() - 1)
    }
}

/// Parses one VOC XML annotation; `file` labels errors. Object names are trimmed.
/// With `keep_difficult = false`, objects with `<difficult>1</difficult>` are skipped
/// ([`SkipReason::Difficult`]); otherwise they are kept as ordinary boxes.
pub fn parse_voc(xml: &str, file: &str, classes: &mut VocClasses, keep_difficult: bool) -> Result<(Annotated, Vec<Warning>), DataError> {
    let ann: VocAnnotation = quick_xml::de::from_str(xml).map_err(|e| DataError::Xml { file: file.to_string(), msg: e.to_string() })?;
    let mut warnings = Vec::new();
    let mut raw = Vec::with_capacity(ann.objects.len());
    for (i, obj) in ann.objects.iter().enumerate() {
        let origin = format!("object {i} ({})", obj.name.trim());
        let label = classes.label(obj.name.trim(), file, &origin)?;
        let b = &obj.bndbox;
        let bbox = [(b.xmin - 1.0) as f32, (b.ymin - 1.0) as f32, b.xmax as f32, b.ymax as f32];
        if obj.difficult != 0 && !keep_difficult {
            warnings.push(Warning::Skipped { image: ann.filename.clone(), origin, bbox, reason: SkipReason::Difficult });
            continue;
        }
        raw.push(RawBox { bbox, label, origin, area: None });
    }
    let item = validate_boxes(&ann.filename, ann.size.width, ann.size.height, raw, &mut warnings)?;
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
    Ok((Dataset { classes: classes.names, items }, warnings))
}

/// Reads one VOC XML file (thin wrapper over [`parse_voc`]).
pub fn read_voc_file(path: &Path, classes: &mut VocClasses, keep_difficult: bool) -> Result<(Annotated, Vec<Warning>), DataError> {
    parse_voc(&read_text(path)?, &path.display().to_string(), classes, keep_difficult)
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
        assert_eq!((a.image.as_str(), a.width, a.height), ("000005.jpg", 500, 375));
        // chair: (263 - 1, 211 - 1, 324, 339); person: (1 - 1, 1.5 - 1, 500, 375) = whole width.
        assert_eq!(a.boxes, vec![[262.0, 210.0, 324.0, 339.0], [0.0, 0.5, 500.0, 375.0]]);
        assert_eq!(a.labels, vec![1, 0]);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn difficult_objects_can_be_skipped_with_warning() {
        let mut classes = VocClasses::fixed(names(&["person", "chair"]));
        let (a, w) = parse_voc(SAMPLE, "000005.xml", &mut classes, false).unwrap();
        assert_eq!(a.labels, vec![1]);
        assert!(matches!(&w[..], [Warning::Skipped { reason: SkipReason::Difficult, .. }]), "{w:?}");
    }

    #[test]
    fn unknown_class_is_an_error_naming_it() {
        let mut classes = VocClasses::fixed(names(&["person"]));
        let msg = parse_voc(SAMPLE, "000005.xml", &mut classes, true).unwrap_err().to_string();
        assert!(msg.contains("000005.xml") && msg.contains("\"chair\"") && msg.contains("object 0"), "{msg}");
    }

    #[test]
    fn collect_mode_assigns_labels_in_first_seen_order() {
        let other = SAMPLE.replace("chair", "dog");
        let (ds, _) = parse_voc_dataset([("a.xml", SAMPLE), ("b.xml", other.as_str())], VocClasses::collect(), true).unwrap();
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
        assert!(matches!(&err, DataError::Xml { file, .. } if file == "bad.xml"), "{err}");

        let nan = SAMPLE.replace("<xmin>263</xmin>", "<xmin>NaN</xmin>");
        let err = parse_voc(&nan, "nan.xml", &mut classes, true).unwrap_err();
        assert!(matches!(err, DataError::NonFiniteBox { .. }), "{err}");
    }
}
