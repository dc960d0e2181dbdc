// Embedded-Gaussian non-local attention, forward, fused (flash-attention style). Per batch b:
//   Y[b,i,:] = sum_j softmax_j(scale * theta[b,i,:] . phi[b,j,:]) g[b,j,:]
//   L[b,i]   = log sum_j exp(scale * theta[b,i,:] . phi[b,j,:])   (logsumexp, for the backward)
// An online softmax streams tiles of 32 pixels j; the N x N matrix is never stored.
//
// Bindings (group 0; row-major f32; N = h*w pixels, 1 <= C <= 256 channels):
//   0 uniform             params {B, N, C: u32, scale: f32}
//   1 storage read        theta [B, N, C]
//   2 storage read        phi   [B, N, C]
//   3 storage read        g     [B, N, C]
//   4 storage read_write  y     [B, N, C]
//   5 storage read_write  lse   [B, N]
// Entry point `forward`: workgroup_size 256, dispatch (ceil(N / 32), B, 1).
// A workgroup owns 32 query rows i. Thread t serves row t / 8 with lane t % 8: it holds the scores of
// columns j = lane + 8q (q < 4) of each tile and, in registers, output channels c = lane + 8k (k < 32).
// Channels pass through workgroup memory 32 at a time, so any C <= 256 works.
// Workgroup storage: a_s 1024 + b_s 1056 + s_s 1024 floats = 12416 bytes (WebGPU default: 16384).

struct Params { B: u32, N: u32, C: u32, scale: f32 }

const T = 32u;       // rows per workgroup = pixels per tile = channels per chunk
const LANES = 8u;    // threads per row
const BS = 33u;      // row stride of b_s (padded: the 8 lanes of a row read different banks)
const NEG = -3.0e38; // the running max before any score

const THETA = 0u;
const PHI = 1u;
const G = 2u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

var<workgroup> a_s: array<f32, 1024>; // [32 rows][32 channels]: a chunk of theta
var<workgroup> b_s: array<f32, 1056>; // [32 pixels][33]: a chunk of phi, then of g
var<workgroup> s_s: array<f32, 1024>; // [32 rows][32 pixels]: scores, then probabilities

// Element (row, c) of `which` in batch b; 0 outside N x C.
fn at(which: u32, b: u32, row: u32, c: u32) -> f32 {
    if (row >= params.N || c >= params.C) { return 0.0; }
    let k = (b * params.N + row) * params.C + c;
    switch which {
        case THETA: { return theta[k]; }
        case PHI: { return phi[k]; }
        default: { return g[k]; }
    }
}

// Channels [c0, c0 + 32) of rows [r0, r0 + 32) of `which` into a_s / b_s.
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

// acc[c / 8] += sum_j s_s[t / 8][j] * src[p0 + j][c] for thread t's channels c = lane + 8k.
fn accumulate(acc: ptr<function, array<f32, 32>>, src: u32, p0: u32, b: u32, t: u32) {
    let r = t / LANES;
    let lane = t % LANES;
    for (var c0 = 0u; c0 < params.C; c0 += T) {
        load_b(src, b, p0, c0, t);
        workgroupBarrier();
        var d = vec4<f32>(0.0);
        for (var j = 0u; j < T; j++) {
            d += s_s[r * T + j] * vec4<f32>(b_s[j * BS + lane], b_s[j * BS + lane + 8u],
                                            b_s[j * BS + lane + 16u], b_s[j * BS + lane + 24u]);
        }
        let k = c0 / LANES;
        (*acc)[k] += d.x;
        (*acc)[k + 1u] += d.y;
        (*acc)[k + 2u] += d.z;
        (*acc)[k + 3u] += d.w;
        workgroupBarrier();
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
        for (var q = 0u; q < 4u; q++) { s_s[r * T + cols[q]] = s[q]; }
        workgroupBarrier();
        var mx = m;
        for (var j = 0u; j < valid; j++) { mx = max(mx, s_s[r * T + j]); }
        workgroupBarrier(); // the row maxima are read before s_s is overwritten
        let p = select(vec4<f32>(0.0), exp(s - mx), cols < vec4<u32>(valid));
        for (var q = 0u; q < 4u; q++) { s_s[r * T + cols[q]] = p[q]; }
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
