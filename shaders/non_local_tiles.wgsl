// Prelude of the fused non-local kernels: prepended to shaders/non_local.wgsl (forward) and
// shaders/non_local_backward.wgsl (backward), each compiled as this file followed by the kernel file
// (WGSL has no #include; tests/kernels/runner.mjs and the Rust side concatenate the two sources).
// It declares what both share:
//   Params {B, N, C: u32, scale: f32}; the tile constants T, LANES, BS, NEG; THETA, PHI, G, the
//   tensor ids of bindings 1-3 (a kernel file may add its own, e.g. DY);
//   bindings 0-3 of group 0 (row-major f32; N = h*w pixels, 1 <= C <= 256 channels):
//     0 uniform        params {B, N, C: u32, scale: f32}
//     1 storage read   theta [B, N, C]
//     2 storage read   phi   [B, N, C]
//     3 storage read   g     [B, N, C]
//   the workgroup arrays a_s 1024 + b_s 1056 + s_s 1024 floats = 12416 bytes (WebGPU default: 16384);
//   the accessor at (element (row, c) of a tensor, 0 outside N x C) and the tile helpers load_a, load_b,
//   tile_dots, accumulate and store.
// The kernel file defines `fn element(which: u32, k: u32) -> f32`, flat element k of tensor `which`
// (the switch over its tensor ids), which `at` calls (WGSL resolves module-scope names in any order),
// plus its own bindings 4+ and entry points (workgroup_size 256).
// Tile layout: a workgroup owns 32 rows; thread t serves own row t / 8 with lane t % 8: the columns
// lane + 8q (q < 4) of each 32-pixel tile and the channels c = lane + 8k (k < 32), kept in registers.
// Channels pass through workgroup memory 32 at a time, so any C <= 256 works.

struct Params { B: u32, N: u32, C: u32, scale: f32 }

const T = 32u;       // own rows per workgroup = pixels per tile = channels per chunk
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

var<workgroup> a_s: array<f32, 1024>; // [32 own rows][32 channels]: a chunk of an own-row tensor
var<workgroup> b_s: array<f32, 1056>; // [32 tile pixels][33]: a chunk of a tile tensor
var<workgroup> s_s: array<f32, 1024>; // [32 own rows][32 tile pixels]: scores, probabilities or dS

// Element (row, c) of tensor `which` in batch b; 0 outside N x C.
fn at(which: u32, b: u32, row: u32, c: u32) -> f32 {
    if (row >= params.N || c >= params.C) { return 0.0; }
    return element(which, (b * params.N + row) * params.C + c);
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

// s_s[r][cols[q]] = v[q], q = 0..3: thread t's four values of a tile row.
fn store(r: u32, cols: vec4<u32>, v: vec4<f32>) {
    for (var q = 0u; q < 4u; q++) { s_s[r * T + cols[q]] = v[q]; }
}
