// Page state and results (body[data-state], window.libraApp, #message, #model-name), user actions
// on the page (samples, dataset drags, dropped files) and the timeouts for SwiftShader's WebGPU.
import { SAMPLE } from './native.mjs';

/** WebGPU here is SwiftShader (CPU emulation): model load + warm-up take minutes, one detection up to ~60 s. */
export const LOAD_MS = 6 * 60_000;
export const DETECT_MS = 3 * 60_000;
/** node:test per-test timeout. */
export const TEST_TIMEOUT = 10 * 60_000;

export async function waitForState(page, state, ms = LOAD_MS) {
  try {
    await page.waitForFunction((s) => document.body?.dataset.state === s, state, { timeout: ms, polling: 250 });
  } catch (e) {
    throw new Error(`the page never reached state '${state}' within ${ms} ms (${e.message.split('\n')[0]})`);
  }
}

/** Samples the page for `ms`: the states body[data-state] went through and lastResult.seq before and after. */
export function watchIdle(page, ms) {
  return page.evaluate((ms) => new Promise((done) => {
    const seqBefore = window.libraApp?.lastResult?.seq ?? -1;
    const states = new Set([document.body.dataset.state]);
    const timer = setInterval(() => states.add(document.body.dataset.state), 50);
    setTimeout(() => {
      clearInterval(timer);
      done({ states: [...states], seqBefore, seqAfter: window.libraApp?.lastResult?.seq ?? -1 });
    }, ms);
  }), ms);
}

export const backendOf = (page) => page.evaluate(() => window.libraApp?.backend ?? null);
export const lastResult = (page) => page.evaluate(() => window.libraApp?.lastResult ?? null);
export const lastSeq = (page) => page.evaluate(() => window.libraApp?.lastResult?.seq ?? -1);
export const modelName = async (page) => ((await page.textContent('#model-name')) ?? '').trim();

/** Polls window.libraApp.lastResult until one from `source` with seq > afterSeq appears; returns it. */
export async function waitForResult(page, afterSeq, source, ms = DETECT_MS) {
  try {
    await page.waitForFunction(([seq, src]) => {
      const r = window.libraApp?.lastResult;
      return !!r && r.seq > seq && r.source === src;
    }, [afterSeq, source], { timeout: ms, polling: 250 });
  } catch (e) {
    const last = await lastResult(page).catch(() => null);
    throw new Error(`no result from '${source}' with seq > ${afterSeq} within ${ms} ms; last result: ${last ? `${last.source} #${last.seq}` : 'none'}`);
  }
  return lastResult(page);
}

/** Clicks a bundled sample's button and returns the page's result for it. */
export async function detectSample(page, file = SAMPLE, ms = DETECT_MS) {
  const afterSeq = await lastSeq(page);
  await page.click(`button.sample[data-file="${file}"]`);
  return waitForResult(page, afterSeq, `sample:${file}`, ms);
}

/** Image pixels of the dataset section's current photo as client (CSS) coordinates over #dataset-canvas. */
export async function datasetPoint(page, [x, y]) {
  await page.locator('#dataset-canvas').scrollIntoViewIfNeeded();
  const { rect, width, height } = await page.evaluate(() => {
    const r = document.getElementById('dataset-canvas').getBoundingClientRect();
    const d = window.libraDataset;
    const im = d.images.find((i) => i.id === d.current);
    return { rect: { left: r.left, top: r.top, width: r.width, height: r.height }, width: im.width, height: im.height };
  });
  return [rect.left + (x * rect.width) / width, rect.top + (y * rect.height) / height];
}

/** Drags the mouse over the current photo from image point `from` to `to` (holding Shift if asked). */
export async function dragOnDataset(page, from, to, { shift = false } = {}) {
  const [a, b] = [await datasetPoint(page, from), await datasetPoint(page, to)];
  if (shift) await page.keyboard.down('Shift');
  await page.mouse.move(...a);
  await page.mouse.down();
  await page.mouse.move(...b, { steps: 8 });
  await page.mouse.up();
  if (shift) await page.keyboard.up('Shift');
}

/** Drops a file (name, mimeType, buffer) on the page as a user dragging it from their files would. */
export async function dropFile(page, { name, mimeType, buffer }) {
  await page.evaluate(([name, type, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, { type }));
    document.body.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, [name, mimeType, buffer.toString('base64')]);
}

/** Waits until #model-name shows `name` and the page is ready again. */
export async function waitForModel(page, name, ms = LOAD_MS) {
  try {
    await page.waitForFunction((n) => (document.getElementById('model-name')?.textContent ?? '').includes(n), name, { timeout: ms, polling: 250 });
  } catch (e) {
    throw new Error(`#model-name never showed ${name} within ${ms} ms (it shows "${await modelName(page)}")`);
  }
  await waitForState(page, 'ready', ms);
}

/** Empties #message, so that the next message (even a repeated one) can be told apart. */
export async function clearMessage(page) {
  await page.evaluate(() => { document.getElementById('message').textContent = ''; });
}

/** Waits until #message has text (matching `re` if given); returns it. */
export async function waitForMessage(page, re = null, ms = 60_000) {
  try {
    await page.waitForFunction((src) => {
      const t = document.getElementById('message')?.textContent?.trim() ?? '';
      return t.length > 0 && (src === null || new RegExp(src, 'i').test(t));
    }, re ? re.source : null, { timeout: ms, polling: 250 });
  } catch (e) {
    throw new Error(`#message never showed ${re ?? 'any text'} within ${ms} ms`);
  }
  return (await page.textContent('#message')).trim();
}

/** Asserts the four stage timings of a result are numbers >= 0. */
export function checkTimings(assert, r) {
  for (const k of ['backbone_neck_ms', 'rpn_ms', 'roi_head_ms', 'postprocess_ms']) {
    const v = r.timings?.[k];
    assert.ok(typeof v === 'number' && Number.isFinite(v) && v >= 0, `timings.${k} must be a number >= 0, got ${JSON.stringify(r.timings)}`);
  }
}
