// Training in the page learns: the default model, fine-tuned on the CPU path for 20 steps on 32
// photos of a class it has never seen ("object": generated scenes with every shape relabelled),
// gains at least 0.3 of held-out AP50 on the 8 other photos, and ends where the native CLI's same
// run ends. Both at a stated rate, Adam 2e-4, typed into the page's form: at the default from
// a checkpoint, 5e-4, the two learn more (0.823 in the page, 0.759 natively) but drift further
// apart over the 20 steps, as wasm and native add in other orders. The native CLI on the same
// photos (`libra train --init web/models/default.lrc --input 128 --steps 20 --batch 2 --lr 2e-4
// --seed S`) goes from 0.228 to 0.679 with seed 0 (the page: 0.692, within the 0.05 asserted
// below). Before RoIAlign and ReLU6 had their own CPU backward:
// 0.228 to 0.694 with seed 0, 0.046 to 0.782 with seed 1 and 0.061 to 0.624 with seed 2.
// The page contract used: the #train-* and #dataset-* ids, window.libraTraining and window.libraDataset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, onNewPage, libra, waitForState, sceneDataset, importDataset, trainToEnd, ARTIFACTS, DEFAULT_MODEL, TEST_TIMEOUT } from './harness.mjs';

const DIR = join(ARTIFACTS, 'train-learns-data');
const PHOTOS = 40; // every 5th held out: 32 to train on, 8 to measure
const STEPS = 20;
const GAIN = 0.3;
const NATIVE_TOLERANCE = 0.05;
const LR = '2e-4';

let server;
let browser;
let importFiles; // COCO JSON with one new class, and the photos, for #dataset-import
let nativeAp50; // the same run's, natively
before(async () => {
  const { coco: objects, files } = await sceneDataset(DIR, { count: PHOTOS, size: 128, seed: 11, oneClass: true });
  importFiles = files;
  // The same run natively: the page's split (every 5th photo held out) as two COCO files.
  const part = (held) => {
    const images = objects.images.filter((_, i) => (i % 5 === 4) === held);
    const ids = new Set(images.map((im) => im.id));
    const file = join(DIR, held ? 'held-out.json' : 'train.json');
    writeFileSync(file, JSON.stringify({ ...objects, images, annotations: objects.annotations.filter((a) => ids.has(a.image_id)) }));
    return `coco:${file}:${DIR}`;
  };
  const out = await libra(['train', '--init', DEFAULT_MODEL, '--data', part(false), '--val', part(true), '--input', '128', '--steps', String(STEPS), '--batch', '2', '--lr', LR, '--seed', '0', '--out', join(DIR, 'native.lrc')]);
  nativeAp50 = Number(out.match(/^held-out +[\d.]+ +([\d.]+)/m)?.[1]);
  assert.ok(Number.isFinite(nativeAp50), `the native run's AP50 in:\n${out}`);
  server = await startServer();
  browser = await launch();
});
after(async () => { await browser?.close(); server?.stop(); });

test(`fine-tuning the default model on a new class raises held-out AP50 by ${GAIN} in ${STEPS} steps`, { timeout: TEST_TIMEOUT }, async () => {
  await onNewPage(browser, `${server.url}?backend=cpu`, 'train-learns', async (page) => {
    await waitForState(page, 'ready');
    await importDataset(page, importFiles, PHOTOS);
    assert.match(await page.textContent('#train-split'), /^32 photos to train on, 8 held out to measure AP50\.$/);
    const t0 = Date.now();
    const run = await trainToEnd(page, { size: '128', steps: String(STEPS), batch: '2', lr: LR, evalEvery: String(STEPS) });
    assert.equal(run.state, 'done', `the run failed: ${run.error}`);
    assert.deepEqual(run.options.classes, ['object']);
    const ms = run.steps.map((s) => s.ms).sort((a, b) => a - b);
    console.log(`train-learns: held-out AP50 ${run.evals.map((e) => `${e.step}: ${e.ap50.toFixed(3)}`).join(', ')} (native ${nativeAp50.toFixed(3)}); ${(ms[ms.length >> 1] / 1000).toFixed(1)} s per step (median), ${((Date.now() - t0) / 1000).toFixed(0)} s in all`);
    assert.deepEqual(run.evals.map((e) => [e.step, e.images]), [[0, 8], [STEPS, 8]], "AP50 before training and at the end, on the 8 held-out photos");
    const [start, end] = run.evals.map((e) => e.ap50);
    assert.ok(end - start >= GAIN, `held-out AP50 went from ${start.toFixed(3)} to ${end.toFixed(3)}; the bar is a gain of ${GAIN}`);
    // The page trains as the CLI does: the same photos, seed and settings give the same AP50
    // (wasm and native add in other orders, so not to the last digit).
    assert.ok(Math.abs(end - nativeAp50) < NATIVE_TOLERANCE, `AP50 ${end.toFixed(3)} in the page, ${nativeAp50.toFixed(3)} natively`);
    assert.match(await page.textContent('#train-status'), new RegExp(`held-out AP50 ${end.toFixed(3)} at step ${STEPS} \\(${start.toFixed(3)} before training\\)`));
  });
});
