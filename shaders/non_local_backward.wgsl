// Embedded-Gaussian non-local attention, backward of shaders/non_local.wgsl, without atomics. Per batch:
//   P_ij = exp(scale * theta_i . phi_j - L_i),  D_i = dY_i . Y_i,  dS_ij = P_ij (dY_i . g_j - D_i)
//   dTheta_i = scale sum_j dS_ij phi_j,  dPhi_j = scale sum_i dS_ij theta_i,  dG_j = sum_i P_ij dY_i
// P is recomputed tile by tile in two passes: `rows` (dTheta and D, a workgroup per 32 rows i) and
// `cols` (dPhi and dG, a workgroup per 32 pixels j), so every output has a single writer.
//
// Bindings (group 0; row-major f32; N = h*w pixels, 1 <= C <= 256 channels):
//   0 uniform             params {B, N, C: u32, scale: f32}
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
// as in non_local.wgsl; `cols` keeps two 32-float accumulators per thread.
// Workgroup storage (each entry): a_s 1024 + b_s 1056 + s_s 1024 floats = 12416 bytes.

struct Params { B: u32, N: u32, C: u32, scale: f32 }

const T = 32u;       // own rows per workgroup = pixels per tile = channels per chunk
const LANES = 8u;    // threads per row
const BS = 33u;      // row stride of b_s

const THETA = 0u;
const PHI = 1u;
const G = 2u;
const DY = 3u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> y: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dy: array<f32>;
@group(0) @binding(7) var<storage, read_write> dtheta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dphi: array<f32>;
@group(0) @binding(9) var<storage, read_write> dg: array<f32>;
@group(0) @binding(10) var<storage, read_write> delta: array<f32>;

var<workgroup> a_s: array<f32, 1024>; // [32 own rows][32 channels]
var<workgroup> b_s: array<f32, 1056>; // [32 tile pixels][33]
var<workgroup> s_s: array<f32, 1024>; // [32 own rows][32 tile pixels]: P or dS

// Element (row, c) of `which` in batch b; 0 outside N x C.
fn at(which: u32, b: u32, row: u32, c: u32) -> f32 {
    if (row >= params.N || c >= params.C) { return 0.0; }
    let k = (b * params.N + row) * params.C + c;
    switch which {
        case THETA: { return theta[k]; }
        case PHI: { return phi[k]; }
        case G: { return g[k]; }
        default: { return dy[k]; }
    }
}

fn load_a(which: u32, b: u32, r0: u32, c0: u32, t: u32) {
    for (var e = t; e < T * T; e += 256u) { a_s[e] = at(which, b, r0 + e / T, c0 + e % T); }
}

fn load_b(which: u32, b: u32, r0: u32, c0: u32, t: u32) {
    for (var e = t; e < T * T; e += 256u) { b_s[(e / T) * BS + e % T] = at(which, b, r0 + e / T, c0 + e % T); }
}

// Thread t's dot products own[o0 + t / 8] . other[p0 + lane + 8q] over all channels, q = 0..3.
fn tile_dots(own: u32, o0: u32, other: u32, p0: u32, b: u32, t: u32) -> vec4<f32> {
    let r = t / LANES;
    let lane = t % LANES;
    var d = vec4<f32>(0.0);
    for (var c0 = 0u; c0 < params.C; c0 += T) {
        load_a(own, b, o0, c0, t);
        load_b(other, b, p0, c0, t);
        workgroupBarrier();
        for (var c = 0u; c < T; c++) {
            d += a_s[r * T + c] * vec4<f32>(b_s[lane * BS + c], b_s[(lane + 8u) * BS + c],
                                            b_s[(lane + 16u) * BS + c], b_s[(lane + 24u) * BS + c]);
        }
        workgroupBarrier();
    }
    return d;
}

// acc[c / 8] += sum_p s_s[t / 8][p] * src[p0 + p][c] for thread t's channels c = lane + 8k.
fn accumulate(acc: ptr<function, array<f32, 32>>, src: u32, p0: u32, b: u32, t: u32) {
    let r = t / LANES;
    let lane = t % LANES;
    for (var c0 = 0u; c0 < params.C; c0 += T) {
        load_b(src, b, p0, c0, t);
        workgroupBarrier();
        var d = vec4<f32>(0.0);
        for (var p = 0u; p < T; p++) {
            d += s_s[r * T + p] * vec4<f32>(b_s[p * BS + lane], b_s[p * BS + lane + 8u],
                                            b_s[p * BS + lane + 16u], b_s[p * BS + lane + 24u]);
        }
        let k = c0 / LANES;
        (*acc)[k] += d.x;
        (*acc)[k + 1u] += d.y;
        (*acc)[k + 2u] += d.z;
        (*acc)[k + 3u] += d.w;
        workgroupBarrier();
    }
}

fn store(r: u32, cols: vec4<u32>, v: vec4<f32>) {
    for (var q = 0u; q < 4u; q++) { s_s[r * T + cols[q]] = v[q]; }
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
