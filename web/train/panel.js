// The "Train on your dataset" card (#train): the form, start / pause / stop, progress with time
// left, the loss and AP50 charts, and the runs table (use a run's model as the live detector, or
// download it). Each run is a TrainingRun (./run.js) in its own worker; the plain logic is in
// ./plan.js.
import { drawAp, drawLosses } from './charts.js';
import { balanceLabel, defaultSteps, readOptions, splitPhotos, splitText, timeLeft } from './plan.js';
import { TrainingRun } from './run.js';

const STATE_TEXT = { preparing: 'preparing', running: 'training', pausing: 'pausing after this step', paused: 'paused', stopping: 'stopping after this step', done: 'done', stopped: 'stopped', failed: 'failed' };
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const fmt = (v, d = 3) => (v === null || v === undefined ? '—' : v.toFixed(d));

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/**
 * The card. `host`: {dataset() -> {ds, blobs}, say(text), detector() -> {bytes, name, info,
 * backend} of the running detector or null, useModel(bytes, name) -> Promise, started(run),
 * stepped(run, step), checkpointed(run)}. `refresh()` after every dataset change; `state` is what tests read
 * (window.libraTraining.state).
 */
export class TrainPanel {
  constructor(card, host) {
    const $ = (id) => card.querySelector(`#${id}`);
    this.card = card;
    this.host = host;
    this.ui = {
      split: $('train-split'), layers: $('train-layers'), steps: $('train-steps'), batch: $('train-batch'), lr: $('train-lr'), size: $('train-size'),
      proposals: $('train-proposals'), evalEvery: $('train-eval-every'), iouBalanced: $('train-iou-balanced'), bfp: $('train-bfp'), balancedL1: $('train-balanced-l1'),
      start: $('train-start'), pause: $('train-pause'), stop: $('train-stop'), progress: $('train-progress'), status: $('train-status'),
      lossChart: $('train-loss-chart'), apChart: $('train-ap-chart'), runs: $('train-runs'),
    };
    this.runs = [];
    this.edited = new Set(); // fields the user typed in: their defaults no longer follow the data
    this.defaultsFor = null; // the model the size and proposal defaults came from
    for (const key of ['steps', 'size', 'proposals']) this.ui[key].addEventListener('input', () => this.edited.add(key));
    this.ui.batch.addEventListener('input', () => this.refresh());
    this.ui.start.addEventListener('click', () => this.start());
    this.ui.pause.addEventListener('click', () => (this.current?.state === 'running' ? this.current.pause() : this.current?.resume()));
    this.ui.stop.addEventListener('click', () => this.current?.stop());
    $('train-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.start();
    });
    // The card's fields keep their keys: the dataset's shortcuts (arrows, N, P, 1-9) are for the editor.
    card.addEventListener('keydown', (e) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) e.stopPropagation();
    });
    window.addEventListener('beforeunload', (e) => {
      if (this.current?.active) e.preventDefault(); // a reload would end the run
    });
    this.setState('idle');
  }

  /** The newest run. */
  get current() {
    return this.runs.at(-1) ?? null;
  }

  get state() {
    return {
      state: this.card.dataset.trainState,
      split: this.split ?? null,
      runs: this.runs.map((r) => ({
        id: r.id, label: r.label, state: r.state, options: r.options, steps: r.steps, evals: r.evals,
        modelStep: r.model?.step ?? null, error: r.error, warnings: r.warnings,
      })),
    };
  }

  setState(s) {
    this.card.dataset.trainState = s;
  }

  /** Follows the dataset and the running model: the split, the defaults and the buttons. */
  refresh() {
    const { ds } = this.host.dataset();
    this.split = splitPhotos(ds);
    this.ui.split.textContent = splitText(this.split);
    const detector = this.host.detector();
    if (detector && this.defaultsFor !== detector.bytes) {
      this.defaultsFor = detector.bytes;
      if (!this.edited.has('size')) this.ui.size.value = detector.info.input_size;
      if (!this.edited.has('proposals')) this.ui.proposals.value = detector.info.train_proposals;
    }
    const train = this.split.photos.filter((p) => !p.heldOut).length;
    if (!this.edited.has('steps')) this.ui.steps.value = defaultSteps(train, Number(this.ui.batch.value) || 2);
    this.renderButtons();
  }

  /** Why training cannot start now, or null. */
  reason() {
    if (this.current?.active) return 'A run is already going: stop it first.';
    if (!this.host.detector()) return 'Wait for the detector to load: training starts from its model.';
    if (!this.split?.photos.some((p) => !p.heldOut)) return 'Label at least one photo (draw a box around each object) to train.';
    return null;
  }

  renderButtons() {
    const run = this.current;
    const why = this.reason();
    this.ui.start.disabled = why !== null;
    this.ui.start.title = why ?? '';
    const pausable = run && ['running', 'pausing', 'paused'].includes(run.state);
    this.ui.pause.disabled = !pausable || run.state === 'pausing';
    this.ui.pause.textContent = run?.state === 'paused' || run?.state === 'pausing' ? 'Resume' : 'Pause';
    if (run?.state === 'pausing') this.ui.pause.disabled = false;
    this.ui.stop.disabled = !run?.active || run.state === 'stopping';
  }

  async start() {
    const why = this.reason();
    if (why) return this.host.say(why);
    const detector = this.host.detector();
    const values = {
      steps: this.ui.steps.value, batchSize: this.ui.batch.value, lr: this.ui.lr.value, inputSize: this.ui.size.value, proposals: this.ui.proposals.value,
      evalEvery: this.ui.evalEvery.value, trainable: this.ui.layers.value,
      iouBalanced: this.ui.iouBalanced.checked, bfp: this.ui.bfp.checked, balancedL1: this.ui.balancedL1.checked,
    };
    const read = readOptions(values, this.split.classes);
    if (read.error) return this.host.say(read.error);
    const { blobs } = this.host.dataset();
    const photos = this.split.photos.filter((p) => blobs.has(p.id)).map((p) => ({ ...p, blob: blobs.get(p.id) }));
    const run = new TrainingRun({
      id: this.runs.length + 1,
      label: balanceLabel(read.options.balance),
      options: read.options,
      evalEvery: read.evalEvery,
      backend: detector.backend,
      hooks: {
        changed: (r) => this.changed(r),
        progress: (r, text) => this.showProgress(r, text),
        stepped: (r, step) => this.stepped(r, step),
        evaluated: () => drawAp(this.ui.apChart, this.runs).catch((e) => this.host.say(`The AP50 chart could not be drawn: ${e.message}`)),
      },
    });
    run.from = detector.name;
    this.current?.release(); // the views follow the new run
    this.runs.push(run);
    this.host.started(run);
    this.host.say('');
    this.changed(run);
    await run.start(detector.bytes, photos);
  }

  changed(run) {
    this.setState(run.state);
    if (run.state === 'failed') this.host.say(run.error);
    if (run.warnings.length && run.state === 'running' && !run.warned) {
      run.warned = true;
      this.host.say(`Training started with changes to your boxes: ${run.warnings.join('; ')}.`);
    }
    if (['paused', 'done', 'stopped'].includes(run.state) || (run.model && run.state === 'running')) this.host.checkpointed(run);
    this.showProgress(run);
    this.renderRuns();
    this.renderButtons();
  }

  stepped(run, step) {
    this.showProgress(run);
    drawLosses(this.ui.lossChart, this.runs, run).catch((e) => this.host.say(`The loss chart could not be drawn: ${e.message}`));
    this.renderRuns();
    this.host.stepped(run, step);
  }

  showProgress(run, text = null) {
    const total = run.options.steps;
    this.ui.progress.value = run.step / total;
    if (run.state === 'failed') {
      this.ui.status.textContent = `Run ${run.id} (${run.label}): ${run.error}`;
      return;
    }
    const parts = [`Run ${run.id} (${run.label}): ${STATE_TEXT[run.state] ?? run.state}`, `step ${run.step} of ${total}`];
    if (text) parts.push(text);
    const last = run.steps.at(-1);
    if (last) parts.push(`loss ${fmt(last.losses.total)}`, `${(last.ms / 1000).toFixed(1)} s per step`);
    if (run.state === 'running') parts.push(timeLeft(run.steps.map((s) => s.ms), total - run.step));
    const ev = run.evals.at(-1);
    if (ev) parts.push(`held-out AP50 ${fmt(ev.ap50)} at step ${ev.step}`);
    this.ui.status.textContent = `${parts.join(' · ')}.`;
  }

  renderRuns() {
    const body = this.ui.runs.tBodies[0];
    this.ui.runs.hidden = this.runs.length === 0;
    body.replaceChildren(
      ...this.runs.map((r) => {
        const recent = r.steps.slice(-10);
        const loss = recent.length ? recent.reduce((a, s) => a + s.losses.total, 0) / recent.length : null;
        const ev = r.evals.at(-1);
        const best = r.evals.reduce((m, e) => Math.max(m, e.ap50 ?? 0), 0);
        const model = el('td');
        if (r.model) {
          const name = `fine-tuned-run${r.id}-step${r.model.step}.lrc`;
          const use = el('button', { type: 'button', textContent: 'Use as detector', title: `Run the live detector on the model of run ${r.id} at step ${r.model.step} (it is kept in this browser)` });
          use.addEventListener('click', () => this.host.useModel(r.model.bytes, name));
          const save = el('button', { type: 'button', textContent: 'Download', title: `Save ${name}: load it here later or use it with the libra CLI` });
          save.addEventListener('click', () => download(r.model.bytes, name));
          model.append(`step ${r.model.step} `, use, ' ', save);
        } else {
          model.textContent = '—';
        }
        const row = el(
          'tr',
          {},
          el('th', { scope: 'row', textContent: `Run ${r.id}: ${r.label}`, title: `from ${r.from}; ${r.options.trainable}, ${r.options.input_size} px, ${r.options.batch_size} per step` }),
          el('td', { textContent: STATE_TEXT[r.state] ?? r.state }),
          el('td', { textContent: `${r.step} / ${r.options.steps}` }),
          el('td', { textContent: fmt(loss) }),
          el('td', { textContent: ev ? `${fmt(ev.ap50)} (best ${fmt(best)}, ${plural(ev.images, 'photo')})` : '—' }),
          model,
        );
        row.dataset.runId = r.id;
        return row;
      }),
    );
  }
}

function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
