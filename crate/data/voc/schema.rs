//! A VOC XML annotation as serde structs: the elements we read and write (others are ignored).

use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize)]
#[serde(rename = "annotation")]
pub(super) struct VocAnnotation {
    pub(super) filename: String,
    pub(super) size: VocSize,
    #[serde(default, rename = "object")]
    pub(super) objects: Vec<VocObject>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct VocSize {
    pub(super) width: u32,
    pub(super) height: u32,
    #[serde(default = "three")]
    pub(super) depth: u32,
}

fn three() -> u32 {
    3
}

#[derive(Deserialize, Serialize)]
pub(super) struct VocObject {
    pub(super) name: String,
    #[serde(default)]
    pub(super) difficult: u8,
    pub(super) bndbox: VocBndBox,
}

#[derive(Deserialize, Serialize)]
pub(super) struct VocBndBox {
    pub(super) xmin: f64,
    pub(super) ymin: f64,
    pub(super) xmax: f64,
    pub(super) ymax: f64,
}
