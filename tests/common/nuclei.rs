//! A second real set for fine-tuning: cell nuclei in the fluorescence micrograph that StarDist
//! ships as its 2-D test image (PyPI `stardist` 0.9.2, BSD-3-Clause; from the 2018 Data Science
//! Bowl, see NOTICE; `tests/run.sh` fetches and unpacks it): 512 x 512 px, 16-bit grey (values
//! 0-235), with an instance label image whose every label is one nucleus. Cut into four 256 px
//! tiles (the network letterboxes them to its input); the bottom-right tile is held out.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use libra_rcnn::data::Annotated;
use libra_rcnn::data::tile::tiles;
use libra_rcnn::weights::cache_dir;

pub const TILE: u32 = 256;

/// One tile: pixels, boxes (label 0: nucleus), and whether it is held out.
pub struct Tile {
    pub image: RgbImage,
    pub ann: Annotated,
    pub held_out: bool,
}

/// Where `tests/run.sh` unpacks the wheel's images, or `LIBRA_NUCLEI`.
fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LIBRA_NUCLEI") {
        return PathBuf::from(dir);
    }
    cache_dir().join("stardist/stardist/data/images")
}

/// A one-page, one-channel 16-bit TIFF: (width, height, values row by row).
fn read_u16_tiff(path: &Path) -> (u32, u32, Vec<u16>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut tiff = tiff::decoder::Decoder::new(std::io::BufReader::new(file)).expect("a TIFF");
    let (w, h) = tiff.dimensions().expect("dimensions");
    match tiff.read_image().expect("pixels") {
        tiff::decoder::DecodingResult::U16(v) if v.len() == (w * h) as usize => (w, h, v),
        _ => panic!("{}: expected one 16-bit channel", path.display()),
    }
}

/// The tight box `[x1, y1, x2, y2]` (pixel edges) of every label of `mask`, by label.
pub fn boxes_of_labels(w: u32, mask: &[u16]) -> Vec<[f32; 4]> {
    let mut boxes = std::collections::BTreeMap::<u16, [u32; 4]>::new();
    for (i, &label) in mask.iter().enumerate().filter(|(_, l)| **l != 0) {
        let (x, y) = (i as u32 % w, i as u32 / w);
        let b = boxes.entry(label).or_insert([x, y, x + 1, y + 1]);
        *b = [b[0].min(x), b[1].min(y), b[2].max(x + 1), b[3].max(y + 1)];
    }
    boxes.values().map(|b| b.map(|v| v as f32)).collect()
}

/// The four tiles, in a fixed order; panics with how to fetch the data if missing.
pub fn tiles_of_nuclei() -> Vec<Tile> {
    let dir = data_dir();
    let (image, mask) = (dir.join("img2d.tif"), dir.join("mask2d.tif"));
    assert!(
        image.exists() && mask.exists(),
        "StarDist's test image is missing under {}: run `pip download stardist==0.9.2 --no-deps --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 -d ~/.cache/libra-rcnn/pypi` and unpack the wheel into ~/.cache/libra-rcnn/stardist, as tests/run.sh does, or set LIBRA_NUCLEI",
        dir.display()
    );
    let (w, h, grey) = read_u16_tiff(&image);
    let (mw, mh, labels) = read_u16_tiff(&mask);
    assert_eq!((w, h), (mw, mh), "the image and its labels differ in size");
    // Values run 0-235: the grey level is the 8-bit value, copied to the three channels.
    let photo = RgbImage::from_fn(w, h, |x, y| {
        let v = grey[(y * w + x) as usize].min(255) as u8;
        Rgb([v, v, v])
    });
    let boxes = boxes_of_labels(w, &labels);
    let ann = Annotated { image: "img2d".into(), width: w, height: h, labels: vec![0; boxes.len()], boxes, areas: vec![], crowd: vec![] };
    let all = tiles(&photo, &ann, TILE);
    let last = all.len() - 1;
    all.into_iter().enumerate().map(|(i, (image, ann))| Tile { image, ann, held_out: i == last }).collect()
}
