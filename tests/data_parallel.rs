//! Data-parallel training (`Trainer::with_devices`, `libra train --devices`): a batch split over
//! two or three devices trains as the whole batch on one device. The devices here are the CPU
//! (flex) several times, each share in its own thread on its own fork of the model.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use libra_rcnn::config::DetectorConfig;
use libra_rcnn::data::synthetic::{SCENE_CLASSES, generate_scene};
use libra_rcnn::model::LibraRcnn;
use libra_rcnn::train::{StepReport, TrainConfig, TrainSample, Trainer};

/// Every float parameter, flattened in visiting order.
#[derive(Default)]
struct Weights(Vec<f32>);

impl ModuleVisitor for Weights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.extend(param.val().into_data().try_to_vec::<f32>().expect("f32 weights"));
    }
}

fn weights(m: &LibraRcnn) -> Vec<f32> {
    let mut w = Weights::default();
    m.visit(&mut w);
    w.0
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Two steps of `batch` on one device, then with the batch split over `devices` copies of it,
/// from the same weights: the losses and the weights after each step must agree.
fn split_trains_as_one(batch_size: usize, devices: usize) {
    let dev = Device::flex().autodiff();
    let classes: Vec<String> = SCENE_CLASSES.iter().map(|s| s.to_string()).collect();
    let cfg = DetectorConfig::tiny(classes);
    let scene = cfg.scene_config();
    let batch: Vec<TrainSample> = (0..batch_size as u64)
        .map(|i| {
            let (img, ann) = generate_scene(&scene, i).expect("scene");
            TrainSample::new(&img, &ann, cfg.input_size as u32).expect("sample")
        })
        .collect();
    dev.seed(3);
    let start = cfg.init(&dev).expect("model");
    let w0 = weights(&start);
    // Flips on: the shares must draw them as the whole batch does. SGD, whose step is linear in
    // the gradient: Adam turns a gradient at the level of float noise (a sum in another order)
    // into a step of about lr, and one CI run saw two weights 5.7e-4 apart after Adam's second step.
    let train = TrainConfig { seed: 5, lr: 0.05, warmup_steps: 0, ..TrainConfig::sgd(10, batch_size) };
    let mut one = Trainer::new(start.clone(), train.clone());
    let mut split = Trainer::new(start, train).with_devices(vec![dev.clone(); devices]);
    // Step 0 starts both from the same weights: the same RoIs, losses within float noise. After
    // it the weights differ by float noise (sums in another order), which can move a proposal
    // past a close rival: step 1 allows a few other RoIs and the small differences they make.
    for step in 0..2 {
        let a: StepReport = pollster::block_on(one.step(&batch)).expect("one device");
        let b: StepReport = pollster::block_on(split.step(&batch)).expect("split");
        let (la, lb) = (a.losses, b.losses);
        let loss_tolerance = if step == 0 { 1e-4 } else { 1e-3 };
        for (what, x, y) in [
            ("rpn_cls", la.rpn_cls, lb.rpn_cls),
            ("rpn_reg", la.rpn_reg, lb.rpn_reg),
            ("rcnn_cls", la.rcnn_cls, lb.rcnn_cls),
            ("rcnn_reg", la.rcnn_reg, lb.rcnn_reg),
        ] {
            assert!(x > 0.0 && (x - y).abs() <= loss_tolerance * x, "step {step}, {what}: one device {x}, split over {devices} {y}");
        }
        assert_eq!(a.sampling.len(), batch_size);
        for (i, (sa, sb)) in a.sampling.iter().zip(&b.sampling).enumerate() {
            let (a_rois, b_rois) = ([&sa.sampled.pos[..], &sa.sampled.neg].concat(), [&sb.sampled.pos[..], &sb.sampled.neg].concat());
            let other = a_rois.len().abs_diff(b_rois.len()) + a_rois.iter().zip(&b_rois).filter(|(x, y)| x != y).count();
            let allowed = if step == 0 { 0 } else { a_rois.len() / 10 };
            assert!(
                other <= allowed,
                "step {step}, image {i}: {other} other RoIs sampled (at most {allowed}): {:?} against {:?}",
                (&sa.sampled.pos, &sa.sampled.neg),
                (&sb.sampled.pos, &sb.sampled.neg)
            );
        }
        if step == 0 {
            assert_eq!(a.reg_errors.len(), b.reg_errors.len(), "step 0: as many positive RoIs");
        }
        let (wa, wb) = (weights(&one.model), weights(&split.model));
        let moved = max_diff(&wa, &w0);
        let apart = max_diff(&wa, &wb);
        assert!(moved > 1e-3, "step {step}: the step barely moved the weights ({moved})");
        let weight_tolerance = if step == 0 { 2e-5 } else { 2e-2 * moved };
        assert!(apart < weight_tolerance, "step {step}: weights differ by up to {apart} (a step moves them by up to {moved})");
    }
}

#[test]
fn two_devices_train_as_one() {
    split_trains_as_one(4, 2);
}

#[test]
fn uneven_shares_train_as_one() {
    // Shares of 2, 2 and 1 images, weighted 0.4, 0.4 and 0.2.
    split_trains_as_one(5, 3);
}
