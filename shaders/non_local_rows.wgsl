// Full attention rows of K chosen query pixels (the page's "click a pixel" view). Per batch b:
//   A[b,k,j] = softmax_j(scale * theta[b,idx[k],:] . phi[b,j,:])
// in two passes of its own: `lse_rows` reduces L[b,k] = logsumexp_j (online max and sum per thread,
// then a tree over the workgroup), `write_rows` writes exp(score - L).
//
// Bindings (group 0; row-major; N = h*w pixels, 1 <= C <= 256 channels, K >= 1 queries):
//   0 uniform             params {B, N, C, K: u32, scale: f32}
//   1 storage read        theta [B, N, C] f32
//   2 storage read        phi   [B, N, C] f32
//   3 storage read        idx   [K] u32 (each < N)
//   4 storage read_write  lse   [B, K] f32  (written by lse_rows, read by write_rows)
//   5 storage read_write  rows  [B, K, N] f32  (write_rows only)
// Entry points, workgroup_size 256 (one thread per channel of the query row, so C <= 256):
//   lse_rows:   dispatch (K, B, 1); workgroup storage q_s + m_s + l_s = 3 * 256 floats = 3072 bytes
//   write_rows: dispatch (ceil(N / 256), K, B), after lse_rows; workgroup storage q_s = 1024 bytes

struct Params { B: u32, N: u32, C: u32, K: u32, scale: f32 }

const NEG = -3.0e38; // the running max before any score

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> rows: array<f32>;

var<workgroup> q_s: array<f32, 256>; // theta of the query pixel, 0 past C
var<workgroup> m_s: array<f32, 256>;
var<workgroup> l_s: array<f32, 256>;

fn load_query(b: u32, k: u32, t: u32) {
    var v = 0.0;
    if (t < params.C) { v = theta[(b * params.N + idx[k]) * params.C + t]; }
    q_s[t] = v;
}

fn score(b: u32, j: u32) -> f32 {
    let base = (b * params.N + j) * params.C;
    var s = 0.0;
    for (var c = 0u; c < params.C; c++) { s += q_s[c] * phi[base + c]; }
    return params.scale * s;
}

@compute @workgroup_size(256)
fn lse_rows(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let k = wg.x;
    let b = wg.y;
    load_query(b, k, t);
    workgroupBarrier();
    var m = NEG;
    var l = 0.0;
    for (var j = t; j < params.N; j += 256u) {
        let s = score(b, j);
        let mx = max(m, s);
        l = l * exp(m - mx) + exp(s - mx);
        m = mx;
    }
    m_s[t] = m;
    l_s[t] = l;
    for (var h = 128u; h > 0u; h >>= 1u) {
        workgroupBarrier();
        if (t < h) {
            let m2 = m_s[t + h];
            let mx = max(m, m2);
            l = l * exp(m - mx) + l_s[t + h] * exp(m2 - mx);
            m = mx;
            m_s[t] = m;
            l_s[t] = l;
        }
    }
    if (t == 0u) { lse[b * params.K + k] = m + log(l); }
}

@compute @workgroup_size(256)
fn write_rows(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let k = wg.y;
    let b = wg.z;
    load_query(b, k, t);
    workgroupBarrier();
    let j = wg.x * 256u + t;
    if (j < params.N) { rows[(b * params.K + k) * params.N + j] = exp(score(b, j) - lse[b * params.K + k]); }
}
