//! Where training and evaluation data come from: generated scenes, COCO JSON, or Pascal VOC.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use libra_rcnn::config::DetectorConfig;
use libra_rcnn::data::synthetic::{SCENE_CLASSES, generate_scene};
use libra_rcnn::data::voc::VocClasses;
use libra_rcnn::data::{Annotated, Crowd, Warning, coco, read_image_file, voc};
use libra_rcnn::train::TrainSample;

/// `synthetic:N[:SEED]`, `coco:ANNOTATIONS.json[:IMAGE_DIR]` or `voc:DIR` (DIR/Annotations/*.xml,
/// DIR/JPEGImages/).
#[derive(Clone, Debug)]
pub enum Source {
    Synthetic { count: usize, seed: u64 },
    Coco { json: PathBuf, images: PathBuf },
    Voc { dir: PathBuf },
}

impl std::str::FromStr for Source {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut parts = s.splitn(3, ':');
        let kind = parts.next().unwrap_or_default();
        let a = parts.next();
        let b = parts.next();
        Ok(match (kind, a) {
            ("synthetic", Some(n)) => Source::Synthetic {
                count: n.parse().with_context(|| format!("'{n}' is not a scene count"))?,
                seed: b.map(str::parse).transpose().context("bad seed")?.unwrap_or(0),
            },
            ("coco", Some(json)) => {
                let json = PathBuf::from(json);
                let images = b.map(PathBuf::from).unwrap_or_else(|| json.parent().unwrap_or(Path::new(".")).to_path_buf());
                Source::Coco { json, images }
            }
            ("voc", Some(dir)) => Source::Voc { dir: dir.into() },
            _ => bail!("data source '{s}' is not synthetic:N[:SEED], coco:FILE.json[:IMAGE_DIR] or voc:DIR"),
        })
    }
}

/// Loaded, letterboxed samples with the class names, plus what was skipped or fixed.
pub struct Loaded {
    pub classes: Vec<String>,
    pub samples: Vec<TrainSample>,
    pub warnings: Vec<String>,
}

/// Reads and letterboxes every image; one that fails to decode is reported and skipped.
fn load_images(classes: Vec<String>, items: &[Annotated], dir: &Path, input: u32, mut warnings: Vec<String>) -> Loaded {
    let mut samples = Vec::new();
    for item in items {
        let loaded = read_image_file(&dir.join(&item.image)).and_then(|img| TrainSample::new(&img, &scaled(item, &img), input));
        match loaded {
            Ok(s) => samples.push(s),
            Err(e) => warnings.push(format!("skipped: {e}")),
        }
    }
    Loaded { classes, samples, warnings }
}

/// Annotations are in the declared image size; rescale if the file's real size differs.
fn scaled(a: &Annotated, img: &image::RgbImage) -> Annotated {
    let (sx, sy) = (img.width() as f32 / a.width.max(1) as f32, img.height() as f32 / a.height.max(1) as f32);
    let scale = |b: &[f32; 4]| [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy];
    let boxes = a.boxes.iter().map(scale).collect();
    let areas = a.areas.iter().map(|v| v * f64::from(sx) * f64::from(sy)).collect();
    let crowd = a.crowd.iter().map(|c| Crowd { bbox: scale(&c.bbox), label: c.label }).collect();
    Annotated { boxes, areas, crowd, width: img.width(), height: img.height(), ..a.clone() }
}

fn warn_strings(w: &[Warning]) -> Vec<String> {
    w.iter().map(|w| w.to_string()).collect()
}

/// Loads `src` letterboxed to `cfg.input_size` (generated scenes are made to suit `cfg`).
/// `classes` fixes the class list (held-out data): labels are matched to it by name, and a
/// class it lacks is an error; otherwise the list comes from the data.
pub fn load(src: &Source, cfg: &DetectorConfig, classes: Option<&[String]>) -> Result<Loaded> {
    let input_u = cfg.input_size as u32;
    match src {
        Source::Synthetic { count, seed } => {
            let scene = cfg.scene_config();
            let names: Vec<String> = SCENE_CLASSES.iter().map(|s| s.to_string()).collect();
            let samples = (0..*count)
                .map(|i| {
                    let (img, mut ann) = generate_scene(&scene, seed.wrapping_mul(1_000_000).wrapping_add(i as u64))?;
                    if let Some(to) = classes {
                        relabel(std::slice::from_mut(&mut ann), &names, to)?;
                    }
                    Ok(TrainSample::new(&img, &ann, input_u)?)
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Loaded { classes: classes.map_or(names, <[String]>::to_vec), samples, warnings: vec![] })
        }
        Source::Coco { json, images } => {
            let (mut ds, w) = coco::read_coco_file(json)?;
            if let Some(to) = classes {
                relabel(&mut ds.items, &ds.classes, to).with_context(|| json.display().to_string())?;
                ds.classes = to.to_vec();
            }
            Ok(load_images(ds.classes, &ds.items, images, input_u, warn_strings(&w)))
        }
        Source::Voc { dir } => {
            let ann_dir = dir.join("Annotations");
            let mut files: Vec<PathBuf> = std::fs::read_dir(&ann_dir)
                .with_context(|| format!("reading {}", ann_dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                .collect();
            files.sort();
            let mut known = match classes {
                Some(c) => VocClasses::fixed(c.to_vec()),
                None => VocClasses::collect(),
            };
            let (mut items, mut warnings) = (vec![], vec![]);
            for f in files {
                let (item, w) = voc::read_voc_file(&f, &mut known, false)?;
                items.push(item);
                warnings.extend(warn_strings(&w));
            }
            Ok(load_images(known.names().to_vec(), &items, &dir.join("JPEGImages"), input_u, warnings))
        }
    }
}

/// Rewrites `items`' labels (boxes and crowd regions), indices into `from`, as indices into
/// `to`, matching the classes by name; a labelled class that `to` lacks is an error.
fn relabel(items: &mut [Annotated], from: &[String], to: &[String]) -> Result<()> {
    let map: Vec<Option<usize>> = from.iter().map(|name| to.iter().position(|t| t == name)).collect();
    for item in items {
        for label in item.labels.iter_mut().chain(item.crowd.iter_mut().map(|c| &mut c.label)) {
            *label = map[*label]
                .with_context(|| format!("{}: class {:?} is not one of the training data's classes ({})", item.image, from[*label], to.join(", ")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(labels: Vec<usize>, crowd: Vec<usize>) -> Annotated {
        Annotated {
            image: "a.png".into(),
            width: 10,
            height: 10,
            boxes: vec![[0.0, 0.0, 5.0, 5.0]; labels.len()],
            labels,
            areas: vec![],
            crowd: crowd.into_iter().map(|label| Crowd { bbox: [0.0, 0.0, 9.0, 9.0], label }).collect(),
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn relabel_matches_classes_by_name() {
        let mut items = vec![item(vec![0, 2, 1], vec![2])];
        relabel(&mut items, &names(&["cat", "dog", "bird"]), &names(&["bird", "cat", "dog"])).unwrap();
        assert_eq!(items[0].labels, [1, 0, 2]);
        assert_eq!(items[0].crowd[0].label, 0);
    }

    #[test]
    fn relabel_refuses_a_class_the_training_data_lacks() {
        let mut items = vec![item(vec![0, 1], vec![])];
        let err = relabel(&mut items, &names(&["cat", "circle"]), &names(&["cat"])).unwrap_err().to_string();
        assert!(err.contains("\"circle\" is not one of the training data's classes (cat)"), "{err}");
    }

    #[test]
    fn an_unused_class_is_no_error() {
        let mut items = vec![item(vec![0], vec![])];
        relabel(&mut items, &names(&["cat", "circle"]), &names(&["cat"])).unwrap();
        assert_eq!(items[0].labels, [0]);
    }
}
