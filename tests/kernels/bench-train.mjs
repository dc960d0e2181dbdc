// The page's fine-tuning speed: the default model fine-tuned in the page's training card (two
// photos a step) on generated scenes (`libra scenes`, 320 px, one class), in headless Chromium;
// prints the median time of a step and of an image in it (as `cargo bench` prints a train step
// per image natively) and the held-out AP50 before and after.
//   node tests/kernels/bench-train.mjs [steps=30] [size=320] [backend=cpu|webgpu]
// Needs `libra serve`'s build and the native CLI, as the browser tests do. A developer's tool, not a test.
import { startServer, launch, onNewPage, waitForState, timedFineTune } from '../browser/harness.mjs';

const [steps = '30', size = '320', backend = 'cpu'] = process.argv.slice(2);

const server = await startServer();
const browser = await launch({ webgpu: backend === 'webgpu' });
try {
  await onNewPage(browser, `${server.url}${backend === 'cpu' ? '?backend=cpu' : ''}`, 'bench-train', async (page) => {
    await waitForState(page, 'ready');
    const { run, batch, msPerStep: ms, seconds } = await timedFineTune(page, { steps, size });
    console.log(`${backend}, ${size} px, batch ${batch}, ${steps} steps: ${ms.toFixed(1)} ms per step (median after the first), ${(ms / batch).toFixed(1)} ms per image; `
      + `${seconds.toFixed(1)} s in all with ${run.evals.length} evaluations of ${run.evals[0]?.images} photos; held-out AP50 ${run.evals.map((e) => e.ap50.toFixed(3)).join(' -> ')}\n`
      + await page.textContent('#train-status'));
  });
} finally {
  await browser.close();
  server.stop();
}
