//! `libra train --init` fine-tunes a checkpoint on data with other classes, as the page does:
//! the classes it knows by name keep their classifier and regressor outputs (checked on the
//! tiny preset through the CLI itself), the same seed gives the same run, and `--input` changes
//! the checkpoint's input side. Held-out data (`--val`) is matched to the training classes by name;
//! `eval` and `detect` handle what a user's files can throw at them.

use std::path::Path;
use std::process::Command;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use libra_rcnn::checkpoint;
use libra_rcnn::model::LibraRcnn;

fn libra(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_libra")).args(args).output().expect("running libra");
    assert!(out.status.success(), "libra {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Every float parameter and buffer of `model`, in visiting order.
fn values(model: &LibraRcnn) -> Vec<Vec<f32>> {
    struct Values(Vec<Vec<f32>>);
    impl ModuleVisitor for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap());
        }
    }
    let mut v = Values(Vec::new());
    model.visit(&mut v);
    v.0
}

#[test]
fn init_fine_tunes_a_checkpoint_on_other_classes() {
    let dir = std::env::temp_dir().join(format!("libra-cli-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let common = ["--preset", "tiny", "--pretrained", "false", "--batch", "2", "--val", "synthetic:2:3"];
    libra(&[&["train", "--data", "synthetic:6", "--steps", "2", "--out", &path("six.lrc")][..], &common].concat());

    // The generated scenes' COCO file with two classes renamed: "star" is still known, "tree"
    // and "bush" are new to the checkpoint.
    libra(&["scenes", "--count", "4", "--size", "64", "--seed", "3", "--out", &path("scenes")]);
    let coco = std::fs::read_to_string(dir.join("scenes/annotations.json")).unwrap();
    let renamed = coco.replace("\"ellipse\"", "\"tree\"").replace("\"rectangle\"", "\"bush\"");
    assert_ne!(renamed, coco, "the scenes' COCO file names its classes");
    std::fs::write(dir.join("scenes/renamed.json"), renamed).unwrap();
    let data = format!("coco:{}:{}", path("scenes/renamed.json"), path("scenes"));
    let val = ["--val", &data];
    libra(&["train", "--init", &path("six.lrc"), "--data", &data, val[0], val[1], "--steps", "1", "--batch", "2", "--out", &path("tuned.lrc")]);

    let dev = Device::flex();
    let old = checkpoint::load(Path::new(&path("six.lrc")), &dev).unwrap();
    let new = checkpoint::load(Path::new(&path("tuned.lrc")), &dev).unwrap();
    let classes = ["tree", "bush", "triangle", "ring", "cross", "star"];
    assert_eq!(new.config.classes, classes.map(String::from));
    assert_eq!(old.config.classes[5], "star");
    // One step of Adam (rate 2e-3, less in the warm-up) moves each weight by about the rate at
    // most: the known classes' outputs stay within 5e-3 of the checkpoint's. The new ones are
    // fresh draws from N(0, 0.01): their largest gap over 64 rows is about 0.03.
    let cls = |m: &LibraRcnn| m.bbox_head.cls.weight.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let (o, n) = (cls(&old), cls(&new));
    let width = classes.len() + 1;
    let column_gap = |c: usize| (0..o.len() / width).map(|r| (o[r * width + c] - n[r * width + c]).abs()).fold(0.0f32, f32::max);
    for known in 2..6 {
        assert!(column_gap(known) < 5e-3, "class {} kept its classifier output (gap {})", classes[known], column_gap(known));
    }
    assert!(column_gap(0) > 1e-2 && column_gap(1) > 1e-2, "new classes start afresh (gaps {} and {})", column_gap(0), column_gap(1));

    // Same seed, same run (new outputs included); another seed and --input give other new
    // outputs and the input side asked for.
    let tune = |seed: &str, input: &[&str], out: &str| {
        libra(
            &[
                &["train", "--init", &path("six.lrc"), "--data", &data, val[0], val[1], "--steps", "1", "--batch", "2", "--seed", seed],
                input,
                &["--out", &path(out)],
            ]
            .concat(),
        );
    };
    tune("0", &[], "again.lrc");
    // (The files themselves differ: burn writes a random id per new parameter.)
    let again = checkpoint::load(Path::new(&path("again.lrc")), &dev).unwrap();
    assert!(values(&again) == values(&new), "the same run twice gave other weights");
    tune("1", &["--input", "128"], "other.lrc");
    let other = checkpoint::load(Path::new(&path("other.lrc")), &dev).unwrap();
    assert_eq!((old.config.input_size, other.config.input_size), (64, 128));
    assert_ne!(cls(&other)[..width], n[..width], "seed 1 draws other new outputs");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The generated scenes' COCO file with its categories changed by `f` (the annotations' ids follow
/// the map `f` returns: old id -> new id).
fn recategorised(coco: &str, f: impl Fn(&mut Vec<serde_json::Value>) -> Vec<(u64, u64)>) -> String {
    let mut v: serde_json::Value = serde_json::from_str(coco).unwrap();
    let ids = f(v["categories"].as_array_mut().unwrap());
    for a in v["annotations"].as_array_mut().unwrap() {
        let old = a["category_id"].as_u64().unwrap();
        a["category_id"] = ids.iter().find(|(o, _)| *o == old).unwrap().1.into();
    }
    v.to_string()
}

#[test]
fn held_out_data_is_matched_to_the_training_classes_by_name() {
    let dir = std::env::temp_dir().join(format!("libra-cli-val-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    libra(&["scenes", "--count", "4", "--size", "64", "--seed", "5", "--out", &path("scenes")]);
    let coco = std::fs::read_to_string(dir.join("scenes/annotations.json")).unwrap();
    let write = |name: &str, json: String| {
        std::fs::write(dir.join("scenes").join(name), json).unwrap();
        format!("coco:{}:{}", path(&format!("scenes/{name}")), path("scenes"))
    };
    let train = |data: &str, val: &[&str], out: &str| {
        let out = path(out);
        let args =
            [&["train", "--preset", "tiny", "--pretrained", "false", "--steps", "1", "--batch", "2", "--data", data][..], val, &["--out", &out]].concat();
        Command::new(env!("CARGO_BIN_EXE_libra")).args(&args).output().expect("running libra")
    };

    // One class of the user's own and no --val: trained and written, AP said to be unmeasured
    // (generated scenes, the default held-out set of generated data, have other classes).
    let one = write(
        "one.json",
        recategorised(&coco, |cats| {
            let ids = cats.iter().map(|c| (c["id"].as_u64().unwrap(), 1)).collect();
            *cats = vec![serde_json::json!({"id": 1, "name": "object"})];
            ids
        }),
    );
    let out = train(&one, &[], "one.lrc");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no held-out data (--val): AP not measured"));
    assert!(dir.join("one.lrc").exists());
    let out = train(&one, &["--eval-every", "1"], "every.lrc");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--eval-every measures AP50 on held-out data: give it with --val"), "{err}");
    // Held-out data with a class the training data lacks: refused before training.
    let out = train(&one, &["--val", "synthetic:2"], "refused.lrc");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("is not one of the training data's classes (object)"), "{err}");
    assert!(!dir.join("refused.lrc").exists());

    // The same held-out scenes with their categories numbered and listed the other way round
    // measure the same AP: labels follow the names, not the positions.
    let same = write("same.json", coco.clone());
    let reversed = write(
        "reversed.json",
        recategorised(&coco, |cats| {
            cats.reverse();
            let n = cats.len() as u64;
            cats.iter_mut()
                .map(|c| {
                    let old = c["id"].as_u64().unwrap();
                    c["id"] = (n + 1 - old).into();
                    (old, n + 1 - old)
                })
                .collect()
        }),
    );
    let held_out = |val: &str, out: &str| {
        let o = train(&same, &["--val", val], out);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).lines().find(|l| l.starts_with("held-out")).expect("a held-out row").to_owned()
    };
    let (a, b) = (held_out(&same, "a.lrc"), held_out(&reversed, "b.lrc"));
    assert_eq!(a, b, "held-out AP with the categories in file order and reversed");

    // `libra eval` on data none of whose images load says so; `libra detect` of several photos
    // into a folder that does not exist yet makes it.
    let gone = write("gone.json", coco.replace(".png\"", ".missing.png\""));
    let out = Command::new(env!("CARGO_BIN_EXE_libra")).args(["eval", "--model", &path("a.lrc"), "--data", &gone]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no images could be loaded to evaluate on"), "{err}");
    let drawn = dir.join("drawn/boxes");
    libra(&["detect", "--model", &path("a.lrc"), &path("scenes/scene_0000.png"), &path("scenes/scene_0001.png"), "--out", drawn.to_str().unwrap()]);
    assert!(drawn.join("0000.png").exists() && drawn.join("0001.png").exists(), "both pictures drawn into the new folder");
    std::fs::remove_dir_all(&dir).unwrap();
}
