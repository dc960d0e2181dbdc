//! Our WGSL kernels through burn on a native wgpu device (lavapipe, Mesa's Vulkan on the CPU, in
//! CI) against the tensor-op reference on the CPU backend (flex): forward, gradients, attention
//! rows, the fallbacks, and the detector's outputs and a short training run with and without them.
//!
//! Tolerances: the kernels and the reference both sum in f32 but in different orders (online
//! softmax over 32-column tiles vs. a whole-row softmax, matmuls over other blockings), so
//! results agree to a few ulps times the length of the sums: relative 1e-4 of the largest output
//! for attention and gradients (what the browser test measured: <= 8e-6), 1e-3 for detector
//! scores after 30+ layers, and loss curves within 1e-3 relative over a few steps.

use std::sync::{Mutex, MutexGuard, OnceLock};

use burn::tensor::{Device, Distribution, Tensor};
use libra_rcnn::kernels::{self, Kernels, non_local_plan};

/// Tests that switch the process-wide kernel setting run one at a time.
fn setting() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

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
    t.into_data().convert::<f32>().to_vec().expect("f32")
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

fn reference(theta: Tensor<3>, phi: Tensor<3>, g: Tensor<3>) -> Tensor<3> {
    burn::tensor::activation::softmax(theta.matmul(phi.swap_dims(1, 2)), 2).matmul(g)
}

#[test]
fn fused_forward_matches_the_reference() {
    let (gpu, cpu) = (wgpu(), Device::flex());
    // N = 1, not tile multiples (37, 130), P4 of a 320 px input (400); C from 1 to 256.
    for (b, n, c) in [(1, 1, 8), (2, 37, 1), (2, 130, 64), (1, 400, 256), (3, 64, 33)] {
        non_local_plan(&gpu, [b, n, c]).expect("the kernels fit lavapipe");
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
