//! `cargo bench --profile dev --bench kernels`: our WGSL kernels through burn on the native wgpu
//! device (lavapipe here) against the tensor-op reference on the same device: the non-local
//! attention at the P4 sizes of 320, 512 and 640 px inputs (and 1024 px at 64 channels), forward
//! and forward + backward, with the memory the forward keeps for the backward; and the sampler's
//! IoU statistics against the host.
//! Median of N runs (`LIBRA_BENCH_RUNS`, default 5) after one warm-up.

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use libra_rcnn::attention::reference_attention as reference;
use libra_rcnn::data::synthetic::random_boxes;
use libra_rcnn::kernels::KernelPlan;
use libra_rcnn::kernels::non_local::attention;
use libra_rcnn::kernels::sampler::{iou_stats, iou_stats_host};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Milliseconds of `f`, median of `n` runs after one warm-up.
fn time_ms<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    f();
    median(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

/// One forward (+ backward when `grad`) of `f`, waited for: the sum of every output.
fn run(f: fn(Tensor<3>, Tensor<3>, Tensor<3>) -> Tensor<3>, ins: &[Tensor<3>; 3], grad: bool) -> f32 {
    let y = f(ins[0].clone(), ins[1].clone(), ins[2].clone());
    let outs = if grad {
        let grads = y.sum().backward();
        ins.iter().map(|x| x.grad(&grads).expect("gradient")).collect()
    } else {
        vec![y]
    };
    outs.into_iter().map(|t| t.into_data().iter::<f32>().sum::<f32>()).sum()
}

/// MiB of device memory the forward of `f` keeps for its backward (allocations live after it
/// minus before; the output included): the reference keeps its `[n, n]` matrices, ours O(n c).
fn kept_mib(dev: &Device, f: fn(Tensor<3>, Tensor<3>, Tensor<3>) -> Tensor<3>, ins: &[Tensor<3>; 3]) -> f64 {
    let in_use = || dev.memory_pool_usage().map_or(f64::NAN, |u| u.bytes_in_use as f64 / (1 << 20) as f64);
    let before = in_use();
    let y = f(ins[0].clone(), ins[1].clone(), ins[2].clone());
    let kept = in_use() - before;
    drop(y);
    kept
}

fn main() {
    let runs: usize = std::env::var("LIBRA_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let dev = Device::wgpu_options().init().expect("a wgpu device (lavapipe: apt-get install mesa-vulkan-drivers)");
    println!("## non-local attention, B = 1, median of {runs} (ms; MiB the forward keeps for the backward)");
    println!(
        "{:>5} {:>4} {:>5} | {:>9} {:>9} {:>6} | {:>9} {:>9} {:>6} | {:>8} {:>8}",
        "input", "N", "C", "fused", "ref", "x", "fused+bw", "ref+bw", "x", "MiB fus", "MiB ref"
    );
    for c in [64, 256] {
        // P4 of 320, 512, 640 px; for 64 channels also 1024 px (the reference's [n, n] = 64 MiB).
        let sizes: &[(usize, usize)] = if c == 64 { &[(320, 20), (512, 32), (640, 40), (1024, 64)] } else { &[(320, 20), (512, 32), (640, 40)] };
        for &(px, side) in sizes {
            let n = side * side;
            let ad = dev.clone().autodiff();
            let ins = [0.5, 0.5, 1.0].map(|s| Tensor::<3>::random([1, n, c], Distribution::Normal(0.0, s), &ad).require_grad());
            let fwd = [time_ms(runs, || run(attention, &ins, false)), time_ms(runs, || run(reference, &ins, false))];
            let bwd = [time_ms(runs, || run(attention, &ins, true)), time_ms(runs, || run(reference, &ins, true))];
            let mem = [kept_mib(&dev, attention, &ins), kept_mib(&dev, reference, &ins)];
            println!(
                "{px:>5} {n:>4} {c:>5} | {:>9.1} {:>9.1} {:>6.2} | {:>9.1} {:>9.1} {:>6.2} | {:>8.1} {:>8.1}",
                fwd[0],
                fwd[1],
                fwd[1] / fwd[0],
                bwd[0],
                bwd[1],
                bwd[1] / bwd[0],
                mem[0],
                mem[1]
            );
        }
    }
    println!("## sampler statistics (IoU, max/argmax, histogram of 5 bins), median of {runs} (ms)");
    println!("{:>6} {:>4} | {:>13} {:>9}", "boxes", "GT", "kernel+read", "host");
    for (p, g) in [(512, 10), (2000, 50), (25575, 50)] {
        let boxes = random_boxes(p, 1);
        let gts = random_boxes(g, 2);
        let kernel = time_ms(runs, || pollster::block_on(iou_stats(&KernelPlan::default(), &dev, &boxes, &gts, 5, 0.5)).expect("kernel"));
        let host = time_ms(runs, || iou_stats_host(&boxes, &gts, 5, 0.5));
        println!("{p:>6} {g:>4} | {kernel:>13.2} {host:>9.2}");
    }
}
