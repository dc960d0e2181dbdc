// Training in the page: generated photos to import, the training form, the training card's state
// (window.libraTraining) and waiting on it.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS } from './browser.mjs';
import { libra } from './native.mjs';
import { LOAD_MS } from './page.mjs';

/** The training card's state (window.libraTraining.state). */
export const training = (page) => page.evaluate(() => window.libraTraining.state);

/** Waits for `fn(arg)` in the page; the error says `what` did not happen and shows the runs. */
export async function waitTraining(page, what, fn, arg, ms = LOAD_MS) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 100 });
  } catch (e) {
    const s = await training(page);
    throw new Error(`${what} did not happen within ${ms / 1000} s; training: ${JSON.stringify({ ...s, runs: s.runs.map((r) => ({ ...r, steps: r.steps.length })) })}`);
  }
}

/**
 * `count` generated scenes (`libra scenes`, `size` px, `seed`) written to `dir`, as COCO;
 * `oneClass`: every shape relabelled "object", a class the default model has never seen.
 * Resolves to {coco, files}: the COCO object and the files for #dataset-import.
 */
export async function sceneDataset(dir, { count, size, seed, oneClass = false }) {
  mkdirSync(dir, { recursive: true });
  await libra(['scenes', '--count', String(count), '--size', String(size), '--seed', String(seed), '--out', dir]);
  let coco = JSON.parse(readFileSync(join(dir, 'annotations.json'), 'utf8'));
  if (oneClass) coco = { ...coco, categories: [{ id: 1, name: 'object' }], annotations: coco.annotations.map((a) => ({ ...a, category_id: 1 })) };
  const files = [
    { name: 'annotations.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(coco)) },
    ...coco.images.map((im) => ({ name: im.file_name, mimeType: 'image/png', buffer: readFileSync(join(dir, im.file_name)) })),
  ];
  return { coco, files };
}

/** Imports `files` (sceneDataset's) into the dataset editor and waits for its `count` labelled photos. */
export async function importDataset(page, files, count) {
  await page.waitForSelector('#dataset[data-dataset-ready="1"]', { state: 'attached', timeout: 60_000 });
  await page.setInputFiles('#dataset-import', files);
  await page.waitForFunction((n) => window.libraDataset.images.filter((im) => im.boxes.length).length === n, count, { timeout: 60_000 });
}

/**
 * Types the settings into the training form (each a string; `lr` left as the page's default when
 * absent), starts a run and waits until it is done or failed (`ms`); resolves to the run.
 */
export async function trainToEnd(page, { size, steps, batch, evalEvery, lr }, ms = LOAD_MS) {
  await page.fill('#train-size', size);
  await page.fill('#train-steps', steps);
  await page.fill('#train-batch', batch);
  if (lr) await page.fill('#train-lr', lr);
  await page.fill('#train-eval-every', evalEvery);
  await page.click('#train-start');
  await waitTraining(page, 'the end of training', () => ['done', 'failed'].includes(window.libraTraining.state.runs.at(-1)?.state), undefined, ms);
  return (await training(page)).runs.at(-1);
}

/**
 * The speed tools' fine-tuning (tests/kernels/bench-train.mjs, profile-page.mjs): the model loaded
 * in `page` fine-tuned for `steps` steps of two photos at `size` px on 20 generated 320 px scenes
 * of one new class (every 5th held out), AP50 measured at the end. Resolves to {run, batch,
 * msPerStep: the median step after the first (which also compiles and allocates), seconds: from
 * the start of training to its end, evaluations included}; a failed run throws.
 */
export async function timedFineTune(page, { steps, size }) {
  const photos = 20;
  const batch = 2;
  const { files } = await sceneDataset(join(ARTIFACTS, 'bench-train-data'), { count: photos, size: 320, seed: 5, oneClass: true });
  await importDataset(page, files, photos);
  const t0 = Date.now();
  const run = await trainToEnd(page, { size, steps, batch: String(batch), evalEvery: steps }, 60 * 60_000);
  if (run.state !== 'done') throw new Error(`the run failed: ${run.error}`);
  const ms = run.steps.slice(1).map((s) => s.ms).sort((a, b) => a - b);
  return { run, batch, msPerStep: ms[ms.length >> 1], seconds: (Date.now() - t0) / 1000 };
}
