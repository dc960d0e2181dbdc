// Training in the page: the training card's state (window.libraTraining) and waiting on it.
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
