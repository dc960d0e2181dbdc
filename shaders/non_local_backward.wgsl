// Embedded-Gaussian non-local attention, backward of shaders/non_local.wgsl, without atomics. Per batch:
//   P_ij = exp(scale * theta_i . phi_j - L_i),  D_i = dY_i . Y_i,  dS_ij = P_ij (dY_i . g_j - D_i)
//   dTheta_i = scale sum_j dS_ij phi_j,  dPhi_j = scale sum_i dS_ij theta_i,  dG_j = sum_i P_ij dY_i
// P is recomputed tile by tile in two passes: `rows` (dTheta and D, a workgroup per 32 rows i) and
// `cols` (dPhi and dG, a workgroup per 32 pixels j), so every output has a single writer.
// Compiled after the prelude shaders/non_local_tiles.wgsl (Params, tile constants, bindings 0-3,
// workgroup arrays, tile helpers), which calls this file's `element`.
//
// Bindings (group 0; row-major f32; N = h*w pixels, 1 <= C <= 256 channels):
//   0 uniform             params {B, N, C: u32, scale: f32}  (0-3 declared in the prelude)
//   1 storage read        theta  [B, N, C]
//   2 storage read        phi    [B, N, C]
//   3 storage read        g      [B, N, C]
//   4 storage read        y      [B, N, C]  (forward output; rows only)
//   5 storage read        lse    [B, N]     (forward logsumexp L)
//   6 storage read        dy     [B, N, C]
//   7 storage read_write  dtheta [B, N, C]  (rows only)
//   8 storage read_write  dphi   [B, N, C]  (cols only)
//   9 storage read_write  dg     [B, N, C]  (cols only)
//  10 storage read_write  delta  [B, N]     (D: written by rows, read by cols)
// Each entry point uses 8 storage buffers (the WebGPU default maxStorageBuffersPerShaderStage).
// Entry points, both workgroup_size 256, dispatch (ceil(N / 32), B, 1); run `rows` before `cols`.
// Thread t serves own row t / 8 with lane t % 8 (columns lane + 8q of a tile, channels lane + 8k),
// as in non_local_tiles.wgsl; `cols` keeps two 32-float accumulators per thread.
// Workgroup storage (each entry; the prelude's): a_s 1024 + b_s 1056 + s_s 1024 floats = 12416 bytes.

const DY = 3u; // the tensor id of dy, after the prelude's THETA, PHI, G

@group(0) @binding(4) var<storage, read> y: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dy: array<f32>;
@group(0) @binding(7) var<storage, read_write> dtheta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dphi: array<f32>;
@group(0) @binding(9) var<storage, read_write> dg: array<f32>;
@group(0) @binding(10) var<storage, read_write> delta: array<f32>;

// Flat element k of tensor `which` (THETA, PHI, G or DY), for the prelude's `at`.
fn element(which: u32, k: u32) -> f32 {
    switch which {
        case THETA: { return theta[k]; }
        case PHI: { return phi[k]; }
        case G: { return g[k]; }
        default: { return dy[k]; }
    }
}

// dTheta and D for rows i0 .. i0 + 31.
@compute @workgroup_size(256)
fn rows(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let b = wg.y;
    let i0 = wg.x * T;
    let r = t / LANES;
    let lane = t % LANES;
    let i = i0 + r;
    let cols = vec4<u32>(lane, lane + 8u, lane + 16u, lane + 24u);
    var part = 0.0;
    var li = 0.0;
    if (i < params.N) {
        let base = (b * params.N + i) * params.C;
        for (var c = lane; c < params.C; c += LANES) { part += dy[base + c] * y[base + c]; }
        li = lse[b * params.N + i];
    }
    s_s[t] = part;
    workgroupBarrier();
    var d = 0.0;
    for (var e = 0u; e < LANES; e++) { d += s_s[r * LANES + e]; }
    if (i < params.N && lane == 0u) { delta[b * params.N + i] = d; }
    var acc: array<f32, 32>;
    for (var j0 = 0u; j0 < params.N; j0 += T) {
        let s = params.scale * tile_dots(THETA, i0, PHI, j0, b, t);
        let dp = tile_dots(DY, i0, G, j0, b, t);
        let valid = cols < vec4<u32>(min(T, params.N - j0));
        store(r, cols, select(vec4<f32>(0.0), exp(s - li) * (dp - d), valid));
        accumulate(&acc, PHI, j0, b, t);
    }
    if (i < params.N) {
        let base = (b * params.N + i) * params.C;
        for (var c = lane; c < params.C; c += LANES) { dtheta[base + c] = params.scale * acc[c / LANES]; }
    }
}

// dPhi and dG for pixels j0 .. j0 + 31 (reads the D written by `rows`).
@compute @workgroup_size(256)
fn cols(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let b = wg.y;
    let j0 = wg.x * T;
    let r = t / LANES;
    let lane = t % LANES;
    let tile = vec4<u32>(lane, lane + 8u, lane + 16u, lane + 24u);
    var acc_g: array<f32, 32>;
    var acc_phi: array<f32, 32>;
    for (var i0 = 0u; i0 < params.N; i0 += T) {
        let s = params.scale * tile_dots(PHI, j0, THETA, i0, b, t);
        let dp = tile_dots(G, j0, DY, i0, b, t);
        let valid = tile < vec4<u32>(min(T, params.N - i0));
        var li = vec4<f32>(0.0);
        var di = vec4<f32>(0.0);
        for (var q = 0u; q < 4u; q++) {
            if (valid[q]) {
                li[q] = lse[b * params.N + i0 + tile[q]];
                di[q] = delta[b * params.N + i0 + tile[q]];
            }
        }
        let p = select(vec4<f32>(0.0), exp(s - li), valid);
        store(r, tile, p);
        accumulate(&acc_g, DY, i0, b, t);
        store(r, tile, p * (dp - di));
        accumulate(&acc_phi, THETA, i0, b, t);
    }
    let j = j0 + r;
    if (j < params.N) {
        let base = (b * params.N + j) * params.C;
        for (var c = lane; c < params.C; c += LANES) {
            dphi[base + c] = params.scale * acc_phi[c / LANES];
            dg[base + c] = acc_g[c / LANES];
        }
    }
}
