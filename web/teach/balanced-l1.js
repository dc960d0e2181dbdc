// The dataset section's "Balanced L1" card (#balanced-l1, paper Fig. 5): the loss and its
// gradient against the regression error x = |prediction - target|, Balanced L1 (alpha, gamma
// from the sliders) against smooth L1 (Faster R-CNN's), computed by the trainer's own Rust
// formulas in the detector worker (window.libraApp.lossCurves). It needs no photo: it draws
// when the card first comes into view, and again whenever a slider moves (only the latest
// values are computed, so dragging never queues up work).
import { drawCurves } from './balanced-l1-chart.js';
import { DEFAULTS, LatestOnly, bOf, batchPoints, chartSeries, checkCurves, curvesRequest, fmt, readout } from './balanced-l1-curves.js';

const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(1)}×` : '—');

/**
 * The card. `host.say(text)` puts a message in #message. `state` is what tests read
 * (window.libraDataset.balancedL1View); `set({alpha, gamma})` sets the values as the sliders do
 * (also values the sliders cannot reach: the detector's refusal is shown then).
 */
export class BalancedL1View {
  constructor(card, host) {
    const $ = (id) => card.querySelector(`#${id}`);
    this.card = card;
    this.host = host;
    this.ui = {
      alpha: $('l1-alpha'), alphaValue: $('l1-alpha-value'), gamma: $('l1-gamma'), gammaValue: $('l1-gamma-value'), beta: $('l1-beta-value'),
      status: $('l1-status'), readout: $('l1-readout'), loss: $('l1-loss-chart'), gradient: $('l1-grad-chart'),
    };
    this.params = { ...DEFAULTS };
    this.curves = null; // the last JSON drawn
    this.drawn = null; // {datasets: [labels], loss, gradient, alpha, gamma, beta, marker}
    this.error = null; // the last failure's text, null after a success
    this.said = null; // the message it put in #message
    this.started = false;
    this.batch = null; // {errors, step, run}: the latest training batch's regression errors
    this.batchDrawn = null; // {step, count, inliers, points}: what the dots show
    this.latest = new LatestOnly((params) => this.fetch(params));
    for (const s of [this.ui.alpha, this.ui.gamma]) s.addEventListener('input', () => this.set({ alpha: Number(this.ui.alpha.value), gamma: Number(this.ui.gamma.value) }));
    // The card's sliders keep their keys: the dataset's shortcuts (arrows, N, P, 1-9) are for the editor.
    card.addEventListener('keydown', (e) => {
      if (e.target instanceof HTMLInputElement) e.stopPropagation();
    });
    this.showParams();
    this.setState('idle');
    this.ui.status.textContent = 'The curves are drawn when this card comes into view.';
    // Nothing to compute until someone looks: then once, by the detector worker.
    if ('IntersectionObserver' in window) {
      const seen = new IntersectionObserver((entries) => {
        if (!entries.some((e) => e.isIntersecting)) return;
        seen.disconnect();
        this.start();
      });
      seen.observe(card);
    } else {
      this.start();
    }
  }

  /** {state, alpha, gamma, beta, curves, drawn, error}: alpha, gamma are the values asked for, drawn.alpha, drawn.gamma the ones shown. */
  get state() {
    const { alpha, gamma, beta } = this.params;
    return { state: this.card.dataset.l1State, alpha, gamma, beta, curves: this.curves, drawn: this.drawn, error: this.error, batch: this.batchDrawn };
  }

  /** Plots a training batch's regression errors (step `step` of run `run`) on the curves. */
  showBatch(errors, run, step) {
    this.batch = { errors, run, step };
    if (!this.curves || !this.drawn) return this.start();
    this.draw(this.curves, { alpha: this.drawn.alpha, gamma: this.drawn.gamma, beta: this.drawn.beta }).catch((e) => this.fail(this.params, e));
  }

  setState(s) {
    this.card.dataset.l1State = s;
  }

  /** Draws the curves for the current values, once (later changes come through set()). */
  start() {
    if (this.started) return;
    this.update();
  }

  /** Takes new alpha and/or gamma (numbers) and recomputes; resolves once drawn, refused or superseded by a newer request. */
  set({ alpha = this.params.alpha, gamma = this.params.gamma } = {}) {
    this.params = { ...this.params, alpha, gamma };
    this.ui.alpha.value = String(alpha);
    this.ui.gamma.value = String(gamma);
    this.showParams();
    return this.update();
  }

  showParams() {
    const { alpha, gamma, beta } = this.params;
    this.ui.alphaValue.textContent = fmt(alpha);
    this.ui.gammaValue.textContent = fmt(gamma);
    this.ui.beta.textContent = fmt(beta);
  }

  /** Asks the detector worker for the curves of `params` (the trainer's formulas). */
  async fetch(params) {
    if (!window.libraApp?.lossCurves) throw new Error('the detector is not loaded');
    return checkCurves(await window.libraApp.lossCurves(curvesRequest(params)));
  }

  /** Computes the curves for the current values (only the latest request is drawn) and draws them. */
  async update() {
    this.started = true;
    const params = { ...this.params };
    this.setState('running');
    const loading = document.body.dataset.state === 'loading';
    this.ui.status.textContent = `Computing the curves for α = ${fmt(params.alpha)}, γ = ${fmt(params.gamma)} with the trainer's formulas${loading ? ' (once the detector has loaded)' : ''}…`;
    const outcome = await this.latest.request(params);
    if (outcome.superseded) return;
    if (outcome.error) return this.fail(params, outcome.error);
    try {
      await this.draw(outcome.result, params);
    } catch (e) {
      return this.fail(params, e);
    }
    if (this.latest.busy) return; // a newer request runs: its answer sets the state
    this.error = null;
    // Our own failure message, if still shown, is out of date now.
    if (this.said && document.getElementById('message')?.textContent === this.said) this.host.say('');
    this.said = null;
    this.setState('done');
  }

  fail(params, e) {
    if (this.latest.busy) return;
    const what = `α = ${fmt(params.alpha)}, γ = ${fmt(params.gamma)}`;
    this.error = e?.message ?? String(e);
    this.setState('error');
    this.said = `The Balanced L1 curves could not be computed for ${what}: ${this.error}. Move a slider to try other values.`;
    this.host.say(this.said);
    const shown = this.drawn ? ` The charts still show α = ${fmt(this.drawn.alpha)}, γ = ${fmt(this.drawn.gamma)}.` : '';
    this.ui.status.textContent = `No curves for ${what} (see the message above).${shown}`;
  }

  /** Draws `curves` (computed for `params`) on both charts, with the read-out. */
  async draw(curves, params) {
    const { beta } = params;
    const series = chartSeries(curves, params);
    const b = this.batch && batchPoints(curves, this.batch.errors, beta);
    const dots = (points) => b && { label: `Run ${this.batch.run}, step ${this.batch.step}: ${b.count} errors (${b.inliers} inliers)`, points };
    await drawCurves(this.ui.loss, curves.x, series.loss, { beta, yTitle: 'Loss', batch: dots(b?.loss) });
    await drawCurves(this.ui.gradient, curves.x, series.gradient, { beta, yTitle: 'Gradient dL/dx', batch: dots(b?.gradient) });
    this.batchDrawn = b && { step: this.batch.step, run: this.batch.run, count: b.count, inliers: b.inliers, points: b.loss };
    this.curves = curves;
    const loss = series.loss.map((s) => s.label);
    const gradient = series.gradient.map((s) => s.label);
    this.drawn = { datasets: [...loss, ...gradient], loss, gradient, alpha: params.alpha, gamma: params.gamma, beta, marker: beta };
    const r = readout(curves, params);
    const g = (v) => v.toFixed(2);
    this.ui.readout.textContent = `With α = ${fmt(params.alpha)} and γ = ${fmt(params.gamma)} (b = e^(γ/α) − 1 = ${bOf(params.alpha, params.gamma).toFixed(2)}): `
      + `an inlier at x = ${fmt(r.inlier)} gets a gradient of ${g(r.inlierGrad.balanced)} from Balanced L1 against ${g(r.inlierGrad.smooth)} from smooth L1 (${ratio(r.inlierGrad.balanced, r.inlierGrad.smooth)}); `
      + `an outlier at x = ${fmt(r.outlier)} gets ${g(r.outlierGrad.balanced)} (the cap γ) against ${g(r.outlierGrad.smooth)}.`;
    this.ui.status.textContent = `Computed by the trainer's own formulas (crate/loss.rs) in the detector, at ${curves.x.length} points of x from 0 to ${fmt(curves.x[curves.x.length - 1])}.`;
  }
}
