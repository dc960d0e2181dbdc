// Embedded-Gaussian non-local attention, forward, unfused baseline for tests/kernels/bench.mjs:
// the N x N matrix A is materialised. Three passes, in this order:
//   scores:  A[b,i,j] = scale * theta[b,i,:] . phi[b,j,:]  workgroup (16, 16), dispatch (ceil(N/16), ceil(N/16), B)
//   softmax: A[b,i,:] = softmax(A[b,i,:]) in place           workgroup 256 (a row), dispatch (N, B, 1)
//   apply:   Y[b,i,c] = sum_j A[b,i,j] g[b,j,c]              workgroup (16, 16), dispatch (ceil(C/16), ceil(N/16), B)
// One thread per output element, no tiling (a naive baseline).
//
// Bindings (group 0; row-major f32):
//   0 uniform             params {B, N, C: u32, scale: f32}
//   1 storage read        theta [B, N, C]  (scores)
//   2 storage read        phi   [B, N, C]  (scores)
//   3 storage read        g     [B, N, C]  (apply)
//   4 storage read_write  a     [B, N, N]
//   5 storage read_write  y     [B, N, C]  (apply)
// Workgroup storage: softmax red = 1024 bytes; scores and apply none.

struct Params { B: u32, N: u32, C: u32, scale: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> a: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(16, 16)
fn scores(@builtin(global_invocation_id) id: vec3<u32>) {
    let j = id.x;
    let i = id.y;
    let b = id.z;
    if (i >= params.N || j >= params.N) { return; }
    let ti = (b * params.N + i) * params.C;
    let pj = (b * params.N + j) * params.C;
    var s = 0.0;
    for (var c = 0u; c < params.C; c++) { s += theta[ti + c] * phi[pj + c]; }
    a[(b * params.N + i) * params.N + j] = params.scale * s;
}

// The max (take_max) or the sum of v over the workgroup.
fn reduce(t: u32, v: f32, take_max: bool) -> f32 {
    red[t] = v;
    for (var h = 128u; h > 0u; h >>= 1u) {
        workgroupBarrier();
        if (t < h) { red[t] = select(red[t] + red[t + h], max(red[t], red[t + h]), take_max); }
    }
    workgroupBarrier();
    let r = red[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(256)
fn softmax(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let row = (wg.y * params.N + wg.x) * params.N;
    var mx = -3.0e38;
    for (var j = t; j < params.N; j += 256u) { mx = max(mx, a[row + j]); }
    mx = reduce(t, mx, true);
    var sum = 0.0;
    for (var j = t; j < params.N; j += 256u) {
        let e = exp(a[row + j] - mx);
        a[row + j] = e;
        sum += e;
    }
    let inv = 1.0 / reduce(t, sum, false);
    for (var j = t; j < params.N; j += 256u) { a[row + j] *= inv; }
}

@compute @workgroup_size(16, 16)
fn apply(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    let i = id.y;
    let b = id.z;
    if (i >= params.N || c >= params.C) { return; }
    let ai = (b * params.N + i) * params.N;
    var s = 0.0;
    for (var j = 0u; j < params.N; j++) { s += a[ai + j] * g[(b * params.N + j) * params.C + c]; }
    y[(b * params.N + i) * params.C + c] = s;
}
