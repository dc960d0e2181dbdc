// Keeping training runs in the browser, the parts that are plain data: the storage budget for
// model copies and which copies to drop, what a run is saved as and how it comes back after a
// reload, and what to say about it. No DOM or IndexedDB, so node's unit tests run it
// (tests/unit/train-storage.test.mjs); ./store.js does the IndexedDB part.
import { plural } from '../words.js';

/**
 * At most this many bytes of model copies (the .lrc saved at each measurement) are kept for all
 * runs together: 250 MB, about 17 copies of the browser preset's model (14 MB in f32) or 600 of
 * the tiny preset's. Settings, curves and AP50 are always kept (well under 1 kB a step).
 */
export const MODEL_BUDGET_BYTES = 250e6;

/** States of a run whose worker was still at work: after a reload it comes back 'interrupted'. */
const ACTIVE = ['preparing', 'running', 'pausing', 'paused', 'stopping'];

const newestFirst = (a, b) => b.run - a.run || b.step - a.step;

/**
 * The model copies ({run, step, size}) to drop so that the rest fit in `budget` bytes. Kept
 * first: each run's latest copy (the one its row offers), newest run first; then the other
 * copies, newest first (run ids and steps grow with time). In that order, each copy that still
 * fits is kept; the others are returned. Curves are never dropped.
 */
export function copiesToDrop(copies, budget = MODEL_BUDGET_BYTES) {
  const latest = new Map();
  for (const c of copies) {
    const seen = latest.get(c.run);
    if (!seen || c.step > seen.step) latest.set(c.run, c);
  }
  const rest = copies.filter((c) => latest.get(c.run) !== c);
  let left = budget;
  const drop = [];
  for (const c of [...[...latest.values()].sort(newestFirst), ...rest.sort(newestFirst)]) {
    if (c.size <= left) left -= c.size;
    else drop.push(c);
  }
  return drop;
}

/** What is saved of a run besides its steps and model copies. */
export function runRecord(run) {
  const { id, label, options, evalEvery, from, state, evals, warnings, error } = run;
  return { id, label, options, evalEvery, from, state, evals, warnings, error };
}

/** What is saved of a step: all but the batch's regression errors (the Balanced L1 view's live dots). */
export function stepRecord(step) {
  const { reg_errors: _, ...kept } = step;
  return kept;
}

/**
 * A saved run as it comes back: `record` (runRecord), its saved `steps` and the steps of its
 * saved model copies. A run that was still at work is 'interrupted' (its worker is gone); its
 * `model` is the latest copy, {step, bytes: null} (the bytes stay in the store until asked).
 */
export function restoredRun(record, steps, copySteps) {
  const state = ACTIVE.includes(record.state) ? 'interrupted' : record.state;
  const modelStep = copySteps.length ? Math.max(...copySteps) : null;
  return { ...record, state, steps, model: modelStep === null ? null : { step: modelStep, bytes: null } };
}

/** "0.4 MB", "12 MB", "35 kB". */
export function sizeText(bytes) {
  if (bytes < 1e5) return `${Math.ceil(bytes / 1e3)} kB`;
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

/** The runs table's note: what is kept and the budget. */
export function storageText({ runs, copies, bytes, budget = MODEL_BUDGET_BYTES }) {
  if (runs === 0) return '';
  return `Kept in this browser: ${plural(runs, 'run')} with ${runs === 1 ? 'its' : 'their'} settings and curves, and ${plural(copies, 'model copy', 'model copies')} (${sizeText(bytes)}; at most ${sizeText(budget)} of models are kept, the oldest copies go first).`;
}

/** Why run `id` stopped at its last saved `step`: it was training when the page went away. */
export function interruptedText({ id, label, steps, options, model }) {
  const step = steps.at(-1)?.step ?? 0;
  const kept = model ? `its model at step ${model.step} is kept in the runs table` : 'no copy of its model had been saved';
  return `Run ${id} (${label}) was interrupted at step ${step} of ${options.steps} when the page was closed or reloaded: it cannot go on, but ${kept}.`;
}

/**
 * What to say when a write of run `run` failed with `error`: `copyStep` names the model copy
 * that was not saved (null: the latest steps); `keptBytes` is what the runs' model copies take.
 * A full storage (QuotaExceededError) says what to delete.
 */
export function saveFailedText(error, { run, copyStep = null, keptBytes }) {
  const what = copyStep === null ? `the latest steps of run ${run}` : `the model of run ${run} at step ${copyStep}`;
  const after = 'training goes on, and everything saved before is kept';
  if (error?.name === 'QuotaExceededError') {
    const runs = keptBytes > 0 ? `old runs in the runs table (their saved models take ${sizeText(keptBytes)}) or ` : '';
    return `Browser storage is full, so ${what} could not be saved (${after}). To make room, delete ${runs}photos from Your dataset.`;
  }
  return `This browser could not save ${what} (${error?.message ?? error}); ${after}.`;
}
