// The page's fine-tuning speed: the default model fine-tuned in the page's training card (two
// photos a step) on generated scenes (`libra scenes`, 320 px, one class), in headless Chromium;
// prints the median time of a step and of an image in it (as `cargo bench` prints a train step
// per image natively) and of the held-out evaluations.
//   node tests/kernels/bench-train.mjs [steps=30] [size=320] [backend=cpu|webgpu]
// Needs `libra serve`'s build and the native CLI, as the browser tests do. A developer's tool, not a test.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, onNewPage, libra, waitForState, training, waitTraining, ARTIFACTS } from '../browser/harness.mjs';

const [steps = '30', size = '320', backend = 'cpu'] = process.argv.slice(2);
const PHOTOS = 20; // every 5th held out
const BATCH = 2;
const DIR = join(ARTIFACTS, 'bench-train-data');

mkdirSync(DIR, { recursive: true });
await libra(['scenes', '--count', String(PHOTOS), '--size', '320', '--seed', '5', '--out', DIR]);
const coco = JSON.parse(readFileSync(join(DIR, 'annotations.json'), 'utf8'));
const objects = { ...coco, categories: [{ id: 1, name: 'object' }], annotations: coco.annotations.map((a) => ({ ...a, category_id: 1 })) };
const files = [
  { name: 'annotations.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(objects)) },
  ...coco.images.map((im) => ({ name: im.file_name, mimeType: 'image/png', buffer: readFileSync(join(DIR, im.file_name)) })),
];
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const server = await startServer();
const browser = await launch({ webgpu: backend === 'webgpu' });
try {
  await onNewPage(browser, `${server.url}${backend === 'cpu' ? '?backend=cpu' : ''}`, 'bench-train', async (page) => {
    await waitForState(page, 'ready');
    await page.waitForSelector('#dataset[data-dataset-ready="1"]', { state: 'attached', timeout: 60_000 });
    await page.setInputFiles('#dataset-import', files);
    await page.waitForFunction((n) => window.libraDataset.images.filter((im) => im.boxes.length).length === n, PHOTOS, { timeout: 60_000 });
    await page.fill('#train-size', size);
    await page.fill('#train-steps', steps);
    await page.fill('#train-batch', String(BATCH));
    await page.fill('#train-eval-every', steps);
    const t0 = Date.now();
    await page.click('#train-start');
    await waitTraining(page, 'the end of training', () => ['done', 'failed'].includes(window.libraTraining.state.runs[0]?.state), undefined, 60 * 60_000);
    const run = (await training(page)).runs[0];
    if (run.state !== 'done') throw new Error(`the run failed: ${run.error}`);
    const ms = median(run.steps.slice(1).map((s) => s.ms)); // the first step also compiles and allocates
    const backendText = await page.textContent('#train-status');
    console.log(`${backend}, ${size} px, batch ${BATCH}, ${steps} steps: ${ms.toFixed(1)} ms per step (median after the first), ${(ms / BATCH).toFixed(1)} ms per image; `
      + `${((Date.now() - t0) / 1000).toFixed(1)} s in all with ${run.evals.length} evaluations of ${run.evals[0]?.images} photos; held-out AP50 ${run.evals.map((e) => e.ap50.toFixed(3)).join(' -> ')}\n${backendText}`);
  });
} finally {
  await browser.close();
  server.stop();
}
