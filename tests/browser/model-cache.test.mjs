// A user's model file is loaded, cached in IndexedDB and used again after a reload, until
// #model-reset returns to the default model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startServer, launch, onNewPage, reload, waitForState, modelName, DEFAULT_MODEL, TEST_TIMEOUT,
} from './harness.mjs';

const USER_MODEL = /my-model\.lrc/;
let server;
let browser;
before(async () => { server = await startServer(); browser = await launch({ webgpu: true }); });
after(async () => { await browser?.close(); server?.stop(); });

/** Waits until #model-name matches `re` (or, with present = false, no longer does); returns its text. */
async function waitForModelName(page, re, present = true, ms = 5 * 60_000) {
  try {
    await page.waitForFunction(([src, want]) => new RegExp(src, 'i').test(document.getElementById('model-name')?.textContent ?? '') === want,
      [re.source, present], { timeout: ms, polling: 250 });
  } catch (e) {
    throw new Error(`#model-name ${present ? 'never matched' : 'still matches'} ${re} within ${ms} ms`);
  }
  return modelName(page);
}

async function reloadReady(page) {
  await reload(page);
  await waitForState(page, 'ready');
  return modelName(page);
}

test('user model: loaded, cached across reloads, reset to the default', { timeout: TEST_TIMEOUT }, async () => {
  // One context: its IndexedDB persists across reloads.
  // The CPU backend (?backend=cpu, kept by the reloads): caching does not depend on the backend, and
  // five model loads on SwiftShader WebGPU would take most of the per-test time.
  await onNewPage(browser, `${server.url}?backend=cpu`, 'model-cache', async (page) => {
    await waitForState(page, 'ready');
    const defaultName = await modelName(page);
    console.log('at first:', defaultName);
    assert.doesNotMatch(defaultName, USER_MODEL, 'a fresh profile must start with the default model');

    await page.setInputFiles('#model-input', { name: 'my-model.lrc', mimeType: 'application/octet-stream', buffer: readFileSync(DEFAULT_MODEL) });
    let name = await waitForModelName(page, USER_MODEL);
    await waitForState(page, 'ready');
    console.log('after loading my-model.lrc:', name);

    name = await reloadReady(page);
    console.log('after a reload:', name);
    assert.match(name, USER_MODEL, 'the cached model must be used after a reload');
    assert.match(name, /cached/i, '#model-name must say the model is cached');

    await page.click('#model-reset');
    name = await waitForModelName(page, USER_MODEL, false);
    await waitForState(page, 'ready');
    console.log('after #model-reset:', name);
    assert.equal(name, defaultName, '#model-reset must return to the default model');

    name = await reloadReady(page);
    console.log('after #model-reset and a reload:', name);
    assert.equal(name, defaultName, 'after #model-reset and a reload, the default model must be used');
  });
});
