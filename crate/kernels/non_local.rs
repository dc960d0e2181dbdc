//! The non-local block's attention on our fused WGSL kernels (`shaders/non_local*.wgsl`):
//! `y = softmax(theta phi^T) g` without the `[n, n]` matrix, its backward, and whole attention
//! rows of chosen pixels, as a burn backend extension of the cubecl (wgpu) backend and its
//! autodiff. [`super::non_local_plan`] says when they may run.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::wgpu::{CubeTensor, into_contiguous};
use burn::backend::{Autodiff, AutodiffBackend, Backend, Cube, DType, backend_extension};
use burn::tensor::{Shape, Tensor};

use super::wgsl::{Entry, launch};

const TILES: &str = include_str!("../../shaders/non_local_tiles.wgsl");
const FORWARD_WGSL: &str = include_str!("../../shaders/non_local.wgsl");
const BACKWARD_WGSL: &str = include_str!("../../shaders/non_local_backward.wgsl");
const ROWS_WGSL: &str = include_str!("../../shaders/non_local_rows.wgsl");

static FORWARD: Entry = Entry { name: "forward", files: &[TILES, FORWARD_WGSL], buffers: &["theta", "phi", "g", "y", "lse"] };
static ROWS: Entry = Entry { name: "rows", files: &[TILES, BACKWARD_WGSL], buffers: &["theta", "phi", "g", "y", "lse", "dy", "dtheta", "delta"] };
static COLS: Entry = Entry { name: "cols", files: &[TILES, BACKWARD_WGSL], buffers: &["theta", "phi", "g", "lse", "dy", "dphi", "dg", "delta"] };
static LSE_ROWS: Entry = Entry { name: "lse_rows", files: &[ROWS_WGSL], buffers: &["theta", "phi", "idx", "lse"] };
static WRITE_ROWS: Entry = Entry { name: "write_rows", files: &[ROWS_WGSL], buffers: &["theta", "phi", "idx", "lse", "rows"] };

/// Query rows (and key columns) per workgroup of the fused kernels.
pub const TILE: usize = 32;
/// Workgroup storage of the fused kernels: a_s + b_s + s_s = (1024 + 1056 + 1024) f32.
pub const WORKGROUP_BYTES: usize = 12416;
/// Storage buffers of the backward entry points (the forward uses 5).
pub const STORAGE_BUFFERS: u32 = 8;
/// Channels the kernels handle (a thread keeps 32 channels of 8 lanes).
pub const MAX_CHANNELS: usize = 256;

/// Embedded-Gaussian attention on our kernels, for tensors already checked by
/// [`super::non_local_plan`] (`theta`, `phi`, `g`: `[b, n, c]` f32 on a wgpu device).
#[backend_extension(Autodiff, Cube)]
pub trait FusedNonLocal: Backend {
    /// `y[b, i] = sum_j softmax_j(theta[b, i] . phi[b, j]) g[b, j]`: `[b, n, c]`.
    fn fused_attention(theta: FloatTensor<Self>, phi: FloatTensor<Self>, g: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Rows `idx` of `softmax(theta phi^T)`: `[b, idx.len(), n]` (not differentiated).
    fn attention_rows(theta: FloatTensor<Self>, phi: FloatTensor<Self>, idx: Vec<u32>) -> FloatTensor<Self>;
}

fn dims(t: &CubeTensor) -> [usize; 3] {
    let s = t.meta.shape();
    [s[0], s[1], s[2]]
}

fn output(like: &CubeTensor, shape: Vec<usize>) -> CubeTensor {
    let bytes = shape.iter().product::<usize>() * 4;
    CubeTensor::new_contiguous(like.client.clone(), like.device.clone(), Shape::from(shape), like.client.empty(bytes), DType::F32)
}

/// Params {B, N, C: u32, scale: f32} with scale 1 (no 1/sqrt(C) in the embedded Gaussian).
fn params(b: usize, n: usize, c: usize) -> [u32; 4] {
    [b as u32, n as u32, c as u32, 1f32.to_bits()]
}

fn row_tiles(n: usize) -> u32 {
    n.div_ceil(TILE) as u32
}

/// `(y [b, n, c], logsumexp [b, n])`.
fn forward(theta: CubeTensor, phi: CubeTensor, g: CubeTensor) -> (CubeTensor, CubeTensor) {
    let (theta, phi, g) = (into_contiguous(theta), into_contiguous(phi), into_contiguous(g));
    let [b, n, c] = dims(&theta);
    let y = output(&theta, vec![b, n, c]);
    let lse = output(&theta, vec![b, n]);
    let buffers = [&theta.handle, &phi.handle, &g.handle, &y.handle, &lse.handle];
    launch(&theta.client, &FORWARD, [row_tiles(n), b as u32, 1], &buffers, &params(b, n, c));
    (y, lse)
}

/// `(dtheta, dphi, dg)`, each `[b, n, c]`, from the forward's inputs and outputs and `dy`.
fn backward(theta: &CubeTensor, phi: &CubeTensor, g: &CubeTensor, y: &CubeTensor, lse: &CubeTensor, dy: CubeTensor) -> [CubeTensor; 3] {
    let dy = into_contiguous(dy);
    let [b, n, c] = dims(theta);
    let [dtheta, dphi, dg] = [0; 3].map(|_| output(theta, vec![b, n, c]));
    let delta = output(theta, vec![b, n]);
    let count = [row_tiles(n), b as u32, 1];
    let p = params(b, n, c);
    let rows = [&theta.handle, &phi.handle, &g.handle, &y.handle, &lse.handle, &dy.handle, &dtheta.handle, &delta.handle];
    launch(&theta.client, &ROWS, count, &rows, &p);
    let cols = [&theta.handle, &phi.handle, &g.handle, &lse.handle, &dy.handle, &dphi.handle, &dg.handle, &delta.handle];
    launch(&theta.client, &COLS, count, &cols, &p);
    [dtheta, dphi, dg]
}

fn rows(theta: CubeTensor, phi: CubeTensor, idx: Vec<u32>) -> CubeTensor {
    let (theta, phi) = (into_contiguous(theta), into_contiguous(phi));
    let [b, n, c] = dims(&theta);
    let k = idx.len();
    let client = &theta.client;
    let idx = client.create_from_slice(bytemuck_u32(&idx));
    let lse = output(&theta, vec![b, k]);
    let out = output(&theta, vec![b, k, n]);
    let p = [b as u32, n as u32, c as u32, k as u32, 1f32.to_bits()];
    launch(client, &LSE_ROWS, [k as u32, b as u32, 1], &[&theta.handle, &phi.handle, &idx, &lse.handle], &p);
    let write = [&theta.handle, &phi.handle, &idx, &lse.handle, &out.handle];
    launch(client, &WRITE_ROWS, [n.div_ceil(256) as u32, k as u32, b as u32], &write, &p);
    out
}

fn bytemuck_u32(v: &[u32]) -> &[u8] {
    // SAFETY: u32 has no padding and any byte is a valid u8; the length is 4x in bytes.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), v.len() * 4) }
}

impl FusedNonLocal for Cube {
    fn fused_attention(theta: CubeTensor, phi: CubeTensor, g: CubeTensor) -> CubeTensor {
        forward(theta, phi, g).0
    }

    fn attention_rows(theta: CubeTensor, phi: CubeTensor, idx: Vec<u32>) -> CubeTensor {
        rows(theta, phi, idx)
    }
}

/// The backward's state: theta, phi, g, y, logsumexp.
#[derive(Debug)]
struct AttentionBackward;

impl Backward<Cube, 3> for AttentionBackward {
    type State = [CubeTensor; 5];

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let dy = grads.consume::<Cube>(&ops.node);
        let [theta, phi, g, y, lse] = ops.state;
        let outs = backward(&theta, &phi, &g, &y, &lse, dy);
        for (parent, grad) in ops.parents.into_iter().zip(outs) {
            if let Some(node) = parent {
                grads.register::<Cube>(node.id, grad);
            }
        }
    }
}

impl<C: CheckpointStrategy> FusedNonLocal for Autodiff<Cube, C> {
    fn fused_attention(theta: FloatTensor<Self>, phi: FloatTensor<Self>, g: FloatTensor<Self>) -> FloatTensor<Self> {
        match AttentionBackward.prepare::<C>([theta.node(), phi.node(), g.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let [t, p, v] = [&theta, &phi, &g].map(|x| into_contiguous(x.primitive().clone()));
                let (y, lse) = forward(t.clone(), p.clone(), v.clone());
                prep.finish([t, p, v, y.clone(), lse], y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(theta.into_primitive(), phi.into_primitive(), g.into_primitive()).0),
        }
    }

    fn attention_rows(theta: FloatTensor<Self>, phi: FloatTensor<Self>, idx: Vec<u32>) -> FloatTensor<Self> {
        Self::from_inner(rows(Self::inner(theta), Self::inner(phi), idx))
    }
}

/// [`FusedNonLocal::fused_attention`] on tensors: `[b, n, c]` each -> `[b, n, c]`.
pub fn attention(theta: Tensor<3>, phi: Tensor<3>, g: Tensor<3>) -> Tensor<3> {
    use burn::backend::Dispatch;
    Tensor::from_dispatch(<Dispatch as FusedNonLocal>::fused_attention(theta.into_dispatch(), phi.into_dispatch(), g.into_dispatch()))
}

/// [`FusedNonLocal::attention_rows`] on tensors: `[b, n, c]` twice -> `[b, idx.len(), n]`.
pub fn attention_rows(theta: Tensor<3>, phi: Tensor<3>, idx: &[u32]) -> Tensor<3> {
    use burn::backend::Dispatch;
    Tensor::from_dispatch(<Dispatch as FusedNonLocal>::attention_rows(theta.into_dispatch(), phi.into_dispatch(), idx.to_vec()))
}
