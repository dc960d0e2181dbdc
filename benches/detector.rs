//! `cargo bench`: inference and train-step time per image of the `browser` preset at 320 and
//! 512 px, with the model's analytic FLOPs, achieved GFLOP/s, and an sgemm measured in the same
//! run on the same device. CPU (flex) always; wgpu too when `LIBRA_BENCH_WGPU=1`.
//! Weights are random (timing does not depend on them). Median of N runs after one warm-up.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use libra_rcnn::config::DetectorConfig;
use libra_rcnn::data::synthetic::{SCENE_CLASSES, generate_scene};
use libra_rcnn::infer::detect_batch;
use libra_rcnn::model::LibraRcnn;
use libra_rcnn::model::flops::forward_flops;
use libra_rcnn::train::batch::to_tensors;
use libra_rcnn::train::{TrainConfig, TrainSample, Trainer};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds of `f`, median of `n` runs after one warm-up.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    f();
    median((0..n).map(|_| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    }).collect())
}

fn sync<const D: usize>(t: Tensor<D>) {
    pollster::block_on(t.into_data_async()).expect("read");
}

fn sgemm_gflops(dev: &Device, n: usize) -> f64 {
    let a = Tensor::<2>::random([n, n], Distribution::Default, dev);
    let b = Tensor::<2>::random([n, n], Distribution::Default, dev);
    let s = time(5, || sync(a.clone().matmul(b.clone())));
    2.0 * (n * n * n) as f64 / s / 1e9
}

fn bench(name: &str, dev: &Device) {
    println!("## {name}: sgemm 1024^3 {:.1} GFLOP/s", sgemm_gflops(dev, 1024));
    println!("{:>5} {:>10} {:>12} {:>10} {:>16} {:>12} {:>10}", "size", "fwd GFLOP", "infer ms/img", "GFLOP/s", "train GFLOP/img", "train ms/img", "GFLOP/s");
    let classes: Vec<String> = SCENE_CLASSES.iter().map(|s| s.to_string()).collect();
    for size in [320, 512] {
        let mut cfg = DetectorConfig::browser(classes.clone());
        cfg.input_size = size;
        let scene = cfg.scene_config();
        let batch: Vec<TrainSample> = (0..2)
            .map(|i| {
                let (img, ann) = generate_scene(&scene, i).expect("scene");
                TrainSample::new(&img, &ann, size as u32).expect("sample")
            })
            .collect();
        let model = LibraRcnn::new(&cfg, dev).expect("model");
        let (one, _) = to_tensors(&batch[..1], false, 0, dev);
        let infer = time(5, || {
            pollster::block_on(detect_batch(&model, one.clone())).expect("detect");
        });
        let fwd = forward_flops(&model, cfg.rpn.post_nms_test);

        let mut trainer = Trainer::new(LibraRcnn::new(&cfg, &dev.clone().autodiff()).expect("model"), TrainConfig::adam(1000, 2));
        let step = time(3, || {
            pollster::block_on(trainer.step(&batch)).expect("step");
        }) / batch.len() as f64;
        // Backward costs about twice the forward; RoI stage on the sampled RoIs.
        let train = 3.0 * forward_flops(&trainer.model.valid(), cfg.roi.sampler.num);
        println!(
            "{size:>5} {:>10.2} {:>12.1} {:>10.2} {:>16.2} {:>12.1} {:>10.2}",
            fwd / 1e9,
            infer * 1e3,
            fwd / infer / 1e9,
            train / 1e9,
            step * 1e3,
            train / step / 1e9
        );
    }
}

fn main() {
    bench("flex (CPU)", &Device::flex());
    if std::env::var("LIBRA_BENCH_WGPU").is_ok_and(|v| v == "1") {
        match Device::wgpu_options().init() {
            Ok(dev) => bench("wgpu", &dev),
            Err(e) => println!("## wgpu: unavailable ({e:?})"),
        }
    }
}
