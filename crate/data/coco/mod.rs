//! COCO detection JSON (`instances_*.json`): reader and writer.
//!
//! Read: `categories` sorted by `id` give the class indices 0..K (so ids 1, 3, 7 become labels
//! 0, 1, 2); `images` keep file order; each annotation's `bbox` [x, y, w, h] becomes
//! (x, y, x + w, y + h), computed in f64 and then rounded to f32. An annotation's `area` (w * h
//! where absent) goes to [`Annotated::areas`](super::Annotated::areas). `iscrowd = 1` annotations
//! become [`Annotated::crowd`](super::Annotated::crowd) regions as given (not clipped), which
//! training never sees. Fields we do not use (`segmentation`, `info`, ...) are ignored.

mod read;
mod schema;
mod write;

pub use read::{parse_coco, read_coco_file};
pub use write::to_coco_json;
