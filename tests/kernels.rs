//! Our WGSL kernels through burn on a native wgpu device (lavapipe, Mesa's Vulkan on the CPU, in
//! CI) against the tensor-op reference on the CPU backend (flex): forward, gradients, attention
//! rows, the fallbacks, and the detector's outputs and a short training run with and without them.
//!
//! Tolerances: the kernels and the reference both sum in f32 but in different orders (online
//! softmax over 32-column tiles vs. a whole-row softmax, matmuls over other blockings), so
//! results agree to a few ulps times the length of the sums: relative 1e-4 of the largest output
//! for attention and gradients (what the browser test measured: <= 8e-6), 1e-3 for detector
//! scores after 30+ layers, and loss curves within 1e-3 relative over a few steps.

use std::sync::OnceLock;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use libra_rcnn::attention::{attention_matrix, reference_attention as reference};
use libra_rcnn::boxes::BBox;
use libra_rcnn::config::NonLocalInit;
use libra_rcnn::data::synthetic::random_boxes;
use libra_rcnn::kernels::wgsl::launches;
use libra_rcnn::kernels::{self, KernelPlan, Kernels, non_local_plan};
use libra_rcnn::model::non_local::NonLocalConfig;

/// The wgpu device, initialised once for the process.
fn wgpu() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            Device::wgpu_options().init().unwrap_or_else(|e| {
                panic!("no wgpu device ({e:?}): install a Vulkan driver; on Debian, lavapipe: apt-get install -y mesa-vulkan-drivers libvulkan1")
            })
        })
        .clone()
}

fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec().expect("f32")
}

/// Largest |got - want| over the largest |want| (1 when want is all zeros).
fn rel_err(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len(), "lengths");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
    got.iter().zip(want).fold(0f32, |m, (g, w)| m.max((g - w).abs())) / scale
}

/// The same random `[b, n, c]` values on both devices.
fn pair(dims: [usize; 3], std: f64, gpu: &Device, cpu: &Device) -> (Tensor<3>, Tensor<3>) {
    let t = Tensor::<3>::random(dims, Distribution::Normal(0.0, std), cpu);
    (Tensor::from_data(t.to_data(), gpu), t)
}

#[test]
fn fused_forward_matches_the_reference() {
    let (gpu, cpu) = (wgpu(), Device::flex());
    // N = 1, not tile multiples (37, 130), P4 of a 320 px input (400); C from 1 to 256.
    for (b, n, c) in [(1, 1, 8), (2, 37, 1), (2, 130, 64), (1, 400, 256), (3, 64, 33)] {
        let plan = non_local_plan(&KernelPlan::new(Kernels::Fused), &gpu, [b, n, c]);
        plan.expect("the kernels fit lavapipe");
        let (tg, tc) = pair([b, n, c], 0.5, &gpu, &cpu);
        let (pg, pc) = pair([b, n, c], 0.5, &gpu, &cpu);
        let (gg, gc) = pair([b, n, c], 1.0, &gpu, &cpu);
        let got = read(kernels::non_local::attention(tg, pg, gg));
        let want = read(reference(tc, pc, gc));
        let err = rel_err(&got, &want);
        eprintln!("forward b={b} n={n} c={c}: rel err {err:.2e}");
        assert!(err <= 1e-4, "b={b} n={n} c={c}: relative error {err}");
    }
}

#[test]
fn fused_gradients_match_the_reference_autodiff() {
    let (gpu, cpu) = (wgpu().autodiff(), Device::flex().autodiff());
    for (b, n, c) in [(1, 1, 4), (2, 37, 16), (1, 130, 64), (2, 100, 256)] {
        let ins: Vec<(Tensor<3>, Tensor<3>)> = [0.5, 0.5, 1.0].iter().map(|&s| pair([b, n, c], s, &gpu, &cpu)).collect();
        let (w_gpu, w_cpu) = pair([b, n, c], 1.0, &gpu, &cpu);
        let gpu_in: Vec<Tensor<3>> = ins.iter().map(|(g, _)| g.clone().require_grad()).collect();
        let cpu_in: Vec<Tensor<3>> = ins.iter().map(|(_, c)| c.clone().require_grad()).collect();
        let y = kernels::non_local::attention(gpu_in[0].clone(), gpu_in[1].clone(), gpu_in[2].clone());
        let grads_gpu = (y * w_gpu).sum().backward();
        let y = reference(cpu_in[0].clone(), cpu_in[1].clone(), cpu_in[2].clone());
        let grads_cpu = (y * w_cpu).sum().backward();
        for (k, name) in ["theta", "phi", "g"].iter().enumerate() {
            let got = read(gpu_in[k].grad(&grads_gpu).unwrap_or_else(|| panic!("no gradient for {name}")));
            let want = read(cpu_in[k].grad(&grads_cpu).expect("reference gradient"));
            let err = rel_err(&got, &want);
            eprintln!("d{name} b={b} n={n} c={c}: rel err {err:.2e}");
            assert!(err <= 1e-4, "d{name} b={b} n={n} c={c}: relative error {err}");
        }
    }
}

#[test]
fn attention_rows_match_the_reference() {
    let (gpu, cpu) = (wgpu(), Device::flex());
    let (b, n, c) = (2, 130, 64);
    let (tg, tc) = pair([b, n, c], 0.5, &gpu, &cpu);
    let (pg, pc) = pair([b, n, c], 0.5, &gpu, &cpu);
    let idx = [0u32, 129, 31, 32, 77];
    let got = read(kernels::non_local::attention_rows(tg, pg, &idx));
    let full = attention_matrix(tc, pc);
    let want: Vec<f32> =
        (0..b).flat_map(|bi| idx.iter().map(move |&i| (bi, i as usize))).flat_map(|(bi, i)| read(full.clone().slice([bi..bi + 1, i..i + 1, 0..n]))).collect();
    let err = rel_err(&got, &want);
    eprintln!("attention rows: rel err {err:.2e}");
    assert!(err <= 1e-4, "relative error {err}");
}

/// Inputs the kernels cannot take, and the setting, fall back with a reason; CPU devices have
/// no kernel (no reason to log); the block then gives the reference's result on wgpu too.
#[test]
fn fallbacks_say_why_and_give_the_reference_result() {
    let gpu = wgpu();
    let (auto, fused) = (KernelPlan::default(), KernelPlan::new(Kernels::Fused));
    assert_eq!(non_local_plan(&auto, &Device::flex(), [1, 16, 8]), Err(None));
    // Auto: below a 64 MiB attention matrix whichever `tune` measured faster (the reference when
    // it did not run; nothing to log), the kernels from there.
    let fused_faster = auto.tuned.is_some_and(|t| t.fused_faster());
    assert_eq!(non_local_plan(&auto, &gpu, [1, 4095, 64]), if fused_faster { Ok(()) } else { Err(None) });
    assert_eq!(non_local_plan(&auto, &gpu, [1, 4096, 64]), Ok(()));
    assert_eq!(non_local_plan(&auto, &gpu, [4, 2048, 64]), Ok(()));
    let too_wide = non_local_plan(&fused, &gpu, [1, 16, 300]).expect_err("300 channels").expect("a reason");
    assert!(too_wide.contains("300 channels"), "{too_wide}");
    let huge = non_local_plan(&fused, &gpu, [64, 1 << 20, 256]).expect_err("64 GiB input").expect("a reason");
    assert!(huge.contains("binding size limit"), "{huge}");
    assert_eq!(non_local_plan(&fused, &gpu, [1, 16, 8]), Ok(()));
    let forced = non_local_plan(&KernelPlan::new(Kernels::Reference), &gpu, [1, 1 << 14, 8]).expect_err("forced").expect("a reason");
    assert!(forced.contains("kernels = reference"), "{forced}");

    // A 300-channel block runs (on the reference path, even when fused is asked for) and matches
    // the CPU.
    gpu.seed(3);
    let block = NonLocalConfig::new(300).with_initializer(NonLocalInit::Xavier2019).init(&gpu);
    let x = Tensor::<4>::random([1, 300, 5, 7], Distribution::Normal(0.0, 0.1), &gpu);
    let before = launches();
    let got = read(block.forward(x.clone(), &fused));
    assert_eq!(launches(), before, "no kernel for 300 channels");
    let cpu = Device::flex();
    let want = read(block.to_device(&cpu).forward(x.to_device(&cpu), &auto));
    assert!(rel_err(&got, &want) <= 1e-4);
}

/// Runs `f` with a plan that forces the kernels (Fused) and with one that forces the reference;
/// checks that the first run launched our kernels and the second none.
fn both<T>(f: impl Fn(KernelPlan) -> T) -> (T, T) {
    let start = launches();
    let fused = f(KernelPlan::new(Kernels::Fused));
    let mid = launches();
    let reference = f(KernelPlan::new(Kernels::Reference));
    assert!(mid > start, "the fused run launched no kernel");
    assert_eq!(launches(), mid, "the reference run launched kernels");
    (fused, reference)
}

/// The page's default model on a sample scene: the same detections with and without the kernels.
#[test]
fn detector_outputs_are_unchanged() {
    let gpu = wgpu();
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/web/models/default.lrc")).expect("web/models/default.lrc");
    let model = libra_rcnn::checkpoint::from_bytes(&bytes, &gpu).expect("default model");
    assert!(model.bfp.as_ref().and_then(|b| b.non_local()).is_some(), "the default model has a non-local block");
    let image = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/web/samples/scene_0001.png")).expect("sample").to_rgb8();
    let (fused, reference) = both(|plan| pollster::block_on(libra_rcnn::infer::detect(&model.clone().with_kernels(plan), &image)).expect("detect"));
    eprintln!("detections: {} fused, {} reference", fused.len(), reference.len());
    assert!(!reference.is_empty(), "the default model finds something in a sample scene");
    assert_eq!(fused.len(), reference.len(), "{fused:?}\n{reference:?}");
    for (a, b) in fused.iter().zip(&reference) {
        assert_eq!(a.class, b.class);
        assert!((a.score - b.score).abs() <= 1e-3, "score {} vs {}", a.score, b.score);
        let d = a.bbox.iter().zip(&b.bbox).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(d <= 0.05, "box {:?} vs {:?}", a.bbox, b.bbox);
    }
}

/// Five training steps of the tiny preset (non-local BFP) on generated scenes: the same losses.
#[test]
fn short_training_is_unchanged() {
    use libra_rcnn::config::DetectorConfig;
    use libra_rcnn::data::synthetic::{SCENE_CLASSES, generate_scene};
    use libra_rcnn::train::{TrainConfig, TrainSample, Trainer};
    let cfg = DetectorConfig::tiny(SCENE_CLASSES.iter().map(|s| s.to_string()).collect());
    let samples: Vec<TrainSample> = (0..4)
        .map(|i| {
            let (img, ann) = generate_scene(&cfg.scene_config(), 500 + i).expect("scene");
            TrainSample::new(&img, &ann, cfg.input_size as u32).expect("sample")
        })
        .collect();
    let gpu = wgpu().autodiff();
    gpu.seed(7);
    let init = cfg.init(&gpu).expect("model");
    let (fused, reference) = both(|plan| {
        let mut trainer = Trainer::new(init.clone().with_kernels(plan), TrainConfig::adam(5, 2));
        (0..5).map(|s| pollster::block_on(trainer.step(&samples[(s * 2) % 4..(s * 2) % 4 + 2])).expect("step").losses.total).collect::<Vec<f32>>()
    });
    eprintln!("losses fused {fused:.9?}\n       reference {reference:.9?}");
    for (a, b) in fused.iter().zip(&reference) {
        assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{fused:?} vs {reference:?}");
    }
}

/// The check the page and the CLI run before trusting the kernels on a device passes here and
/// launches them.
#[test]
fn self_test_passes_on_lavapipe() {
    let before = launches();
    let checked = pollster::block_on(kernels::self_test(&KernelPlan::default(), &wgpu()));
    checked.clone().expect("self-test");
    assert!(launches() >= before + 4, "forward, rows and cols, attention rows");
    let plan = KernelPlan::default().checked(checked);
    assert_eq!(plan.mode, Kernels::Auto);
    let (active, text) = kernels::describe(&plan, &wgpu());
    assert!(active, "{text}");
    assert_eq!(kernels::describe(&plan, &Device::flex()), (false, "tensor ops (the CPU backend)".to_string()));
}

/// IoU, max-IoU assignment and the negatives' histogram against the host on random boxes (2000
/// x 50, as a training image), no GT, one GT, all IoU 0, duplicate GTs (ties) and boxes exactly
/// on a bin edge. IoU: 1e-6 absolute (one division of f32 products, both sides); argmax exact.
#[test]
fn sampler_statistics_match_the_host() {
    use libra_rcnn::kernels::sampler::{iou_stats, iou_stats_host};
    let gpu = wgpu();
    let far = vec![[1000.0, 1000.0, 1010.0, 1010.0]];
    let gts = random_boxes(50, 2);
    let dup = vec![gts[3], gts[3], gts[7]];
    // IoU with [0, 0, 10, 10]: 0.5 (= neg_thr: not a negative), 0.2 and 0.1 (bin edges 2 and 1
    // of 5 over [0, 0.5)), 0.25 (inside bin 2).
    let edge = vec![[0.0, 0.0, 10.0, 5.0], [0.0, 0.0, 10.0, 2.0], [0.0, 0.0, 10.0, 1.0], [0.0, 0.0, 10.0, 2.5]];
    type Case = (&'static str, Vec<BBox>, Vec<BBox>);
    let cases: Vec<Case> = vec![
        ("2000 x 50", random_boxes(2000, 1), gts.clone()),
        ("no GT", random_boxes(300, 3), vec![]),
        ("one GT", random_boxes(300, 4), vec![gts[0]]),
        ("all IoU 0", random_boxes(300, 5), far),
        ("ties", random_boxes(300, 6), dup),
        ("bin edges", edge, vec![[0.0, 0.0, 10.0, 10.0]]),
    ];
    for (name, props, gt) in cases {
        let got = pollster::block_on(iou_stats(&KernelPlan::default(), &gpu, &props, &gt, 5, 0.5)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let want = iou_stats_host(&props, &gt, 5, 0.5);
        let err = got.max_iou.iter().zip(&want.max_iou).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err <= 1e-6, "{name}: max IoU error {err}");
        assert_eq!(got.argmax, want.argmax, "{name}: argmax");
        assert_eq!(got.hist, want.hist, "{name}: histogram");
        assert_eq!(got.hist.iter().sum::<u32>() as usize, want.max_iou.iter().filter(|v| **v < 0.5).count(), "{name}");
    }
    // The host's histogram itself, by hand: IoU 0.25 -> bin floor(0.25 / 0.5 * 5) = 2; 0.5 -> none.
    assert_eq!(iou_stats_host(&[[0.0, 0.0, 10.0, 2.5], [0.0, 0.0, 10.0, 5.0]], &[[0.0, 0.0, 10.0, 10.0]], 5, 0.5).hist, vec![0, 0, 1, 0, 0]);
    assert!(pollster::block_on(iou_stats(&KernelPlan::default(), &Device::flex(), &gts, &gts, 5, 0.5)).is_err(), "no kernel on the CPU");
}

/// With the default setting, a block whose attention matrix reaches 64 MiB runs on the kernels and
/// gives the reference's result: 1024 px input's P4 level (64 x 64 cells), 16 channels.
#[test]
fn auto_uses_the_kernels_for_large_attention() {
    let gpu = wgpu();
    gpu.seed(5);
    let block = NonLocalConfig::new(16).with_initializer(NonLocalInit::Xavier2019).init(&gpu);
    let x = Tensor::<4>::random([1, 16, 64, 64], Distribution::Normal(0.0, 0.5), &gpu);
    let auto = KernelPlan::default();
    let before = launches();
    let got = read(block.forward(x.clone(), &auto));
    assert_eq!(launches(), before + 1, "one fused forward");
    let cpu = Device::flex();
    let want = read(block.to_device(&cpu).forward(x.to_device(&cpu), &auto));
    let err = rel_err(&got, &want);
    eprintln!("auto, n = 4096: rel err {err:.2e}");
    assert!(err <= 1e-4, "relative error {err}");
}

/// `tune` times both paths and Auto then takes the faster one for small inputs.
#[test]
fn tune_picks_the_faster_path_for_small_inputs() {
    let gpu = wgpu();
    let start = std::time::Instant::now();
    let clock = || start.elapsed().as_secs_f64() * 1e3;
    let dims = kernels::TUNE_DIMS;
    let auto = KernelPlan::default();
    let t = pollster::block_on(kernels::tune(&auto, &gpu, &clock, true, dims)).expect("tuned with the backward");
    eprintln!("tune at n = 400, C = 64, forward + backward: fused {:.1} ms, reference {:.1} ms", t.fused_ms, t.reference_ms);
    let t = pollster::block_on(kernels::tune(&auto, &gpu, &clock, false, dims)).expect("tuned");
    let plan = KernelPlan { tuned: Some(t), ..auto };
    assert_eq!(t.dims, dims);
    let (fused, reference) = (t.fused_ms, t.reference_ms);
    eprintln!("tune at n = 400, C = 64: fused {fused:.1} ms, reference {reference:.1} ms");
    assert!(fused > 0.0 && reference > 0.0);
    assert_eq!(non_local_plan(&plan, &gpu, [1, 400, 64]).is_ok(), fused < reference);
    let text = kernels::describe(&plan, &gpu).1;
    assert!(text.contains("measured faster here"), "{text}");
}
