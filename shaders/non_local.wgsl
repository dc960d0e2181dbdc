// Embedded-Gaussian non-local attention, forward, fused (flash-attention style). Per batch b:
//   Y[b,i,:] = sum_j softmax_j(scale * theta[b,i,:] . phi[b,j,:]) g[b,j,:]
//   L[b,i]   = log sum_j exp(scale * theta[b,i,:] . phi[b,j,:])   (logsumexp, for the backward)
// An online softmax streams tiles of 32 pixels j; the N x N matrix is never stored.
// Compiled after the prelude shaders/non_local_tiles.wgsl (Params, tile constants, bindings 0-3,
// workgroup arrays, tile helpers), which calls this file's `element`.
//
// Bindings (group 0; row-major f32; N = h*w pixels, 1 <= C <= 256 channels):
//   0 uniform             params {B, N, C: u32, scale: f32}  (0-3 declared in the prelude)
//   1 storage read        theta [B, N, C]
//   2 storage read        phi   [B, N, C]
//   3 storage read        g     [B, N, C]
//   4 storage read_write  y     [B, N, C]
//   5 storage read_write  lse   [B, N]
// Entry point `forward`: workgroup_size 256, dispatch (ceil(N / 32), B, 1).
// A workgroup owns 32 query rows i. Thread t serves row t / 8 with lane t % 8: it holds the scores of
// columns j = lane + 8q (q < 4) of each tile and, in registers, output channels c = lane + 8k (k < 32).
// Workgroup storage (the prelude's): a_s 1024 + b_s 1056 + s_s 1024 floats = 12416 bytes (WebGPU default: 16384).

@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

// Flat element k of tensor `which` (THETA, PHI or G), for the prelude's `at`.
fn element(which: u32, k: u32) -> f32 {
    switch which {
        case THETA: { return theta[k]; }
        case PHI: { return phi[k]; }
        default: { return g[k]; }
    }
}

@compute @workgroup_size(256)
fn forward(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let b = wg.y;
    let i0 = wg.x * T;
    let r = t / LANES;
    let lane = t % LANES;
    let cols = vec4<u32>(lane, lane + 8u, lane + 16u, lane + 24u);
    var acc: array<f32, 32>;
    var m = NEG; // running max of row r
    var l = 0.0; // running sum of exp(score - m)
    for (var j0 = 0u; j0 < params.N; j0 += T) {
        let s = params.scale * tile_dots(THETA, i0, PHI, j0, b, t);
        let valid = min(T, params.N - j0);
        store(r, cols, s);
        workgroupBarrier();
        var mx = m;
        for (var j = 0u; j < valid; j++) { mx = max(mx, s_s[r * T + j]); }
        workgroupBarrier(); // the row maxima are read before s_s is overwritten
        let p = select(vec4<f32>(0.0), exp(s - mx), cols < vec4<u32>(valid));
        store(r, cols, p);
        let alpha = exp(m - mx);
        m = mx;
        for (var k = 0u; k < 32u; k++) { acc[k] *= alpha; }
        workgroupBarrier();
        var sum = 0.0;
        for (var j = 0u; j < T; j++) { sum += s_s[r * T + j]; }
        l = l * alpha + sum;
        accumulate(&acc, G, j0, b, t);
    }
    let i = i0 + r;
    if (i < params.N) {
        let base = (b * params.N + i) * params.C;
        for (var c = lane; c < params.C; c += LANES) { y[base + c] = acc[c / LANES] / l; }
        if (lane == 0u) { lse[b * params.N + i] = m + log(l); }
    }
}
