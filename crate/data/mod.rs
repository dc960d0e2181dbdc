//! Host-side data: annotation readers/writers (COCO JSON, Pascal VOC XML), generated scenes,
//! image transforms, and the network input they become (`tensor`, the only tensors here).
//! Parsing works on `&str`/`&[u8]` (wasm32-friendly); the `*_file` functions are thin `std::fs`
//! wrappers.
//!
//! Box convention everywhere: `[f32; 4]` = (x1, y1, x2, y2) in pixels, continuous coordinates
//! with (0, 0) the top-left corner of the top-left pixel, so width = x2 - x1.
//!
//! Shared by the formats: `dataset` (annotated images), `error`, `validate` (the readers' box
//! checks and warnings), `decode` (images) and `files` (reads naming the path); their public
//! items are re-exported here.

pub mod augment;
pub mod coco;
mod dataset;
mod decode;
mod error;
mod files;
pub mod synthetic;
pub mod tensor;
pub mod tile;
pub mod transform;
mod validate;
pub mod voc;

pub use dataset::{Annotated, Crowd, Dataset};
pub use decode::{MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, decode_image, read_image_file};
pub use error::DataError;
pub use validate::{RawBox, SkipReason, Warning, validate_boxes};
