// The "Train on your dataset" card (#train): the form, start / pause / stop, progress with time
// left and the loss and AP50 charts; the runs below them are ./runs-table.js's. Each run is a
// TrainingRun (./run.js) in its own worker, saved as it goes in IndexedDB (./store.js) and
// restored on the next visit; the plain logic is in ./plan.js and ./storage.js.
import { drawAp, drawLosses } from './charts.js';
import { balanceLabel, defaultSteps, fmt, readOptions, splitPhotos, splitText, startEval, STATE_TEXT, timeLeft } from './plan.js';
import { TrainingRun } from './run.js';
import { RunsTable } from './runs-table.js';
import { quotaFromUrl, RunStore } from './store.js';
import { interruptedText, restoredRun } from './storage.js';

/**
 * The card. `host`: {dataset() -> {ds, blobs}, say(text), detector() -> {bytes, name, info,
 * backend} of the running detector or null, useModel(bytes, name) -> Promise, started(run),
 * stepped(run, step), checkpointed(run)}. `refresh()` after every dataset change; `state` is what tests read
 * (window.libraTraining.state). The saved runs are back once the card has data-runs-ready="1".
 */
export class TrainCard {
  constructor(card, host) {
    const $ = (id) => card.querySelector(`#${id}`);
    this.card = card;
    this.host = host;
    this.ui = {
      split: $('train-split'), layers: $('train-layers'), steps: $('train-steps'), batch: $('train-batch'), lr: $('train-lr'), size: $('train-size'),
      proposals: $('train-proposals'), evalEvery: $('train-eval-every'), iouBalanced: $('train-iou-balanced'), bfp: $('train-bfp'), balancedL1: $('train-balanced-l1'),
      augment: $('train-augment'), turns: $('train-turns'),
      start: $('train-start'), pause: $('train-pause'), stop: $('train-stop'), progress: $('train-progress'), status: $('train-status'),
      lossChart: $('train-loss-chart'), apChart: $('train-ap-chart'),
    };
    this.runs = [];
    this.store = null; // ./store.js, once open; null where IndexedDB is unavailable
    this.restored = false;
    this.table = new RunsTable(card, {
      runs: () => this.runs,
      store: () => this.store,
      say: (text) => host.say(text),
      useModel: (bytes, name) => host.useModel(bytes, name),
      deleted: (ids) => this.deleted(ids),
    });
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
    this.restore();
  }

  /** Opens the runs store and shows the runs saved by earlier visits. */
  async restore() {
    try {
      this.store = await RunStore.open({ quota: quotaFromUrl(location.search) });
      this.store.onError = (e, where) => this.table.saveFailed(e, where);
      this.store.onCopies = () => this.renderRuns();
      for (const { record, steps, copySteps } of await this.store.load()) {
        this.runs.push(Object.assign(this.newRun(record), restoredRun(record, steps, copySteps), { warned: true }));
      }
    } catch (e) {
      this.store = null;
      this.table.note = `Training runs cannot be kept in this browser (IndexedDB: ${e.message}): they will be lost on reload.`;
    }
    this.restored = true;
    if (this.current) {
      this.drawCharts();
      this.showProgress(this.current);
    }
    this.renderRuns();
    this.card.dataset.runsReady = '1';
  }

  /** A TrainingRun for this card: `fields` {id, label, options, evalEvery, from}. */
  newRun({ id, label, options, evalEvery, from }) {
    const run = new TrainingRun({
      id,
      label,
      options,
      evalEvery,
      backend: this.host.detector()?.backend ?? null,
      hooks: {
        changed: (r) => this.changed(r),
        progress: (r, text) => this.showProgress(r, text),
        stepped: (r, step) => this.stepped(r, step),
        evaluated: () => drawAp(this.ui.apChart, this.runs).catch((e) => this.host.say(`The AP50 chart could not be drawn: ${e.message}`)),
        kept: (r, model) => this.store?.save(r, model),
      },
    });
    run.from = from;
    return run;
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
        saved: this.store?.saved(r.id) ?? null, // what IndexedDB holds: {step, evals, copies: [steps]}
      })),
      storage: { open: this.store !== null, bytes: this.store?.bytes ?? 0, budget: this.store?.budget ?? 0, note: this.table.note }, // the runs store, its model copies
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
    if (!this.restored) return 'Wait for the saved runs to load.';
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
      augment: this.ui.augment.checked, turns: this.ui.turns.checked,
    };
    const read = readOptions(values, this.split.classes);
    if (read.error) return this.host.say(read.error);
    const { blobs } = this.host.dataset();
    const photos = this.split.photos.filter((p) => blobs.has(p.id)).map((p) => ({ ...p, blob: blobs.get(p.id) }));
    const id = Math.max(0, ...this.runs.map((r) => r.id)) + 1;
    const run = this.newRun({ id, label: balanceLabel(read.options.balance), options: read.options, evalEvery: read.evalEvery, from: detector.name });
    this.current?.release(); // the views follow the new run
    this.runs.push(run);
    this.host.started(run);
    this.host.say('');
    if (this.store) this.table.note = '';
    this.changed(run);
    await run.start(detector.bytes, photos);
  }

  changed(run) {
    this.store?.save(run);
    this.setState(run.state);
    if (run.state === 'failed') this.host.say(run.error);
    if (run.warnings.length && run.state === 'running' && !run.warned) {
      run.warned = true;
      this.host.say(`Training started with changes to your boxes: ${run.warnings.join('; ')}.`);
    }
    if (['paused', 'done', 'stopped'].includes(run.state) || (run.model && run.state === 'running')) this.host.checkpointed(run);
    this.showProgress(run);
    this.renderRuns();
  }

  stepped(run, step) {
    this.store?.save(run);
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
    if (run.state === 'interrupted') {
      this.ui.status.textContent = interruptedText(run);
      return;
    }
    const parts = [`Run ${run.id} (${run.label}): ${STATE_TEXT[run.state] ?? run.state}`, `step ${run.step} of ${total}`];
    if (text) parts.push(text);
    const last = run.steps.at(-1);
    if (last) parts.push(`loss ${fmt(last.losses.total)}`, `${(last.ms / 1000).toFixed(1)} s per step`);
    if (run.state === 'running') parts.push(timeLeft(run.steps.map((s) => s.ms), total - run.step));
    const ev = run.evals.at(-1);
    const start = startEval(run.evals);
    if (ev) parts.push(`held-out AP50 ${fmt(ev.ap50)} at step ${ev.step}${start ? ` (${fmt(start.ap50)} before training)` : ''}`);
    this.ui.status.textContent = `${parts.join(' · ')}.`;
  }

  /** The runs table and the buttons, after any change of the runs. */
  renderRuns() {
    this.table.render();
    this.renderButtons();
  }

  /** Runs `ids` were deleted (./runs-table.js): off the charts and the progress line. */
  deleted(ids) {
    this.runs = this.runs.filter((r) => !ids.includes(r.id));
    this.drawCharts();
    if (this.current) {
      this.showProgress(this.current);
    } else {
      this.ui.progress.value = 0;
      this.ui.status.textContent = 'Not training.';
    }
    this.renderRuns();
  }

  /** Both charts for every run, with the four losses of the newest. */
  drawCharts() {
    drawLosses(this.ui.lossChart, this.runs, this.current).catch((e) => this.host.say(`The loss chart could not be drawn: ${e.message}`));
    drawAp(this.ui.apChart, this.runs).catch((e) => this.host.say(`The AP50 chart could not be drawn: ${e.message}`));
  }
}
