//! Fine-tuning on real photos: the page's default model (`browser` preset, ImageNet MobileNetV2,
//! trained on generated shapes) learns tree crowns from DeepForest's four labelled aerial photos
//! (PyPI `deepforest` 2.1.0, MIT; `.ci/run` downloads and unpacks it), cut into 320 px tiles.
//! Held out: every tile of OSBS_029 and SOAP_061 (other forests than the training tiles') and
//! every 5th tile of the two Yellowstone photos. Before fine-tuning the model knows no trees
//! (a fresh one-class head), so held-out AP50 is about 0. Measured here (flex, 2 shared cores,
//! 150 steps of 2 tiles, ~6 min): 0.002 -> 0.293; the bar is 0.2 and a gain of 0.15. Figures
//! are printed (`cargo test --test deepforest -- --nocapture`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Device;
use libra_rcnn::checkpoint;
use libra_rcnn::data::tile::tiles;
use libra_rcnn::data::voc::{VocClasses, read_voc_file};
use libra_rcnn::data::{Annotated, read_image_file};
use libra_rcnn::finetune::{FineTune, FineTuneOptions};

const STEPS: usize = 150;
const TILE: u32 = 320;

/// Where `.ci/run` unpacks the wheel, or `LIBRA_DEEPFOREST` (its `deepforest/data` folder).
fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LIBRA_DEEPFOREST") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("LIBRA_CACHE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/libra-rcnn"));
    cache.join("deepforest/deepforest/data")
}

/// The photo beside `xml` (OSBS_029's annotation names its .tif; the .png is the same picture).
fn photo_of(xml: &Path) -> PathBuf {
    xml.with_extension("png")
}

#[test]
fn fine_tunes_the_default_model_on_tree_crowns() {
    let dir = data_dir();
    let xmls: Vec<PathBuf> = ["2019_YELL_2_528000_4978000_image_crop2", "2019_YELL_2_541000_4977000_image_crop", "OSBS_029", "SOAP_061"]
        .iter()
        .map(|s| dir.join(format!("{s}.xml")))
        .collect();
    assert!(
        xmls.iter().all(|p| p.exists()),
        "DeepForest's sample data is missing under {}: run `pip download deepforest==2.1.0 --no-deps -d ~/.cache/libra-rcnn/pypi` and unpack the wheel into ~/.cache/libra-rcnn/deepforest (`python3 -m zipfile -e <wheel> ~/.cache/libra-rcnn/deepforest`), as .ci/run does, or set LIBRA_DEEPFOREST",
        dir.display()
    );
    let device = Device::flex();
    device.seed(0);
    let model = checkpoint::load(Path::new("web/models/default.lrc"), &device.clone().autodiff()).expect("default model");
    let options = FineTuneOptions { classes: vec!["tree".into()], steps: STEPS, batch_size: 2, seed: 0, ..Default::default() };
    let mut ft = FineTune::new(model, &options).expect("session");

    let (mut train, mut held, mut trees) = (0, 0, 0);
    for xml in &xmls {
        // Tree, Alive, Dead: all tree crowns.
        let (ann, _) = read_voc_file(xml, &mut VocClasses::collect(), true).expect("annotation");
        let ann = Annotated { labels: vec![0; ann.boxes.len()], ..ann };
        let image = read_image_file(&photo_of(xml)).expect("photo");
        let other_site = !xml.file_name().unwrap().to_string_lossy().starts_with("2019_YELL");
        for (i, (tile, tann)) in tiles(&image, &ann, TILE).into_iter().enumerate() {
            let held_out = other_site || i % 5 == 4;
            trees += tann.boxes.len();
            ft.add(&tile, &tann, held_out).expect("tile");
            if held_out { held += 1 } else { train += 1 }
        }
    }
    eprintln!("DeepForest: {train} training tiles, {held} held out, {trees} tree boxes in all");
    assert!(train >= 40 && held >= 15, "tiles: {train} training, {held} held out");

    let start = Instant::now();
    let before = pollster::block_on(ft.evaluate()).expect("eval").expect("held-out tiles").ap50.unwrap_or(0.0);
    let mut first = Vec::new();
    let mut last = Vec::new();
    while !ft.done() {
        let r = pollster::block_on(ft.step()).expect("step");
        assert!(!r.skipped, "step {} had a non-finite loss", r.step);
        if r.step < 10 { first.push(r.losses.total) }
        if r.step >= STEPS - 10 { last.push(r.losses.total) }
    }
    let after = pollster::block_on(ft.evaluate()).expect("eval").expect("held-out tiles");
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    eprintln!(
        "DeepForest: held-out AP50 {before:.3} -> {:.3} (AP {:.3}) after {STEPS} steps of 2 tiles in {:.0} s; loss {:.3} -> {:.3} (mean of first/last 10 steps)",
        after.ap50.unwrap_or(0.0),
        after.ap.unwrap_or(0.0),
        start.elapsed().as_secs_f32(),
        mean(&first),
        mean(&last)
    );
    assert!(mean(&last) < 0.8 * mean(&first), "loss {:.3} -> {:.3}", mean(&first), mean(&last));
    assert!(after.ap50.unwrap_or(0.0) >= 0.2 && after.ap50.unwrap_or(0.0) > before + 0.15, "held-out AP50 {before:.3} -> {:?}", after.ap50);
}
