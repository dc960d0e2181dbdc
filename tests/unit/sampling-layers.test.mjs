// The sampling view's data (web/teach/sampling-layers.js): histogram shares and labels, IoU
// bins, and which candidates are drawn as GT, positives and negatives, in which colours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COLOURS, binColour, binOf, histogramLabels, histogramSeries, layers, legend, negativeBin, shares } from '../../web/teach/sampling-layers.js';

const hist = (entries) => Object.assign(new Array(10).fill(0), entries);

// 2 GT boxes, then 6 proposals: two positives (IoU >= 0.5), four negatives at IoU 0, 0.02, 0.2, 0.4.
const VIEW = {
  candidates: [[0, 0, 10, 10], [20, 20, 30, 30], [1, 0, 11, 10], [21, 20, 31, 30], [50, 50, 60, 60], [40, 40, 52, 52], [8, 0, 18, 10], [4, 0, 14, 10]],
  num_gt: 2,
  max_iou: [1, 1, 0.82, 0.82, 0, 0.02, 0.2, 0.4],
  histogram: hist({ 0: 2, 4: 1, 8: 1 }),
  hard_share: 0.5,
  random: { sampled: { pos: [2], neg: [4, 5, 6], neg_source: ['Random', 'Random', 'Random'], bin_edges: [] }, histogram: hist({ 0: 2, 4: 1 }), hard_share: 1 / 3 },
  balanced: {
    sampled: { pos: [0, 3], neg: [7, 6, 5, 4], neg_source: [{ Bin: 1 }, { Bin: 0 }, 'BinFill', 'Rest'], bin_edges: [0, 1 / 3, 2 / 3, 1] },
    histogram: hist({ 0: 2, 4: 1, 8: 1 }),
    hard_share: 0.5,
  },
  seed: 3,
};

test('histograms become shares of their own total; an empty one stays 0', () => {
  assert.deepEqual(shares([1, 3, 0, 4]), [0.125, 0.375, 0, 0.5]);
  assert.deepEqual(shares([0, 0, 0]), [0, 0, 0]);
  const series = histogramSeries(VIEW);
  assert.deepEqual(series.map((s) => [s.key, s.count, s.hardShare]), [['all', 4, 0.5], ['random', 3, 1 / 3], ['balanced', 4, 0.5]]);
  assert.deepEqual(series[1].shares, hist({ 0: 2 / 3, 4: 1 / 3 }));
  for (const s of series) assert.ok(Math.abs(s.shares.reduce((a, b) => a + b, 0) - 1) < 1e-12, `${s.key} shares sum to 1`);
});

test('ten bin labels of width 0.05, the last one open above', () => {
  const labels = histogramLabels();
  assert.equal(labels.length, 10);
  assert.equal(labels[0], '0.00–0.05');
  assert.equal(labels[4], '0.20–0.25');
  assert.equal(labels[9], '≥ 0.45');
});

test('IoU bins: the source bin wins; otherwise the IoU bin, with IoU 0 outside the bins', () => {
  const edges = [0, 1 / 3, 2 / 3, 1];
  assert.equal(binOf(0.2, edges), 0);
  assert.equal(binOf(1 / 3, edges), 1);
  assert.equal(binOf(1, edges), null); // the top edge is open
  assert.equal(binOf(0.2, []), null);
  assert.equal(negativeBin({ Bin: 2 }, 0.1, edges), 2);
  assert.equal(negativeBin('BinFill', 0.4, edges), 1);
  assert.equal(negativeBin('Floor', 0, edges), null);
  assert.equal(negativeBin('Rest', 0, edges), null);
  assert.equal(negativeBin('Random', 0.3, []), null);
});

test('balanced layers: negatives by IoU bin (easiest first), then positives, then the GT on top', () => {
  const drawn = layers(VIEW, 'balanced');
  assert.deepEqual(drawn.map((l) => [l.kind, l.index]), [['neg', 4], ['neg', 5], ['neg', 6], ['neg', 7], ['pos', 0], ['pos', 3], ['gt', 0], ['gt', 1]]);
  const negs = drawn.filter((l) => l.kind === 'neg');
  assert.deepEqual(negs.map((l) => l.bin), [null, 0, 0, 1]);
  assert.deepEqual(negs.map((l) => l.colour), [COLOURS.easy, binColour(0), binColour(0), binColour(1)]);
  assert.deepEqual(drawn.find((l) => l.kind === 'neg' && l.index === 6).box, [8, 0, 18, 10]);
  assert.ok(drawn.filter((l) => l.kind !== 'neg').every((l) => l.colour === (l.kind === 'gt' ? COLOURS.gt : COLOURS.pos)));
  assert.notEqual(binColour(0), binColour(1));
});

test('random layers: negatives easy (IoU <= 0.05) or hard; all candidates faint behind when asked', () => {
  const drawn = layers(VIEW, 'random', { showAll: true });
  assert.equal(drawn.filter((l) => l.kind === 'candidate').length, VIEW.candidates.length);
  assert.ok(drawn.slice(0, VIEW.candidates.length).every((l) => l.kind === 'candidate' && l.colour === COLOURS.candidate), 'candidates are drawn first');
  const negs = drawn.filter((l) => l.kind === 'neg');
  assert.deepEqual(negs.map((l) => [l.index, l.colour]), [[4, COLOURS.easy], [5, COLOURS.easy], [6, COLOURS.hard]]);
  assert.deepEqual(drawn.filter((l) => l.kind === 'pos').map((l) => l.index), [2]);
  assert.deepEqual(drawn.filter((l) => l.kind === 'gt').map((l) => l.index), [0, 1]);
  assert.equal(layers(VIEW, 'random').length, 3 + 1 + 2);
});

test('legends count what is drawn and list every IoU bin with its edges', () => {
  const balanced = legend(VIEW, 'balanced', layers(VIEW, 'balanced'));
  assert.deepEqual(balanced.map((r) => [r.label, r.count]), [
    ['Ground truth (your boxes)', 2],
    ['Sampled positives (IoU ≥ 0.5)', 2],
    ['Negatives from IoU bin 1: 0.00–0.33', 2],
    ['Negatives from IoU bin 2: 0.33–0.67', 1],
    ['Negatives from IoU bin 3: 0.67–1.00', 0],
    ['Negatives from outside the bins (IoU 0)', 1],
  ]);
  const random = legend(VIEW, 'random', layers(VIEW, 'random', { showAll: true }));
  assert.deepEqual(random.map((r) => [r.colour, r.count]), [[COLOURS.gt, 2], [COLOURS.pos, 1], [COLOURS.hard, 1], [COLOURS.easy, 2], [COLOURS.candidate, 8]]);
});
