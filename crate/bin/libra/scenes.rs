//! `libra scenes`: generated scenes as PNG files with a COCO `annotations.json`, and optionally
//! as one-frame Y4M videos (for a fake webcam).

use std::path::Path;

use anyhow::{Context, Result};
use libra_rcnn::config::DetectorConfig;
use libra_rcnn::data::Dataset;
use libra_rcnn::data::coco::to_coco_json;
use libra_rcnn::data::synthetic::{SCENE_CLASSES, generate_scene};

/// Writes `count` scenes of `size` x `size` px (scene `i` from seed `seed * 1e6 + i`) to `out`.
pub fn run(count: usize, size: usize, seed: u64, out: &Path, y4m: bool) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut det = DetectorConfig::browser(vec![]);
    det.input_size = size;
    let cfg = det.scene_config();
    let mut items = Vec::new();
    for i in 0..count {
        let (img, mut ann) = generate_scene(&cfg, seed.wrapping_mul(1_000_000).wrapping_add(i as u64))?;
        ann.image = format!("scene_{i:04}.png");
        img.save(out.join(&ann.image))?;
        if y4m {
            std::fs::write(out.join(ann.image.replace(".png", ".y4m")), super::y4m::encode(&img))?;
        }
        items.push(ann);
    }
    let classes = SCENE_CLASSES.iter().map(|s| s.to_string()).collect();
    let ds = Dataset { classes, items };
    std::fs::write(out.join("annotations.json"), to_coco_json(&ds)?)?;
    println!("wrote {count} scenes to {}", out.display());
    Ok(())
}
