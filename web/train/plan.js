// Training in the page, the parts that are plain data: which photos train and which are held
// out, default settings for 20-200 photos, checking the form, time left, the words for a run's
// state and numbers, and what to say when a run dies. No DOM, so node's unit tests run it
// (tests/unit/train-plan.test.mjs).
import { plural } from '../words.js';

/** Photos held out for AP50 once a dataset has at least this many labelled photos. */
export const MIN_FOR_HOLD_OUT = 5;
/** One photo in HOLD_OUT_EVERY is held out. */
export const HOLD_OUT_EVERY = 5;

/** A run's state (./run.js) as the card and the runs table say it. */
export const STATE_TEXT = { preparing: 'preparing', running: 'training', pausing: 'pausing after this step', paused: 'paused', stopping: 'stopping after this step', done: 'done', stopped: 'stopped', failed: 'failed', interrupted: 'interrupted' };
/** A loss or an AP with `d` decimals; '—' when there is none. */
export const fmt = (v, d = 3) => (v === null || v === undefined ? '—' : v.toFixed(d));

/** The measurement before training (step 0) when a later one exists, else null. */
export const startEval = (evals) => (evals.at(-1)?.step > 0 && evals[0].step === 0 ? evals[0] : null);

/**
 * Splits a dataset (web/dataset/model.js) into training and held-out photos. Photos without
 * boxes are left out; of the rest, in id order, every HOLD_OUT_EVERY-th (the 5th, 10th, ...) is
 * held out once there are MIN_FOR_HOLD_OUT, so the split stays put while photos are added and
 * every run of an ablation sees the same one. Classes no box uses are left out (`unused`), and
 * boxes become [x1, y1, x2, y2, class index] with the index into `classes` (the used classes,
 * in the dataset's order).
 */
export function splitPhotos(ds) {
  const used = new Set(ds.images.flatMap((im) => im.boxes.map((b) => b.classId)));
  const classes = ds.classes.filter((c) => used.has(c.id));
  const index = new Map(classes.map((c, i) => [c.id, i]));
  const labelled = ds.images.filter((im) => im.boxes.length > 0).sort((a, b) => a.id - b.id);
  const holdOut = labelled.length >= MIN_FOR_HOLD_OUT;
  const photos = labelled.map((im, i) => ({
    id: im.id,
    name: im.name,
    boxes: im.boxes.map((b) => [...b.bbox, index.get(b.classId)]),
    heldOut: holdOut && i % HOLD_OUT_EVERY === HOLD_OUT_EVERY - 1,
  }));
  const unlabelled = ds.images.filter((im) => im.boxes.length === 0).map((im) => im.name);
  const unused = ds.classes.filter((c) => !used.has(c.id)).map((c) => c.name);
  return { classes: classes.map((c) => c.name), photos, unlabelled, unused };
}

/** Steps for `train` photos at `batch`: about 15 passes over them, from 60 to 1500 steps. */
export function defaultSteps(train, batch) {
  return Math.min(1500, Math.max(60, Math.ceil((15 * Math.max(1, train)) / Math.max(1, batch))));
}

/** "12 photos train, 3 are held out to measure AP50; 2 without boxes are left out". */
export function splitText({ photos, unlabelled, unused = [] }) {
  const held = photos.filter((p) => p.heldOut).length;
  const train = photos.length - held;
  let text = photos.length === 0 ? 'No photo has boxes yet: label some photos above to train' : `${plural(train, 'photo')} to train on`;
  if (photos.length > 0) {
    text += held > 0 ? `, ${held} held out to measure AP50` : ` (label at least ${MIN_FOR_HOLD_OUT} photos to hold some out and measure AP50)`;
  }
  if (unlabelled.length) text += `; ${plural(unlabelled.length, 'photo')} without boxes ${unlabelled.length === 1 ? 'is' : 'are'} left out`;
  if (photos.length && unused.length) text += `; ${unused.length === 1 ? 'the class' : 'the classes'} ${unused.map((n) => `"${n}"`).join(', ')} ${unused.length === 1 ? 'has' : 'have'} no boxes and ${unused.length === 1 ? 'is' : 'are'} left out`;
  return `${text}.`;
}

const FIELDS = {
  steps: { min: 1, max: 100_000, integer: true, name: 'Steps' },
  batchSize: { min: 1, max: 16, integer: true, name: 'Photos per step' },
  inputSize: { min: 64, max: 2048, integer: true, multiple: 64, name: 'Input size' },
  proposals: { min: 1, max: 5000, integer: true, name: 'Proposals per photo' },
  evalEvery: { min: 1, max: 100_000, integer: true, name: 'Evaluate every' },
  lr: { min: 1e-7, max: 1, integer: false, name: 'Learning rate' },
};

/**
 * Checks the form's values (strings; lr may be empty for the default) and returns
 * {options (crate/finetune.rs FineTuneOptions), evalEvery} or {error}.
 */
export function readOptions(values, classes, seed = 0) {
  const n = {};
  for (const [key, f] of Object.entries(FIELDS)) {
    const text = String(values[key] ?? '').trim();
    if (key === 'lr' && text === '') continue;
    const v = Number(text);
    const bad = text === '' || !Number.isFinite(v) || v < f.min || v > f.max || (f.integer && !Number.isInteger(v)) || (f.multiple && v % f.multiple !== 0);
    if (bad) {
      const kind = f.multiple ? `a multiple of ${f.multiple}` : f.integer ? 'a whole number' : 'a number';
      return { error: `${f.name} must be ${kind} from ${f.min} to ${f.max}, not "${text}".` };
    }
    n[key] = v;
  }
  if (!['Heads', 'NeckAndHeads', 'All'].includes(values.trainable)) return { error: `unknown choice of layers "${values.trainable}"` };
  const balance = { iou_balanced: Boolean(values.iouBalanced), bfp: Boolean(values.bfp), balanced_l1: Boolean(values.balancedL1) };
  const options = {
    classes,
    steps: n.steps,
    batch_size: n.batchSize,
    lr: n.lr ?? null,
    trainable: values.trainable,
    balance,
    input_size: n.inputSize,
    proposals: n.proposals,
    augment: Boolean(values.augment),
    turns: Boolean(values.turns),
    seed,
  };
  return { options, evalEvery: n.evalEvery };
}

/** The augmentation a run trains with, for its title: "flips", "flips, turns, zoom and colour". */
export function augmentLabel({ augment, turns }) {
  return `flips${turns ? ', turns' : ''}${augment ? ', zoom and colour' : ''}`;
}

/** "all three balancing parts", "without BFP", "without IoU-balanced sampling and Balanced L1". */
export function balanceLabel({ iou_balanced, bfp, balanced_l1 }) {
  const off = [!iou_balanced && 'IoU-balanced sampling', !bfp && 'BFP', !balanced_l1 && 'Balanced L1'].filter(Boolean);
  if (off.length === 0) return 'all three balancing parts';
  if (off.length === 3) return 'no balancing part (Faster R-CNN + FPN)';
  return `without ${off.join(' and ')}`;
}

/** Time left from the last steps' durations (ms) and the steps remaining: "4 min 10 s left". */
export function timeLeft(durations, remaining) {
  if (!durations.length) return 'estimating time left…';
  const recent = durations.slice(-20);
  const ms = (recent.reduce((a, b) => a + b, 0) / recent.length) * remaining;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s left`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s left`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min left`;
}

/** A trainer that traps with this much wasm memory was most likely refused more (wasm32 ends at 4 GiB). */
export const LIKELY_OOM_BYTES = 1.5 * 2 ** 30;

/** 'sure' when the error says it ran out of memory, 'likely' for a trap with >= 1.5 GiB of wasm memory, else null. */
export function ranOutOfMemory(reason, memoryBytes) {
  if (/out of memory|OutOfMemory|memory allocation of \d+ bytes failed/i.test(reason)) return 'sure';
  return memoryBytes >= LIKELY_OOM_BYTES ? 'likely' : null;
}

/**
 * What to tell the user when a run stopped at `step` because its worker died: the cause, what to
 * change (for memory: a smaller input, fewer proposals, fewer photos per step) and what is kept.
 */
export function crashText({ reason, memoryBytes, step, options, keptStep }) {
  const kept = keptStep > 0 ? `the model as it was at step ${keptStep} is kept (see the runs below)` : 'the model you started from keeps running';
  const oom = ranOutOfMemory(reason, memoryBytes);
  if (oom) {
    const gb = (memoryBytes / 2 ** 30).toFixed(1);
    const tips = [
      options.input_size > 128 && `a smaller input size (now ${options.input_size} px, try ${Math.max(128, Math.floor(options.input_size / 128) * 64)})`,
      options.proposals > 50 && `fewer proposals per photo (now ${options.proposals}, try ${Math.max(50, Math.floor(options.proposals / 2))})`,
      options.batch_size > 1 && `fewer photos per step (now ${options.batch_size}, try ${Math.max(1, Math.floor(options.batch_size / 2))})`,
    ].filter(Boolean);
    const where = memoryBytes > 0 ? ` (its memory had grown to ${gb} GB; a page can use at most 4 GB)` : '';
    const what = oom === 'sure' ? 'it ran out of memory' : `it most likely ran out of memory${where}`;
    const advice = tips.length ? ` Try ${tips.join(', or ')}.` : '';
    return `Training stopped at step ${step}: ${what}.${advice} Your photos and boxes are safe, and ${kept}.`;
  }
  const memory = memoryBytes > 0 ? ` (its memory had grown to ${(memoryBytes / 2 ** 30).toFixed(1)} GB)` : '';
  return `Training stopped at step ${step}: ${reason}${memory}. Your photos and boxes are safe, and ${kept}.`;
}
