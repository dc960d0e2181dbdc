//! A step whose loss is not finite is skipped and reported, and leaves the weights untouched.

use burn::module::Param;
use burn::tensor::{Device, Tensor};
use image::{Rgb, RgbImage};
use libra_rcnn::checkpoint::to_bytes;
use libra_rcnn::config::DetectorConfig;
use libra_rcnn::train::{Target, TrainConfig, TrainSample, Trainer};

fn sample() -> TrainSample {
    let image = RgbImage::from_fn(64, 64, |x, y| if (16..40).contains(&x) && (20..44).contains(&y) { Rgb([250, 20, 20]) } else { Rgb([20, 90, 30]) });
    TrainSample { image, target: Target { boxes: vec![[16.0, 20.0, 40.0, 44.0]], labels: vec![0] }, areas: vec![], crowd: vec![] }
}

fn trainer(dev: &Device) -> Trainer {
    let model = DetectorConfig::tiny(vec!["red".into()]).init(dev).expect("model");
    Trainer::new(model, TrainConfig { hflip: false, ..TrainConfig::adam(10, 1) })
}

#[test]
fn non_finite_loss_skips_the_update() {
    let dev = Device::flex().autodiff();
    let mut t = trainer(&dev);
    // Poison the classifier's bias: the R-CNN classification loss becomes NaN.
    t.model.bbox_head.cls.bias = Some(Param::from_tensor(Tensor::full([2], f32::NAN, &dev)));
    let before = to_bytes(&t.model).expect("save");
    let r = pollster::block_on(t.step(&[sample()])).expect("step");
    assert!(r.skipped, "a non-finite loss must be reported as skipped: {:?}", r.losses);
    assert!(r.losses.rcnn_cls.is_nan());
    assert_eq!(to_bytes(&t.model).expect("save"), before, "weights changed on a skipped step");

    let mut t = trainer(&dev);
    let before = to_bytes(&t.model).expect("save");
    let r = pollster::block_on(t.step(&[sample()])).expect("step");
    assert!(!r.skipped && r.losses.total.is_finite(), "{:?}", r.losses);
    assert_ne!(to_bytes(&t.model).expect("save"), before, "a good step must update the weights");
}
