// Model files and drag-and-drop: a safetensors export of the default model loads natively and in
// the page (from the file input and by dropping it) with the same detections as the .lrc file;
// dropped pictures are detected, a dropped text file gets a message and changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startServer, launch, onNewPage, waitForState, waitForMessage, waitForResult, waitForModel, clearMessage, dropFile,
  detectSample, lastSeq, modelName, nativeDetect, exportModel, assertSameAsNative, assertGroundTruth,
  DEFAULT_MODEL, SAMPLES, SAMPLE, TEST_TIMEOUT,
} from './harness.mjs';

let server;
let browser;
let native;
let dir;
let safetensors;
before(async () => {
  server = await startServer();
  browser = await launch({ webgpu: true });
  native = await nativeDetect();
  dir = mkdtempSync(join(tmpdir(), 'libra-model-files-'));
  safetensors = join(dir, 'default.safetensors');
  // The default model is stored in f16: an f16 export holds exactly the same weights.
  await exportModel(DEFAULT_MODEL, safetensors, { half: true });
});
after(async () => {
  await browser?.close();
  server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the CLI reads its safetensors export back with the same detections', { timeout: TEST_TIMEOUT }, async () => {
  assertSameAsNative(assert, await nativeDetect(safetensors), native, 'native .safetensors');
});

test('a .safetensors model from the file input gives the native detections (CPU backend)', { timeout: TEST_TIMEOUT }, async () => {
  // Its own context and IndexedDB: the cached model stays in it.
  await onNewPage(browser, `${server.url}?backend=cpu`, 'model-safetensors', async (page) => {
    await waitForState(page, 'ready');
    await page.setInputFiles('#model-input', safetensors);
    await waitForModel(page, 'default.safetensors');
    const r = await detectSample(page);
    assertSameAsNative(assert, r.detections, native, 'page .safetensors');
  });
});

test('drops: a text file gets a message, a picture is detected, a model file is loaded', { timeout: TEST_TIMEOUT }, async () => {
  await onNewPage(browser, `${server.url}?backend=cpu`, 'drops', async (page) => {
    await waitForState(page, 'ready');
    const before = { seq: await lastSeq(page), model: await modelName(page) };

    await clearMessage(page);
    await dropFile(page, { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Not a picture.\n') });
    console.log('dropped notes.txt:', await waitForMessage(page, /notes\.txt/));
    await waitForState(page, 'ready');
    assert.equal(await lastSeq(page), before.seq, 'a dropped text file must not produce a result');
    assert.equal(await modelName(page), before.model, 'a dropped text file must not change the model');

    await dropFile(page, { name: SAMPLE, mimeType: 'image/png', buffer: readFileSync(join(SAMPLES, SAMPLE)) });
    const r = await waitForResult(page, before.seq, `file:${SAMPLE}`);
    assertGroundTruth(assert, r.detections, native, SAMPLE, 'dropped picture');

    await dropFile(page, { name: 'default.safetensors', mimeType: '', buffer: readFileSync(safetensors) });
    await waitForModel(page, 'default.safetensors');
    const again = await detectSample(page);
    assertSameAsNative(assert, again.detections, native, 'dropped .safetensors');
  });
});
