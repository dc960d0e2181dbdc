// One training run: a trainer worker (./worker.js) fed the photos, then stepped one request at a
// time from here, so pause, resume and stop act between steps and the page never waits on the
// worker. It evaluates on the held-out photos before the first step (the AP50 training starts
// from), every `evalEvery` steps, at a pause and at the end, and keeps a copy of the model each
// time after the start (so a crash loses at most those steps).
import { WorkerClient, WorkerDied, kernelsSetting } from '../worker-client.js';
import { decodeImage, pixelsAtMost } from '../sources.js';
import { crashText } from './plan.js';

// SwiftShader (the CI's emulated GPU) is slow: generous limits, as for detection.
const CREATE_TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 600_000;

export class TrainingRun {
  state = 'preparing'; // preparing | running | pausing | paused | stopping | done | stopped | failed | interrupted (restored after a reload, ./card.js)
  steps = []; // step replies: {step, steps, lr, losses, skipped, reg_errors, ms}
  evals = []; // {step, ap, ap50, ap75, per_class_ap50, images}
  model = null; // {bytes, step}: the latest copy of the trained model
  error = null;
  warnings = [];

  #client = null;
  #wake = null; // resolves a paused loop

  /**
   * `options`: FineTuneOptions; `hooks`: {changed(run), stepped(run, step), evaluated(run, ev),
   * kept(run, model): each new copy of the model}, called as the run goes.
   */
  constructor({ id, label, options, evalEvery, backend, hooks }) {
    Object.assign(this, { id, label, options, evalEvery, backend, hooks });
  }

  get step() {
    return this.steps.at(-1)?.step ?? 0;
  }

  get active() {
    return ['preparing', 'running', 'pausing', 'paused', 'stopping'].includes(this.state);
  }

  #set(state) {
    this.state = state;
    this.hooks.changed(this);
  }

  /** Starts the worker from `modelBytes` and sends it `photos` ({name, blob, boxes, heldOut}); then trains. */
  async start(modelBytes, photos) {
    try {
      this.#client = new WorkerClient(new URL('worker.js', import.meta.url), 'trainer');
      this.#client.onDeath = (reason, { memoryBytes }) => this.#died(reason, memoryBytes);
      const copy = modelBytes.slice(0);
      await this.#client.request({ type: 'create', backend: this.backend, kernels: kernelsSetting(), modelBytes: copy, options: this.options }, CREATE_TIMEOUT_MS, [copy]);
      for (const [i, p] of photos.entries()) {
        if (this.state !== 'preparing') return;
        this.hooks.progress?.(this, `preparing photo ${i + 1} of ${photos.length}…`);
        const bitmap = await decodeImage(p.blob);
        if (!bitmap) {
          this.warnings.push(`${p.name} could not be decoded and was skipped`);
          continue;
        }
        const { pixels, sx, sy } = pixelsAtMost(bitmap, bitmap.width, bitmap.height, this.options.input_size);
        bitmap.close();
        const boxes = p.boxes.map(([x1, y1, x2, y2, c]) => [x1 * sx, y1 * sy, x2 * sx, y2 * sy, c]);
        const msg = { type: 'addPhoto', rgba: pixels.data.buffer, width: pixels.width, height: pixels.height, name: p.name, boxes, heldOut: p.heldOut };
        this.warnings.push(...(await this.#client.request(msg, CREATE_TIMEOUT_MS, [pixels.data.buffer])));
      }
      this.#set('running');
      await this.#evaluate(); // the AP50 training starts from
      await this.#loop();
    } catch (e) {
      if (this.state === 'failed' || this.state === 'stopped') return;
      this.error = e instanceof WorkerDied ? e.message : `Training could not run: ${e.message}`;
      this.#client?.terminate();
      this.#client = null;
      this.#set('failed');
    }
  }

  async #loop() {
    while (this.step < this.options.steps) {
      if (this.state === 'pausing') {
        await this.#checkpoint(); // AP50 and a copy of the model at the pause
        if (this.state === 'pausing') this.#set('paused');
      }
      if (this.state === 'paused') await new Promise((resolve) => (this.#wake = resolve));
      if (this.state !== 'running') break;
      const t0 = performance.now();
      const r = await this.#client.request({ type: 'step' }, STEP_TIMEOUT_MS);
      r.ms = performance.now() - t0;
      this.steps.push(r);
      this.hooks.stepped(this, r);
      if (r.step % this.evalEvery === 0 && r.step < this.options.steps) await this.#checkpoint();
    }
    if (this.state === 'failed') return;
    await this.#checkpoint();
    // The worker stays, so the views can still show this model, until release().
    this.#set(this.step >= this.options.steps ? 'done' : 'stopped');
  }

  /** Measures AP50 on the held-out photos (none: nothing to measure). */
  async #evaluate() {
    const ev = await this.#client.request({ type: 'evaluate' }, STEP_TIMEOUT_MS);
    if (ev) {
      this.evals.push({ step: this.step, ...ev });
      this.hooks.evaluated(this, this.evals.at(-1));
    }
  }

  /** Measures AP50 and keeps a copy of the model. */
  async #checkpoint() {
    const step = this.step;
    if (this.model?.step === step) return;
    await this.#evaluate();
    this.model = { bytes: await this.#client.request({ type: 'export', half: false }, STEP_TIMEOUT_MS), step };
    this.hooks.kept(this, this.model);
    this.hooks.changed(this);
  }

  pause() {
    if (this.state === 'running') this.#set('pausing');
  }

  resume() {
    if (this.state !== 'paused' && this.state !== 'pausing') return;
    this.#set('running');
    this.#wake?.();
    this.#wake = null;
  }

  /** Stops after the current step (the model so far is kept). */
  stop() {
    if (this.state === 'preparing') {
      this.#set('stopped');
      return this.release();
    }
    if (!this.active) return;
    const wasPaused = this.state === 'paused';
    this.#set('stopping');
    if (wasPaused) {
      this.#wake?.();
      this.#wake = null;
    }
  }

  /** True while the run's worker holds its model (until release() or a crash). */
  get canView() {
    return this.#client !== null && this.state !== 'preparing';
  }

  /** Ends the worker of a finished run (its saved model stays in `model`). */
  release() {
    if (this.active) return;
    this.#client?.terminate();
    this.#client = null;
  }

  /** A teaching view's request (`msg`, its `transfer` list), answered on the model being trained. */
  async view(msg, transfer) {
    if (!this.canView) throw new Error('this training run has no model to show any more');
    return this.#client.request(msg, STEP_TIMEOUT_MS, transfer);
  }

  #died(reason, memoryBytes) {
    if (!this.active) return;
    this.#client = null;
    this.error = crashText({ reason, memoryBytes, step: this.step, options: this.options, keptStep: this.model?.step ?? 0 });
    this.#wake?.();
    this.#set('failed');
  }
}
