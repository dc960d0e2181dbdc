// Plain-JS references (double precision, whole matrices, no tiling) of the kernels in shaders/, a
// seeded random source and the error measure of the kernel tests. Runs in a page and in node.
// Layouts as in the shaders: row-major, theta/phi/g/y/dy [B, N, C], L [B, N], boxes [n, 4].

/** Seeded uniform [0, 1) source (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n f32 values uniform in [lo, hi). */
export const uniform = (rand, n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());

/** Seeded inputs {B, N, C, scale, theta, phi, g} (uniform in [-1, 1)); logit > 0 sets scale so that max |scale * theta.phi| = logit. */
export function nonLocalInputs({ B, N, C, seed, logit = 0 }) {
  const rand = rng(seed);
  const a = { B, N, C, scale: 1, theta: uniform(rand, B * N * C), phi: uniform(rand, B * N * C), g: uniform(rand, B * N * C) };
  if (logit) a.scale = Math.fround(logit / maxLogit(a));
  return a;
}

/** Scores scale * theta_i . phi_j of batch b: an N x N Float64Array. */
function scores(theta, phi, b, N, C, scale) {
  const s = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    const ti = (b * N + i) * C;
    for (let j = 0; j < N; j++) {
      const pj = (b * N + j) * C;
      let d = 0;
      for (let c = 0; c < C; c++) d += theta[ti + c] * phi[pj + c];
      s[i * N + j] = scale * d;
    }
  }
  return s;
}

/** Row-wise softmax of an N x N score matrix in place; returns the rows' logsumexp. */
function softmaxRows(s, N) {
  const lse = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let j = 0; j < N; j++) m = Math.max(m, s[i * N + j]);
    let l = 0;
    for (let j = 0; j < N; j++) l += Math.exp(s[i * N + j] - m);
    lse[i] = m + Math.log(l);
    for (let j = 0; j < N; j++) s[i * N + j] = Math.exp(s[i * N + j] - lse[i]);
  }
  return lse;
}

/** Max |scale * theta_i . phi_j| over everything: how large the logits get. */
export function maxLogit({ B, N, C, scale, theta, phi }) {
  let m = 0;
  for (let b = 0; b < B; b++) for (const v of scores(theta, phi, b, N, C, scale)) m = Math.max(m, Math.abs(v));
  return m;
}

/** Forward: {y [B, N, C], lse [B, N]}. */
export function nonLocalForward({ B, N, C, scale, theta, phi, g }) {
  const y = new Float64Array(B * N * C);
  const lse = new Float64Array(B * N);
  for (let b = 0; b < B; b++) {
    const a = scores(theta, phi, b, N, C, scale);
    lse.set(softmaxRows(a, N), b * N);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const p = a[i * N + j];
        const gj = (b * N + j) * C;
        const yi = (b * N + i) * C;
        for (let c = 0; c < C; c++) y[yi + c] += p * g[gj + c];
      }
    }
  }
  return { y, lse };
}

/**
 * Backward by the analytic formulas on the full softmax matrix P (Y = P g):
 * dS = P o (dY g^T - D), D_i = dY_i . Y_i; dTheta = scale dS phi, dPhi = scale dS^T theta, dG = P^T dY.
 */
export function nonLocalBackward({ B, N, C, scale, theta, phi, g, dy }) {
  const dtheta = new Float64Array(B * N * C);
  const dphi = new Float64Array(B * N * C);
  const dg = new Float64Array(B * N * C);
  for (let b = 0; b < B; b++) {
    const p = scores(theta, phi, b, N, C, scale);
    softmaxRows(p, N);
    const row = (i) => (b * N + i) * C;
    for (let i = 0; i < N; i++) {
      // D_i = dY_i . Y_i with Y_i = sum_j P_ij g_j
      let d = 0;
      for (let c = 0; c < C; c++) {
        let yc = 0;
        for (let j = 0; j < N; j++) yc += p[i * N + j] * g[row(j) + c];
        d += dy[row(i) + c] * yc;
      }
      for (let j = 0; j < N; j++) {
        const pij = p[i * N + j];
        let dp = 0;
        for (let c = 0; c < C; c++) dp += dy[row(i) + c] * g[row(j) + c];
        const ds = pij * (dp - d);
        for (let c = 0; c < C; c++) {
          dtheta[row(i) + c] += scale * ds * phi[row(j) + c];
          dphi[row(j) + c] += scale * ds * theta[row(i) + c];
          dg[row(j) + c] += pij * dy[row(i) + c];
        }
      }
    }
  }
  return { dtheta, dphi, dg };
}

/** Attention rows of the query pixels idx: [B, K, N]. */
export function attentionRows({ B, N, C, scale, theta, phi, idx }) {
  const K = idx.length;
  const out = new Float64Array(B * K * N);
  for (let b = 0; b < B; b++) {
    const a = scores(theta, phi, b, N, C, scale);
    softmaxRows(a, N);
    idx.forEach((i, k) => out.set(a.subarray(i * N, (i + 1) * N), (b * K + k) * N));
  }
  return out;
}

/** IoU of [x1, y1, x2, y2] boxes a and b (continuous convention, as the crate's boxes::iou). */
export function iou(a, b) {
  const inter = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) * Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (r) => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Sampler statistics: {maxIou [P], argmax [P] (-1 without GT), hist [K], ious [P][G]}. */
export function sampler({ proposals, gts, K, negThr }) {
  const P = proposals.length / 4;
  const G = gts.length / 4;
  const box = (arr, k) => arr.subarray(4 * k, 4 * k + 4);
  const maxIou = new Float64Array(P);
  const argmax = new Int32Array(P).fill(-1);
  const hist = new Uint32Array(K);
  const ious = [];
  for (let p = 0; p < P; p++) {
    const row = Array.from({ length: G }, (_, g) => iou(box(proposals, p), box(gts, g)));
    ious.push(row);
    row.forEach((v, g) => { if (argmax[p] < 0 || v > maxIou[p]) { maxIou[p] = v; argmax[p] = g; } });
    if (maxIou[p] < negThr && K > 0) hist[Math.min(K - 1, Math.floor((maxIou[p] / negThr) * K))]++;
  }
  return { maxIou, argmax, hist, ious };
}

/**
 * Error of `got` against `want`: {maxErr, maxRef, rel: maxErr / maxRef, at, got, want, nonFinite}
 * (max absolute error, its index and values, the largest |want|, and how many got are NaN or infinite).
 */
export function compare(got, want) {
  if (got.length !== want.length) throw new Error(`length ${got.length} != expected ${want.length}`);
  let maxErr = 0;
  let maxRef = 0;
  let at = 0;
  let nonFinite = 0;
  for (let k = 0; k < want.length; k++) {
    const finite = Number.isFinite(got[k]);
    if (!finite) nonFinite++;
    const e = finite ? Math.abs(got[k] - want[k]) : Infinity;
    if (e > maxErr) { maxErr = e; at = k; }
    maxRef = Math.max(maxRef, Math.abs(want[k]));
  }
  return { maxErr, maxRef, rel: maxErr / maxRef, at, got: got[at], want: want[at], nonFinite };
}
