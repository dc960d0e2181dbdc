//! `cargo bench`: inference and train-step time per image of the `browser` preset at 320 and
//! 512 px, with the model's analytic FLOPs, achieved GFLOP/s, the stage times `/bench.html`
//! reports, and an sgemm measured in the same run on the same device. CPU (flex) always; wgpu
//! too when `LIBRA_BENCH_WGPU=1`.
//! Weights are random (timing does not depend on them). Median of N runs after one warm-up.
//!
//! The peer: the same run then times PyTorch/torchvision's Faster R-CNN + FPN at the preset's
//! widths (`benches/peer/`, which installs torch into a venv outside the repository on first
//! use) on the same number of threads, and prints both side by side with our time / its time.
//! `LIBRA_BENCH_PEER=0` leaves it out; `LIBRA_BENCH_ROUNDS=N` repeats both N times (see `main`).

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use libra_rcnn::LibraRcnn;
use libra_rcnn::config::DetectorConfig;
use libra_rcnn::cpu_pool::on_pool;
use libra_rcnn::data::augment::Augment;
use libra_rcnn::data::synthetic::{SCENE_CLASSES, generate_scene};
use libra_rcnn::infer::{StageTimes, detect_batch, detect_batch_staged};
use libra_rcnn::model::flops::{forward_flops, sgemm_gflops};
use libra_rcnn::train::batch::to_tensors;
use libra_rcnn::train::{TrainConfig, TrainSample, Trainer};

#[path = "../crate/bin/libra/alloc.rs"]
mod alloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds of `f`, median of `n` runs after one warm-up.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// Milliseconds since the bench started: the stages' and the sgemm's clock.
fn clock() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

/// Median stage times of `n` detections of `images`, as the bench page reports them.
fn stages(model: &LibraRcnn, images: &Tensor<4>, n: usize) -> StageTimes {
    let runs: Vec<StageTimes> =
        (0..n).map(|_| on_pool(|| pollster::block_on(detect_batch_staged(model, images.clone(), Some(&clock))).expect("detect").1)).collect();
    let m = |f: fn(&StageTimes) -> f64| median(runs.iter().map(f).collect());
    StageTimes {
        backbone_neck_ms: m(|t| t.backbone_neck_ms),
        rpn_ms: m(|t| t.rpn_ms),
        roi_head_ms: m(|t| t.roi_head_ms),
        postprocess_ms: m(|t| t.postprocess_ms),
    }
}

/// Milliseconds per image at one input size.
struct Row {
    size: usize,
    infer_ms: f64,
    train_ms: f64,
}

fn bench(name: &str, dev: &Device) -> (f64, Vec<Row>) {
    let sgemm = pollster::block_on(sgemm_gflops(dev, 1024, 5, &clock)).expect("sgemm");
    println!("## {name}: sgemm 1024^3 {sgemm:.1} GFLOP/s");
    let mut rows = Vec::new();
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
        let model = cfg.init(dev).expect("model");
        let (one, _) = to_tensors(&batch[..1], false, &Augment::OFF, 0, dev);
        // On a pool thread, as the CLI runs its commands (`cpu_pool`).
        let infer = time(5, || {
            on_pool(|| pollster::block_on(detect_batch(&model, one.clone())).expect("detect"));
        });
        let fwd = forward_flops(&model, cfg.rpn.post_nms_test);

        let mut trainer = Trainer::new(cfg.init(&dev.clone().autodiff()).expect("model"), TrainConfig::adam(1000, 2));
        let step = time(3, || {
            on_pool(|| pollster::block_on(trainer.step(&batch)).expect("step"));
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
        let st = stages(&model, &one, 5);
        println!(
            "{:>5} stages of a detection (ms, median of 5, as /bench.html): backbone + neck {:.1}, RPN {:.1}, RoI head {:.1}, post-process {:.1}",
            "", st.backbone_neck_ms, st.rpn_ms, st.roi_head_ms, st.postprocess_ms
        );
        rows.push(Row { size, infer_ms: infer * 1e3, train_ms: step * 1e3 });
    }
    (sgemm, rows)
}

/// One line of the side-by-side table: what, ours, the peer's, and ours / peer in time (for the
/// sgemm's GFLOP/s, the peer's over ours).
type Line = (String, f64, f64, f64);

/// Runs `benches/peer/run.sh` on `threads` threads: its figures beside `ours`, or why not.
fn compare_with_peer(threads: usize, sgemm: f64, ours: &[Row]) -> Result<(String, Vec<Line>), String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peer/run.sh");
    println!("## peer: PyTorch/torchvision on {threads} threads ({script}) ...");
    let out = std::process::Command::new("bash").arg(script).args(["--threads", &threads.to_string()]).stderr(std::process::Stdio::inherit()).output();
    let peer: serde_json::Value = match out {
        Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout).map_err(|e| format!("unreadable output ({e})"))?,
        Ok(o) => return Err(format!("failed ({})", o.status)),
        Err(e) => return Err(format!("could not start bash ({e})")),
    };
    let ms = |size: usize, key: &str| {
        peer["rows"].as_array().and_then(|rows| rows.iter().find(|r| r["size"] == size)).and_then(|r| r[key].as_f64()).unwrap_or(f64::NAN)
    };
    let title = format!("ours (flex) vs PyTorch {} + torchvision {}, {threads} threads", peer["torch"], peer["torchvision"]);
    let peer_sgemm = peer["sgemm_gflops"].as_f64().unwrap_or(f64::NAN);
    let mut lines = vec![("sgemm 1024^3 GFLOP/s".to_string(), sgemm, peer_sgemm, peer_sgemm / sgemm)];
    for r in ours {
        for (what, mine, key) in [("inference", r.infer_ms, "infer_ms"), ("train step", r.train_ms, "train_ms")] {
            let theirs = ms(r.size, key);
            lines.push((format!("{what} {} px", r.size), mine, theirs, mine / theirs));
        }
    }
    Ok((title, lines))
}

fn print_table(title: &str, lines: &[Line]) {
    println!("## {title}: ms per image, ratio = ours / peer in time (<= 1: we are as fast or faster)");
    println!("{:>22} {:>10} {:>10} {:>7}", "", "ours", "peer", "ratio");
    for (what, ours, peer, ratio) in lines {
        println!("{what:>22} {ours:>10.1} {peer:>10.1} {ratio:>7.2}");
    }
}

/// `LIBRA_BENCH_ROUNDS=N` (default 1) repeats ours then the peer N times and ends with each
/// line's median over the rounds: on a shared machine one round's ratio can be off by 2x.
fn main() {
    alloc::keep_freed_memory();
    let rounds: usize = std::env::var("LIBRA_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let with_peer = !std::env::var("LIBRA_BENCH_PEER").is_ok_and(|v| v == "0");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut tables = Vec::new();
    for round in 1..=rounds {
        if rounds > 1 {
            println!("# round {round} of {rounds}");
        }
        let (sgemm, rows) = bench("flex (CPU)", &Device::flex());
        if with_peer {
            match compare_with_peer(threads, sgemm, &rows) {
                Ok((title, lines)) => {
                    print_table(&title, &lines);
                    tables.push((title, lines));
                }
                Err(why) => println!("## peer: {why}"),
            }
        }
    }
    if tables.len() > 1 {
        let title = format!("median of {} rounds: {}", tables.len(), tables[0].0);
        let lines: Vec<Line> = (0..tables[0].1.len())
            .map(|i| {
                let col = |f: fn(&Line) -> f64| median(tables.iter().map(|t| f(&t.1[i])).collect());
                (tables[0].1[i].0.clone(), col(|l| l.1), col(|l| l.2), col(|l| l.3))
            })
            .collect();
        print_table(&title, &lines);
    }
    if std::env::var("LIBRA_BENCH_WGPU").is_ok_and(|v| v == "1") {
        match Device::wgpu_options().init() {
            Ok(dev) => {
                bench("wgpu", &dev);
            }
            Err(e) => println!("## wgpu: unavailable ({e:?})"),
        }
    }
}
