//! The parts of a COCO file we read and write, as serde structs (other fields are ignored).

use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize)]
pub(super) struct CocoFile {
    pub(super) images: Vec<CocoImage>,
    #[serde(default)]
    pub(super) annotations: Vec<CocoAnnotation>,
    pub(super) categories: Vec<CocoCategory>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct CocoImage {
    pub(super) id: u64,
    pub(super) file_name: String,
    pub(super) width: u32,
    pub(super) height: u32,
}

#[derive(Deserialize, Serialize)]
pub(super) struct CocoAnnotation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) id: Option<u64>,
    pub(super) image_id: u64,
    pub(super) category_id: u64,
    pub(super) bbox: [f64; 4],
    #[serde(default)]
    pub(super) iscrowd: u8,
    /// The object's area in pixels (of its segmentation in COCO's own files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) area: Option<f64>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct CocoCategory {
    pub(super) id: u64,
    pub(super) name: String,
}
