// Training in the page, its plain parts (web/train/plan.js, web/train/charts.js' series,
// web/teach/balanced-l1-curves.js' batch points): expected values worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augmentLabel, balanceLabel, crashText, defaultSteps, ranOutOfMemory, readOptions, splitPhotos, splitText, startEval, timeLeft } from '../../web/train/plan.js';
import { apSeries, lossSeries, smooth } from '../../web/train/charts.js';
import { batchPoints } from '../../web/teach/balanced-l1-curves.js';

const photo = (id, boxes) => ({ id, name: `p${id}.jpg`, width: 100, height: 80, boxes: boxes.map((classId, i) => ({ id: id * 10 + i, bbox: [i, i, i + 10, i + 10], classId })) });

test('every fifth labelled photo is held out, by id; photos without boxes are left out', () => {
  const ds = { classes: [{ id: 1, name: 'object' }, { id: 3, name: 'cat' }, { id: 7, name: 'dog' }], images: [photo(9, [7]), photo(2, [3]), photo(4, []), photo(1, [3, 7]), photo(5, [3]), photo(6, [7]), photo(8, [3])] };
  const s = splitPhotos(ds);
  assert.deepEqual(s.classes, ['cat', 'dog'], 'a class without boxes is left out');
  assert.deepEqual(s.unused, ['object']);
  // Labelled in id order: 1, 2, 5, 6, 8, 9 -> the 5th (id 8) is held out.
  assert.deepEqual(s.photos.map((p) => [p.id, p.heldOut]), [[1, false], [2, false], [5, false], [6, false], [8, true], [9, false]]);
  assert.deepEqual(s.photos[0].boxes, [[0, 0, 10, 10, 0], [1, 1, 11, 11, 1]], 'class ids become indices into the used classes');
  assert.deepEqual(s.unlabelled, ['p4.jpg']);
  assert.equal(splitText(s), '5 photos to train on, 1 held out to measure AP50; 1 photo without boxes is left out; the class "object" has no boxes and is left out.');
  const few = splitPhotos({ ...ds, images: ds.images.slice(0, 3) });
  assert.ok(few.photos.every((p) => !p.heldOut), 'fewer than 5 labelled photos: none held out');
  assert.match(splitText(few), /label at least 5 photos/);
  // One full stop at the end, however the sentence ends (it once read "to train..").
  assert.equal(splitText({ photos: [], unlabelled: [] }), 'No photo has boxes yet: label some photos above to train.');
  assert.equal(splitText({ photos: [], unlabelled: ['a.jpg', 'b.jpg'] }), 'No photo has boxes yet: label some photos above to train; 2 photos without boxes are left out.');
});

test('default steps: about 15 passes, within 60..1500', () => {
  assert.equal(defaultSteps(20, 2), 150);
  assert.equal(defaultSteps(3, 2), 60);
  assert.equal(defaultSteps(1000, 2), 1500);
  assert.equal(defaultSteps(0, 0), 60);
});

test('the form is checked field by field and becomes FineTuneOptions', () => {
  const ok = { steps: '40', batchSize: '2', lr: '', inputSize: '320', proposals: '500', evalEvery: '10', trainable: 'All', iouBalanced: true, bfp: false, balancedL1: true, turns: true };
  const r = readOptions(ok, ['cat']);
  assert.deepEqual(r, {
    options: { classes: ['cat'], steps: 40, batch_size: 2, lr: null, trainable: 'All', balance: { iou_balanced: true, bfp: false, balanced_l1: true }, input_size: 320, proposals: 500, augment: false, turns: true, seed: 0 },
    evalEvery: 10,
  });
  assert.equal(readOptions({ ...ok, lr: '1e-3' }, ['cat']).options.lr, 0.001);
  assert.match(readOptions({ ...ok, inputSize: '300' }, []).error, /Input size must be a multiple of 64/);
  assert.match(readOptions({ ...ok, steps: '2.5' }, []).error, /Steps must be a whole number.*"2.5"/);
  assert.match(readOptions({ ...ok, lr: 'fast' }, []).error, /Learning rate/);
  assert.match(readOptions({ ...ok, trainable: 'Backbone' }, []).error, /layers/);
});

test('a run\'s title names its augmentation', () => {
  assert.equal(augmentLabel({ augment: false, turns: false }), 'flips');
  assert.equal(augmentLabel({ augment: true, turns: true }), 'flips, turns, zoom and colour');
  assert.equal(augmentLabel({}), 'flips'); // runs stored before the choice existed
});

test('runs are named by the parts switched off', () => {
  assert.equal(balanceLabel({ iou_balanced: true, bfp: true, balanced_l1: true }), 'all three balancing parts');
  assert.equal(balanceLabel({ iou_balanced: true, bfp: false, balanced_l1: true }), 'without BFP');
  assert.equal(balanceLabel({ iou_balanced: false, bfp: true, balanced_l1: false }), 'without IoU-balanced sampling and Balanced L1');
  assert.equal(balanceLabel({ iou_balanced: false, bfp: false, balanced_l1: false }), 'no balancing part (Faster R-CNN + FPN)');
});

test('time left averages the last 20 steps', () => {
  assert.equal(timeLeft([], 10), 'estimating time left…');
  assert.equal(timeLeft([1000, 3000], 10), '20 s left');
  assert.equal(timeLeft([...Array(30).fill(99_000), ...Array(20).fill(2000)], 100), '3 min 20 s left');
  assert.equal(timeLeft([60_000], 100), '1 h 40 min left');
});

test('a trainer that traps with over 1.5 GiB most likely ran out of memory: the message names the fixes and what is kept', () => {
  const options = { input_size: 2048, proposals: 500, batch_size: 8 };
  assert.equal(ranOutOfMemory('the trainer crashed: table index is out of bounds', 2.2 * 2 ** 30), 'likely');
  assert.equal(ranOutOfMemory('Buffer allocation failed: OutOfMemory', 0), 'sure');
  assert.equal(ranOutOfMemory('RuntimeError: unreachable', 200 * 2 ** 20), null);
  const text = crashText({ reason: 'RuntimeError: unreachable', memoryBytes: 2.25 * 2 ** 30, step: 0, options, keptStep: 0 });
  assert.equal(text, 'Training stopped at step 0: it most likely ran out of memory (its memory had grown to 2.3 GB; a page can use at most 4 GB). Try a smaller input size (now 2048 px, try 1024), or fewer proposals per photo (now 500, try 250), or fewer photos per step (now 8, try 4). Your photos and boxes are safe, and the model you started from keeps running.');
  const gpu = crashText({ reason: 'Buffer allocation failed: OutOfMemory', memoryBytes: 0, step: 3, options: { input_size: 128, proposals: 50, batch_size: 1 }, keptStep: 0 });
  assert.equal(gpu, 'Training stopped at step 3: it ran out of memory. Your photos and boxes are safe, and the model you started from keeps running.');
  const other = crashText({ reason: 'the trainer crashed: oops', memoryBytes: 2 ** 29, step: 12, options, keptStep: 10 });
  assert.equal(other, 'Training stopped at step 12: the trainer crashed: oops (its memory had grown to 0.5 GB). Your photos and boxes are safe, and the model as it was at step 10 is kept (see the runs below).');
});

test('chart series: the watched run\'s four losses, every run\'s smoothed total, AP50 per run', () => {
  assert.deepEqual(smooth([1, 2, 3], 0.5), [1, 1.5, 2.25]);
  const step = (n, total) => ({ step: n, losses: { rpn_cls: 1, rpn_reg: 2, rcnn_cls: 3, rcnn_reg: 4, total } });
  const a = { id: 1, label: 'x', steps: [step(1, 10), step(2, 20)], evals: [{ step: 2, ap50: 0.5 }, { step: 4, ap50: null }] };
  const b = { id: 2, label: 'y', steps: [step(1, 4)], evals: [] };
  const s = lossSeries([a, b], b);
  assert.equal(s.length, 6);
  assert.deepEqual(s[2].data, [{ x: 1, y: 3 }], 'R-CNN classification of run 2');
  assert.deepEqual(s[4].data, [{ x: 1, y: 10 }, { x: 2, y: 11 }], 'run 1 total smoothed at 0.1');
  assert.deepEqual([s[4].borderDash, s[5].borderDash], [[6, 3], []], 'the watched run solid');
  assert.deepEqual(apSeries([a, b]).map((x) => x.data), [[{ x: 2, y: 0.5 }], []]);
});

test('batch errors sit on the Balanced L1 curves; inliers are below beta', () => {
  const curves = { x: [0, 1, 2, 3], balanced_l1: [0, 0.5, 2, 3.5], balanced_l1_grad: [0, 1, 1.5, 1.5] };
  const b = batchPoints(curves, [0.2, -0.9, 1.6, 7], 1);
  assert.equal(b.count, 4);
  assert.equal(b.inliers, 2);
  // nearest x: 0.2 -> 0, 0.9 -> 1, 1.6 -> 2, 7 clipped to 3.
  assert.deepEqual(b.loss, [{ x: 0.2, y: 0 }, { x: 0.9, y: 0.5 }, { x: 1.6, y: 2 }, { x: 3, y: 3.5 }]);
  assert.deepEqual(b.gradient.map((p) => p.y), [0, 1, 1.5, 1.5]);
  assert.equal(batchPoints(curves, Array(1000).fill(0.5)).loss.length, 334, 'a large batch is subsampled (every 3rd)');
});

test('the measurement before training is named only once a later one exists', () => {
  assert.equal(startEval([]), null);
  assert.equal(startEval([{ step: 0, ap50: 0.2 }]), null, 'nothing trained yet');
  assert.deepEqual(startEval([{ step: 0, ap50: 0.2 }, { step: 10, ap50: 0.6 }]), { step: 0, ap50: 0.2 });
  assert.equal(startEval([{ step: 5, ap50: 0.3 }, { step: 10, ap50: 0.6 }]), null, 'a run restored without its start');
});
