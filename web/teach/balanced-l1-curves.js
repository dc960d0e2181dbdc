// The "Balanced L1" view (paper Fig. 5) as data: its parameters, the curves JSON of
// window.libraApp.lossCurves turned into chart series and read-outs, and a request queue that
// keeps only the latest request. Pure functions, no DOM. The losses themselves are never
// computed here: the curves come from the trainer's own Rust formulas (crate/loss.rs, `scalar`).
//
// The JSON: {x, balanced_l1, balanced_l1_grad, smooth_l1, smooth_l1_grad}, arrays of one length,
// x evenly spaced over [0, xMax].

/** The paper's defaults (and the trainer's): alpha 0.5, gamma 1.5, beta 1 (fixed in the view). */
export const DEFAULTS = Object.freeze({ alpha: 0.5, gamma: 1.5, beta: 1 });
/** The sliders' ranges. */
export const RANGES = Object.freeze({
  alpha: Object.freeze({ min: 0.1, max: 1, step: 0.05 }),
  gamma: Object.freeze({ min: 0.5, max: 3, step: 0.1 }),
});
/** The regression error axis: x = |prediction - target| in [0, X_MAX], POINTS values (step 0.01). */
export const X_MAX = 3;
export const POINTS = 301;
export const CURVE_KEYS = ['x', 'balanced_l1', 'balanced_l1_grad', 'smooth_l1', 'smooth_l1_grad'];
/** Series colours: Balanced L1 as the sampling view's IoU-balanced sampler, the baseline as its random one. */
export const COLOURS = Object.freeze({ balanced: '#2456c9', smooth: '#f97316', marker: '#5b6475', batch: 'rgba(190, 18, 60, 0.55)' });

/** A parameter for people: "0.5", "1.5", "0.35" (at most 2 decimals, no trailing zeros). */
export const fmt = (v) => (Number.isFinite(v) ? String(Number(v.toFixed(2))) : String(v));

/** b = e^(gamma / alpha) - 1, the constant that makes the two branches meet at x = beta (for the caption only). */
export const bOf = (alpha, gamma) => Math.exp(gamma / alpha) - 1;

/** The request for window.libraApp.lossCurves. */
export const curvesRequest = ({ alpha, gamma, beta = DEFAULTS.beta }) => ({ alpha, gamma, beta, xMax: X_MAX, points: POINTS });

/** Throws unless `curves` is the loss_curves JSON: five arrays of one length >= 2, finite numbers. */
export function checkCurves(curves) {
  if (!curves || typeof curves !== 'object') throw new Error('the detector sent no curves');
  const n = curves.x?.length;
  for (const key of CURVE_KEYS) {
    const a = curves[key];
    if (!Array.isArray(a) || a.length !== n || n < 2) throw new Error(`the curves' "${key}" is not a list of ${n ?? '?'} values`);
    if (!a.every(Number.isFinite)) throw new Error(`the curves' "${key}" has values that are not numbers`);
  }
  return curves;
}

/** The index of the x nearest to `x` (x evenly spaced from curves.x[0]). */
export function indexOf(curves, x) {
  const xs = curves.x;
  const step = (xs[xs.length - 1] - xs[0]) / (xs.length - 1);
  return Math.min(xs.length - 1, Math.max(0, Math.round((x - xs[0]) / step)));
}

/** The value of curve `key` at the x nearest to `x`. */
export const valueAt = (curves, key, x) => curves[key][indexOf(curves, x)];

/** Batch errors plotted at most (an even subsample of a larger batch). */
export const MAX_BATCH_POINTS = 400;

/**
 * A training batch's regression errors placed on the Balanced L1 curves: points {x, y} on the
 * loss and on the gradient (errors beyond the chart drawn at its right edge), how many errors
 * there are, and how many are inliers (x < beta).
 */
export function batchPoints(curves, errors, beta = DEFAULTS.beta) {
  const stride = Math.max(1, Math.ceil(errors.length / MAX_BATCH_POINTS));
  const shown = errors.filter((_, i) => i % stride === 0).map((e) => Math.min(Math.abs(e), curves.x[curves.x.length - 1]));
  return {
    count: errors.length,
    inliers: errors.filter((e) => Math.abs(e) < beta).length,
    loss: shown.map((x) => ({ x, y: valueAt(curves, 'balanced_l1', x) })),
    gradient: shown.map((x) => ({ x, y: valueAt(curves, 'balanced_l1_grad', x) })),
  };
}

/** The dataset labels for `params`. */
export function labels({ alpha, gamma, beta = DEFAULTS.beta }) {
  return { balanced: `Balanced L1 (α = ${fmt(alpha)}, γ = ${fmt(gamma)})`, smooth: `Smooth L1 (β = ${fmt(beta)}, Faster R-CNN)` };
}

/**
 * The two charts' series for `curves` computed with `params`: {loss: [...], gradient: [...]}, each
 * [{key, label, colour, data}] with Balanced L1 first; `data` are the curves' own arrays.
 */
export function chartSeries(curves, params) {
  const l = labels(params);
  const series = (balanced, smooth) => [
    { key: 'balanced', label: l.balanced, colour: COLOURS.balanced, data: curves[balanced] },
    { key: 'smooth', label: l.smooth, colour: COLOURS.smooth, data: curves[smooth] },
  ];
  return { loss: series('balanced_l1', 'smooth_l1'), gradient: series('balanced_l1_grad', 'smooth_l1_grad') };
}

/**
 * Numbers for the read-out, read off the curves: the gradients of an inlier at x = 0.5 under both
 * losses, of an outlier (x = 2), and the loss at x = beta from each side of the grid.
 */
export function readout(curves, { beta = DEFAULTS.beta } = {}) {
  const inlier = beta / 2;
  const outlier = 2 * beta;
  return {
    inlier,
    outlier,
    inlierGrad: { balanced: valueAt(curves, 'balanced_l1_grad', inlier), smooth: valueAt(curves, 'smooth_l1_grad', inlier) },
    outlierGrad: { balanced: valueAt(curves, 'balanced_l1_grad', outlier), smooth: valueAt(curves, 'smooth_l1_grad', outlier) },
  };
}

/**
 * Runs `run(params)` for the latest request only: one run at a time; a request made while one
 * runs waits, and replaces any request already waiting. `request(params)` resolves with
 * {params, result} or {params, error} when its run is the latest, else with {params, superseded: true}
 * (a newer request came before its answer could be used).
 */
export class LatestOnly {
  constructor(run) {
    this.run = run;
    this.waiting = null; // {params, resolve}
    this.running = false;
  }

  /** True while a run is in flight or a request waits. */
  get busy() {
    return this.running || this.waiting !== null;
  }

  request(params) {
    return new Promise((resolve) => {
      this.waiting?.resolve({ params: this.waiting.params, superseded: true });
      this.waiting = { params, resolve };
      this.pump();
    });
  }

  async pump() {
    if (this.running) return;
    this.running = true;
    while (this.waiting) {
      const job = this.waiting;
      this.waiting = null;
      let outcome;
      try {
        outcome = { params: job.params, result: await this.run(job.params) };
      } catch (error) {
        outcome = { params: job.params, error };
      }
      // A newer request came meanwhile: this answer is stale, the loop runs the newer one.
      job.resolve(this.waiting ? { params: job.params, superseded: true } : outcome);
    }
    this.running = false;
  }
}
