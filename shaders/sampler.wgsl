// IoU-balanced sampler's statistics: IoU of every proposal against every ground-truth box, the
// proposal's max IoU and its argmax GT (lowest index on ties; -1 and max 0 when G = 0), and a
// histogram of the negatives (max IoU < neg_thr) over K equal bins of [0, neg_thr):
//   bin = min(K - 1, floor(max_iou / neg_thr * K)).
// IoU, continuous convention: area = max(0, x2 - x1) * max(0, y2 - y1);
//   inter = max(0, min(ax2, bx2) - max(ax1, bx1)) * max(0, min(ay2, by2) - max(ay1, by1));
//   iou = inter / (areaA + areaB - inter), 0 when that union is <= 0.
//
// Bindings (group 0; boxes are x1, y1, x2, y2 f32):
//   0 uniform             params {P, G, K: u32, neg_thr: f32}
//   1 storage read        proposals [P, 4]
//   2 storage read        gts       [G, 4] (a 16-byte buffer when G = 0)
//   3 storage read_write  max_iou   [P] f32
//   4 storage read_write  argmax    [P] i32
//   5 storage read_write  hist      [K] atomic u32, zeroed by the caller before each dispatch
// Entry point `assign`: workgroup_size 256 (a proposal per thread), dispatch (ceil(P / 256), 1, 1).
// GT boxes pass through workgroup memory 256 at a time: gt_s = 256 vec4 = 4096 bytes.

struct Params { P: u32, G: u32, K: u32, neg_thr: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> proposals: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gts: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> max_iou: array<f32>;
@group(0) @binding(4) var<storage, read_write> argmax: array<i32>;
@group(0) @binding(5) var<storage, read_write> hist: array<atomic<u32>>;

var<workgroup> gt_s: array<vec4<f32>, 256>;

fn area(a: vec4<f32>) -> f32 {
    return max(0.0, a.z - a.x) * max(0.0, a.w - a.y);
}

fn iou(a: vec4<f32>, b: vec4<f32>) -> f32 {
    let inter = max(0.0, min(a.z, b.z) - max(a.x, b.x)) * max(0.0, min(a.w, b.w) - max(a.y, b.y));
    let uni = area(a) + area(b) - inter;
    return select(0.0, inter / uni, uni > 0.0);
}

@compute @workgroup_size(256)
fn assign(@builtin(local_invocation_index) t: u32, @builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    var box = vec4<f32>(0.0);
    if (p < params.P) { box = proposals[p]; }
    var best = -1.0;
    var arg = -1;
    for (var g0 = 0u; g0 < params.G; g0 += 256u) {
        if (g0 + t < params.G) { gt_s[t] = gts[g0 + t]; }
        workgroupBarrier();
        for (var k = 0u; k < min(256u, params.G - g0); k++) {
            let v = iou(box, gt_s[k]);
            if (v > best) { // strictly greater: the lowest index wins ties
                best = v;
                arg = i32(g0 + k);
            }
        }
        workgroupBarrier();
    }
    best = max(best, 0.0);
    if (p < params.P) {
        max_iou[p] = best;
        argmax[p] = arg;
        if (best < params.neg_thr && params.K > 0u) {
            atomicAdd(&hist[min(params.K - 1u, u32(floor(best / params.neg_thr * f32(params.K))))], 1u);
        }
    }
}
