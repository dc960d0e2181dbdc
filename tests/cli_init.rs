//! `libra train --init` fine-tunes a checkpoint on data with other classes, as the page does:
//! the classes it knows by name keep their classifier and regressor outputs (checked on the
//! tiny preset through the CLI itself), the same seed gives the same run, and `--input` changes
//! the checkpoint's input side.

use std::path::Path;
use std::process::Command;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use libra_rcnn::checkpoint;
use libra_rcnn::model::LibraRcnn;

fn libra(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_libra")).args(args).output().expect("running libra");
    assert!(out.status.success(), "libra {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
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
        libra(&[&["train", "--init", &path("six.lrc"), "--data", &data, val[0], val[1], "--steps", "1", "--batch", "2", "--seed", seed], input, &["--out", &path(out)]].concat())
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
