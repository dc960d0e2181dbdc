//! DeepForest's four labelled aerial photos (PyPI `deepforest` 2.1.0, MIT; `tests/run.sh`
//! fetches and unpacks it) as 320 px tiles of tree crowns, for the fine-tuning test and bench.
//! Held out: every tile of OSBS_029 and SOAP_061 (other forests than the training tiles') and
//! every 5th tile of the two Yellowstone photos.

use std::path::{Path, PathBuf};

use image::RgbImage;
use libra_rcnn::data::tile::tiles;
use libra_rcnn::data::voc::{VocClasses, read_voc_file};
use libra_rcnn::data::{Annotated, read_image_file};
use libra_rcnn::weights::cache_dir;

pub const TILE: u32 = 320;

/// One tile: pixels, boxes (label 0: tree), whether it is held out, and whether it comes from
/// another forest than the training tiles (OSBS_029, SOAP_061).
pub struct Tile {
    pub image: RgbImage,
    pub ann: Annotated,
    pub held_out: bool,
    pub other_forest: bool,
}

/// Where `tests/run.sh` unpacks the wheel, or `LIBRA_DEEPFOREST` (its `deepforest/data` folder).
fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LIBRA_DEEPFOREST") {
        return PathBuf::from(dir);
    }
    cache_dir().join("deepforest/deepforest/data")
}

/// The photo beside `xml` (OSBS_029's annotation names its .tif; the .png is the same picture).
fn photo_of(xml: &Path) -> PathBuf {
    xml.with_extension("png")
}

/// Every tile of the four photos, in a fixed order; panics with how to fetch the data if missing.
pub fn tiles_of_trees() -> Vec<Tile> {
    let dir = data_dir();
    let xmls: Vec<PathBuf> = ["2019_YELL_2_528000_4978000_image_crop2", "2019_YELL_2_541000_4977000_image_crop", "OSBS_029", "SOAP_061"]
        .iter()
        .map(|s| dir.join(format!("{s}.xml")))
        .collect();
    assert!(
        xmls.iter().all(|p| p.exists()),
        "DeepForest's sample data is missing under {}: run `pip download deepforest==2.1.0 --no-deps -d ~/.cache/libra-rcnn/pypi` and unpack the wheel into ~/.cache/libra-rcnn/deepforest (`python3 -m zipfile -e <wheel> ~/.cache/libra-rcnn/deepforest`), as tests/run.sh does, or set LIBRA_DEEPFOREST",
        dir.display()
    );
    let mut out = Vec::new();
    for xml in &xmls {
        // Tree, Alive, Dead: all tree crowns.
        let (ann, _) = read_voc_file(xml, &mut VocClasses::collect(), true).expect("annotation");
        let ann = Annotated { labels: vec![0; ann.boxes.len()], ..ann };
        let image = read_image_file(&photo_of(xml)).expect("photo");
        let other_site = !xml.file_name().unwrap().to_string_lossy().starts_with("2019_YELL");
        for (i, (image, ann)) in tiles(&image, &ann, TILE).into_iter().enumerate() {
            out.push(Tile { image, ann, held_out: other_site || i % 5 == 4, other_forest: other_site });
        }
    }
    out
}
