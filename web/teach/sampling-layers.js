// The "What the sampler picks" view (paper Fig. 3) as data: the sampling JSON of
// window.libraApp.samplingView turned into boxes to draw, a legend and histogram series.
// Pure functions, no DOM.
//
// The JSON: {candidates: [[x1, y1, x2, y2]] (GT boxes first, then proposals), num_gt,
// max_iou: [per candidate], histogram: [10] (all negatives), hard_share, random and balanced:
// {sampled: {pos, neg, neg_source, bin_edges}, histogram, hard_share}, seed}.

/** The histograms' bins: HIST_BINS of width HIST_WIDTH from 0, the last one open above. */
export const HIST_BINS = 10;
export const HIST_WIDTH = 0.05;
/** The paper's hard negatives: IoU above 0.05. */
export const HARD_IOU = 0.05;
export const SAMPLERS = ['balanced', 'random'];

export const COLOURS = {
  gt: '#ffffff',
  pos: '#22c55e',
  candidate: 'rgba(255, 255, 255, 0.28)',
  easy: '#9ca3af', // random negatives with IoU <= HARD_IOU; balanced ones outside the bins
  hard: '#f97316', // random negatives with IoU > HARD_IOU
};
const BIN_COLOURS = ['#38bdf8', '#e11d48', '#facc15', '#a855f7', '#14b8a6'];

/** The colour of IoU bin `k` of the balanced sampler. */
export const binColour = (k) => (k < BIN_COLOURS.length ? BIN_COLOURS[k] : `hsl(${(k * 137.5) % 360} 80% 55%)`);

/** "0.10–0.15" per histogram bin; the last one "≥ 0.45". */
export function histogramLabels() {
  return Array.from({ length: HIST_BINS }, (_, k) => {
    const lo = (k * HIST_WIDTH).toFixed(2);
    return k === HIST_BINS - 1 ? `≥ ${lo}` : `${lo}–${((k + 1) * HIST_WIDTH).toFixed(2)}`;
  });
}

/** Counts as shares of their total (all 0 when the total is 0), so histograms of any size compare. */
export function shares(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total ? c / total : 0));
}

/** The three histograms as shares, with their negatives' count and hard share: [{key, label, shares, count, hardShare}]. */
export function histogramSeries(view) {
  const series = [
    ['all', 'All negative candidates', view.histogram, view.hard_share],
    ['random', 'Random sample', view.random.histogram, view.random.hard_share],
    ['balanced', 'IoU-balanced sample', view.balanced.histogram, view.balanced.hard_share],
  ];
  return series.map(([key, label, counts, hardShare]) => ({ key, label, shares: shares(counts), count: counts.reduce((a, b) => a + b, 0), hardShare }));
}

/** The bin k with edges[k] <= iou < edges[k + 1], or null. */
export function binOf(iou, edges) {
  for (let k = 0; k + 1 < edges.length; k++) if (edges[k] <= iou && iou < edges[k + 1]) return k;
  return null;
}

/**
 * The IoU bin a balanced negative is drawn in: its source's bin ({Bin: k}), else its IoU's bin,
 * with IoU at the lowest edge (0) outside the bins (the Libra sampler keeps IoU-0 negatives out).
 */
export function negativeBin(source, iou, edges) {
  if (source && typeof source === 'object' && 'Bin' in source) return source.Bin;
  return edges.length && iou > edges[0] ? binOf(iou, edges) : null;
}

/**
 * What to draw for `sampler` ('balanced' or 'random'), back to front: [{index, box, kind, colour,
 * iou, bin?}], kind being 'candidate' (every candidate, faint, when `showAll`), 'neg', 'pos' or
 * 'gt'. Balanced negatives are coloured by IoU bin (null: outside the bins), random ones easy or hard.
 */
export function layers(view, sampler, { showAll = false } = {}) {
  const picks = view[sampler].sampled;
  const item = (index, kind, colour, extra = {}) => ({ index, box: view.candidates[index], kind, colour, iou: view.max_iou[index], ...extra });
  const out = showAll ? view.candidates.map((_, i) => item(i, 'candidate', COLOURS.candidate)) : [];
  const negs = picks.neg.map((i, n) => {
    const iou = view.max_iou[i];
    if (sampler === 'random') return item(i, 'neg', iou > HARD_IOU ? COLOURS.hard : COLOURS.easy);
    const bin = negativeBin(picks.neg_source[n], iou, picks.bin_edges);
    return item(i, 'neg', bin === null ? COLOURS.easy : binColour(bin), { bin });
  });
  negs.sort((a, b) => a.iou - b.iou); // the overlapping (hard) ones on top
  out.push(...negs, ...picks.pos.map((i) => item(i, 'pos', COLOURS.pos)));
  for (let i = 0; i < view.num_gt; i++) out.push(item(i, 'gt', COLOURS.gt));
  return out;
}

/** The legend of `drawn` (the layers of `sampler`): [{colour, label, count}]; every IoU bin is listed, other empty rows are left out. */
export function legend(view, sampler, drawn) {
  const count = (pred) => drawn.filter(pred).length;
  const negs = drawn.filter((l) => l.kind === 'neg');
  const rows = [
    { colour: COLOURS.gt, label: 'Ground truth (your boxes)', count: view.num_gt, always: true },
    { colour: COLOURS.pos, label: 'Sampled positives (IoU ≥ 0.5)', count: count((l) => l.kind === 'pos') },
  ];
  if (sampler === 'random') {
    rows.push(
      { colour: COLOURS.hard, label: `Hard negatives (IoU > ${HARD_IOU})`, count: negs.filter((l) => l.colour === COLOURS.hard).length },
      { colour: COLOURS.easy, label: `Easy negatives (IoU ≤ ${HARD_IOU})`, count: negs.filter((l) => l.colour === COLOURS.easy).length },
    );
  } else {
    const edges = view.balanced.sampled.bin_edges;
    for (let k = 0; k + 1 < edges.length; k++) {
      rows.push({ colour: binColour(k), label: `Negatives from IoU bin ${k + 1}: ${edges[k].toFixed(2)}–${edges[k + 1].toFixed(2)}`, count: negs.filter((l) => l.bin === k).length, always: true });
    }
    rows.push({ colour: COLOURS.easy, label: 'Negatives from outside the bins (IoU 0)', count: negs.filter((l) => l.bin === null).length });
  }
  const candidates = count((l) => l.kind === 'candidate');
  if (candidates) rows.push({ colour: COLOURS.candidate, label: 'All candidates', count: candidates });
  return rows.filter((r) => r.count > 0 || r.always).map(({ colour, label, count }) => ({ colour, label, count }));
}
