// Keeping training runs in the browser, its plain parts (web/train/storage.js, and the test
// address parameter of web/train/store.js): which model copies the budget drops, what a run is
// saved as and how it comes back, and what the page says. Expected values worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copiesToDrop, interruptedText, MODEL_BUDGET_BYTES, restoredRun, runRecord, saveFailedText, sizeText, stepRecord, storageText } from '../../web/train/storage.js';
import { quotaFromUrl } from '../../web/train/store.js';

const key = (c) => `${c.run}@${c.step}`;

test('the budget keeps each run\'s latest copy first, newest run first, then the other copies newest first', () => {
  const copies = [
    { run: 1, step: 10, size: 4 }, { run: 1, step: 20, size: 4 },
    { run: 2, step: 10, size: 3 }, { run: 2, step: 20, size: 3 }, { run: 2, step: 30, size: 3 },
  ];
  assert.deepEqual(copiesToDrop(copies, 17), [], 'all fit');
  // Kept in order: 2@30 (3), 1@20 (4), then 2@20 (3), 2@10 (3) = 13; 1@10 (4) would make 17 > 16.
  assert.deepEqual(copiesToDrop(copies, 16).map(key), ['1@10']);
  // 2@30, 1@20 = 7; 2@20 makes 10; 2@10 would make 13 > 12; 1@10 would make 14.
  assert.deepEqual(copiesToDrop(copies, 12).map(key), ['2@10', '1@10']);
  // Only the latest copies: 2@30 and 1@20.
  assert.deepEqual(copiesToDrop(copies, 7).map(key), ['2@20', '2@10', '1@10']);
  // 2@30 fits; 1@20 (4) does not, but the smaller 2@20 still does.
  assert.deepEqual(copiesToDrop(copies, 6).map(key), ['1@20', '2@10', '1@10']);
  assert.deepEqual(copiesToDrop(copies, 2).map(key), ['2@30', '1@20', '2@20', '2@10', '1@10'], 'a copy larger than the budget is not kept');
  assert.deepEqual(copiesToDrop([]), []);
  assert.equal(MODEL_BUDGET_BYTES, 250e6);
});

test('the budget orders by run and step, not by the order copies are listed in', () => {
  const copies = [{ run: 3, step: 5, size: 1 }, { run: 3, step: 15, size: 1 }, { run: 3, step: 10, size: 1 }];
  assert.deepEqual(copiesToDrop(copies, 2).map(key), ['3@5']);
});

test('a saved step leaves out the batch\'s regression errors; a saved run leaves out its worker and model', () => {
  const step = { step: 3, steps: 30, lr: 2e-4, losses: { total: 1.5 }, skipped: 0, reg_errors: [0.1, 2], ms: 812 };
  assert.deepEqual(stepRecord(step), { step: 3, steps: 30, lr: 2e-4, losses: { total: 1.5 }, skipped: 0, ms: 812 });
  const run = { id: 2, label: 'without BFP', options: { steps: 30 }, evalEvery: 10, from: 'tiny.lrc', state: 'running', evals: [{ step: 10, ap50: 0.5 }], warnings: ['w'], error: null, steps: [step], model: { step: 10, bytes: new ArrayBuffer(8) }, hooks: {}, backend: 'cpu' };
  assert.deepEqual(runRecord(run), { id: 2, label: 'without BFP', options: { steps: 30 }, evalEvery: 10, from: 'tiny.lrc', state: 'running', evals: [{ step: 10, ap50: 0.5 }], warnings: ['w'], error: null });
});

test('a run still at work comes back interrupted, with its latest saved copy as its model', () => {
  const record = { id: 4, label: 'all three balancing parts', options: { steps: 30 }, state: 'running', evals: [{ step: 10 }] };
  const steps = [{ step: 1 }, { step: 2 }];
  const run = restoredRun(record, steps, [10, 20]);
  assert.equal(run.state, 'interrupted');
  assert.deepEqual(run.model, { step: 20, bytes: null });
  assert.equal(run.steps, steps);
  for (const state of ['preparing', 'pausing', 'paused', 'stopping']) assert.equal(restoredRun({ ...record, state }, [], []).state, 'interrupted', state);
  for (const state of ['done', 'stopped', 'failed']) assert.equal(restoredRun({ ...record, state }, [], []).state, state, state);
  assert.equal(restoredRun(record, steps, []).model, null, 'no copy saved');
  assert.equal(interruptedText({ ...run, steps: [{ step: 17 }] }), 'Run 4 (all three balancing parts) was interrupted at step 17 of 30 when the page was closed or reloaded: it cannot go on, but its model at step 20 is kept in the runs table.');
  assert.equal(interruptedText({ ...run, steps: [], model: null }), 'Run 4 (all three balancing parts) was interrupted at step 0 of 30 when the page was closed or reloaded: it cannot go on, but no copy of its model had been saved.');
});

test('a full storage says what to delete; other failures say what failed', () => {
  const full = new DOMException('quota', 'QuotaExceededError');
  assert.equal(saveFailedText(full, { run: 3, copyStep: 20, keptBytes: 4.2e6 }),
    'Browser storage is full, so the model of run 3 at step 20 could not be saved (training goes on, and everything saved before is kept). To make room, delete old runs in the runs table (their saved models take 4.2 MB) or photos from Your dataset.');
  assert.equal(saveFailedText(full, { run: 1, copyStep: null, keptBytes: 0 }),
    'Browser storage is full, so the latest steps of run 1 could not be saved (training goes on, and everything saved before is kept). To make room, delete photos from Your dataset.');
  assert.equal(saveFailedText(new Error('the disk is gone'), { run: 2, copyStep: 5, keptBytes: 1e6 }),
    'This browser could not save the model of run 2 at step 5 (the disk is gone); training goes on, and everything saved before is kept.');
});

test('sizes and the storage note', () => {
  assert.equal(sizeText(35_001), '36 kB');
  assert.equal(sizeText(410_170), '0.4 MB');
  assert.equal(sizeText(14.2e6), '14 MB');
  assert.equal(storageText({ runs: 0, copies: 0, bytes: 0 }), '');
  assert.equal(storageText({ runs: 1, copies: 1, bytes: 410_170, budget: 250e6 }), 'Kept in this browser: 1 run with its settings and curves, and 1 model copy (0.4 MB; at most 250 MB of models are kept, the oldest copies go first).');
  assert.equal(storageText({ runs: 3, copies: 7, bytes: 2.9e6 }), 'Kept in this browser: 3 runs with their settings and curves, and 7 model copies (2.9 MB; at most 250 MB of models are kept, the oldest copies go first).');
});

test('?runs-quota=MB, the test switch for a full storage', () => {
  assert.equal(quotaFromUrl('?backend=cpu&runs-quota=1'), 1e6);
  assert.equal(quotaFromUrl('?runs-quota=0.5'), 5e5);
  assert.equal(quotaFromUrl('?backend=cpu'), null);
  assert.equal(quotaFromUrl('?runs-quota='), null);
  assert.equal(quotaFromUrl('?runs-quota=lots'), null);
  assert.equal(quotaFromUrl('?runs-quota=-1'), null);
});
