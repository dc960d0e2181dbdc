//! Pascal VOC XML annotations (one file per image): reader and writer.
//!
//! VOC pixel coordinates are 1-based and inclusive: `<xmin>1</xmin><xmax>10</xmax>` covers the
//! first ten pixel columns. In our continuous convention that is x1 = xmin - 1, x2 = xmax
//! (so x1 = 0, x2 = 10, width 10); the same for y. The writer does the inverse. Arithmetic is
//! done in f64 so a write/read round trip reproduces f32 boxes exactly.

mod read;
mod schema;
mod write;

pub use read::{VocClasses, parse_voc, parse_voc_dataset, read_voc_file};
pub use write::to_voc_xml;
