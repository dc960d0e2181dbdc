//! Checkpoints round-trip exactly, and bad files give clear errors.

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use image::RgbImage;
use libra_rcnn::checkpoint::{SAFETENSORS_CONFIG_KEY, from_bytes, to_bytes, to_bytes_async, to_bytes_with, to_safetensors};
use libra_rcnn::config::DetectorConfig;
use libra_rcnn::infer::detect;
use libra_rcnn::model::LibraRcnn;

fn model(dev: &Device) -> LibraRcnn {
    let mut cfg = DetectorConfig::tiny(vec!["a".into(), "b".into()]);
    cfg.test.score_thr = 0.0;
    cfg.init(dev).expect("model")
}

#[test]
fn round_trip_gives_identical_detections() {
    let dev = Device::flex();
    let m = model(&dev);
    let img = RgbImage::from_fn(80, 60, |x, y| image::Rgb([(x * 3) as u8, (y * 4) as u8, ((x + y) * 2) as u8]));
    let a = pollster::block_on(detect(&m, &img)).expect("detect");
    let back = from_bytes(&to_bytes(&m).expect("save"), &dev).expect("load");
    let b = pollster::block_on(detect(&back, &img)).expect("detect");
    assert!(!a.is_empty(), "score threshold 0 should give detections");
    assert_eq!(a, b);
    assert_eq!(back.config, m.config);
}

/// The page's way to save (one async read of every parameter, then the CPU writer) gives the
/// same file as the CPU writer itself, also for a model under training (autodiff device) whose
/// BFP is off and whose head was replaced (as after fine-tuning on new classes).
#[test]
fn async_save_equals_sync_save() {
    use burn::module::Module;
    let dev = Device::flex();
    let m = model(&dev.clone().autodiff()).with_classes(&["x".into(), "y".into(), "z".into()], &dev.clone().autodiff()).expect("classes");
    let m = m.with_balance(libra_rcnn::Balance { iou_balanced: true, bfp: false, balanced_l1: true }, &dev.clone().autodiff());
    for half in [false, true] {
        let sync = to_bytes_with(&m.valid(), half).expect("sync save");
        let from_async = pollster::block_on(to_bytes_async(&m, half)).expect("async save");
        assert_eq!(from_async, sync, "half = {half}");
    }
    let back = from_bytes(&pollster::block_on(to_bytes_async(&m, false)).expect("save"), &dev).expect("load");
    assert_eq!(back.config.classes, vec!["x", "y", "z"]);
    assert!(back.bfp.is_none());
}

#[test]
fn half_precision_halves_the_file_and_keeps_detections_close() {
    let dev = Device::flex();
    let m = model(&dev);
    let full = to_bytes(&m).expect("save f32");
    let half = to_bytes_with(&m, true).expect("save f16");
    // Conv/linear weights dominate the tiny model; all of them go to 2 bytes.
    assert!((half.len() as f64) < 0.6 * full.len() as f64, "f16 {} vs f32 {} bytes", half.len(), full.len());
    let img = RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 128]));
    let a = pollster::block_on(detect(&m, &img)).expect("detect");
    let back = from_bytes(&half, &dev).expect("load f16");
    let b = pollster::block_on(detect(&back, &img)).expect("detect");
    // f16 keeps ~3 decimal digits of each weight: the top detections agree to about 1e-2.
    let top = |d: &[libra_rcnn::infer::NamedDetection]| d.iter().map(|d| d.score).fold(0.0f32, f32::max);
    assert!((top(&a) - top(&b)).abs() < 2e-2, "top score {} vs {}", top(&a), top(&b));
    assert_ne!(full, half);
}

#[test]
fn bad_files_are_reported() {
    let dev = Device::flex();
    let bytes = to_bytes(&model(&dev)).expect("save");
    let err = |b: &[u8]| from_bytes(b, &dev).expect_err("must fail").to_string();
    assert!(err(b"PNG not a model").contains("not a Libra R-CNN checkpoint"));
    assert!(err(&bytes[..bytes.len() / 2]).contains("weights"));
    // Same header, a model with more classes: shapes no longer fit.
    let mut other = DetectorConfig::tiny(vec!["a".into(), "b".into(), "c".into()]);
    other.test.score_thr = 0.0;
    let json = serde_json::to_vec(&other).unwrap();
    let old_len = u32::from_le_bytes(bytes[10..14].try_into().unwrap()) as usize;
    let mut swapped = bytes[..10].to_vec();
    swapped.extend_from_slice(&(json.len() as u32).to_le_bytes());
    swapped.extend_from_slice(&json);
    swapped.extend_from_slice(&bytes[14 + old_len..]);
    let msg = err(&swapped);
    assert!(msg.contains("do not fit") || msg.contains("corrupt"), "{msg}");
}

#[test]
fn safetensors_round_trip_gives_identical_detections() {
    let dev = Device::flex();
    let m = model(&dev);
    let img = RgbImage::from_fn(80, 60, |x, y| image::Rgb([(x * 5) as u8, (y * 2) as u8, 90]));
    let a = pollster::block_on(detect(&m, &img)).expect("detect");
    let bytes = to_safetensors(&m, false).expect("save");
    // A plain safetensors file: the u64 header length, then a JSON header.
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).expect("safetensors header is JSON");
    assert!(header["__metadata__"][SAFETENSORS_CONFIG_KEY].is_string(), "config in the metadata");
    let back = from_bytes(&bytes, &dev).expect("load");
    assert_eq!(back.config, m.config);
    assert_eq!(a, pollster::block_on(detect(&back, &img)).expect("detect"));
    let half = to_safetensors(&m, true).expect("save f16");
    assert!((half.len() as f64) < 0.6 * bytes.len() as f64, "f16 {} vs f32 {} bytes", half.len(), bytes.len());
    from_bytes(&half, &dev).expect("load f16");
}

#[test]
fn bad_safetensors_files_are_reported() {
    let dev = Device::flex();
    let m = model(&dev);
    let err = |b: &[u8]| from_bytes(b, &dev).expect_err("must fail").to_string();
    // Safetensors written by another tool: no config to build the model from.
    let mut store = SafetensorsStore::from_bytes(None);
    m.save_into(&mut store).expect("save");
    let msg = err(&store.get_bytes().expect("bytes"));
    assert!(msg.contains(SAFETENSORS_CONFIG_KEY), "{msg}");
    let bytes = to_safetensors(&m, false).expect("save");
    let msg = err(&bytes[..bytes.len() - 100]);
    assert!(msg.contains("not a Libra R-CNN checkpoint") || msg.contains("corrupt"), "{msg}");
}
