// Bad input: corrupt model files and a non-image file give user-readable messages, the page keeps
// working with what it had, and a rejected model is never remembered across a reload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startServer, launch, onNewPage, onPage, reload, waitForState, waitForMessage, clearMessage, detectSample, lastSeq, modelName,
  foundGroundTruth, SAMPLE, TEST_TIMEOUT,
} from './harness.mjs';

const CORRUPT_MODELS = [
  { name: 'broken.lrc', mimeType: 'application/octet-stream', buffer: randomBytes(4096) },
  { name: 'broken-header.lrc', mimeType: 'application/octet-stream', buffer: Buffer.concat([Buffer.from('LIBRARCNN1'), randomBytes(4096)]) },
];
const REJECTED = /broken\.lrc|broken-header\.lrc/;

let server;
let browser;
before(async () => { server = await startServer(); browser = await launch({ webgpu: true }); });
after(async () => { await browser?.close(); server?.stop(); });

/** Sets `file` on `selector`, waits for a message matching `re` and the page to be ready again; returns the message. */
async function rejectFile(page, selector, file, re) {
  await clearMessage(page); // the same message twice in a row must still be seen
  await page.setInputFiles(selector, file);
  const msg = await waitForMessage(page, re, 5 * 60_000);
  console.log(`${file.name}: ${msg}`);
  await waitForState(page, 'ready');
  return msg;
}

async function assertSampleWorks(page, label) {
  const r = await detectSample(page);
  assert.ok(foundGroundTruth(r.detections, SAMPLE, label).length >= 1, `${label}: the sample detection finds no ground-truth box of ${SAMPLE}`);
}

test('corrupt model files: a message, the previous model keeps running, nothing is cached', { timeout: TEST_TIMEOUT }, async () => {
  // Its own context: reloads keep its IndexedDB. Reading a model file does not depend on the
  // backend: the faster CPU one is used (on SwiftShader's WebGPU this test took 125 s).
  await onNewPage(browser, `${server.url}?backend=cpu`, 'errors-model', async (page) => {
    await waitForState(page, 'ready');
    const before = { name: await modelName(page), info: await page.evaluate(() => window.libraApp.modelInfo) };
    console.log('model:', before.name);

    for (const file of CORRUPT_MODELS) {
      await rejectFile(page, '#model-input', file, /checkpoint|weights|corrupt/i);
      assert.equal(await modelName(page), before.name, `#model-name changed after the rejected ${file.name}`);
      assert.deepEqual(await page.evaluate(() => window.libraApp.modelInfo), before.info, `libraApp.modelInfo changed after the rejected ${file.name}`);
    }
    await assertSampleWorks(page, 'after the corrupt models');

    await reload(page);
    await waitForState(page, 'ready');
    const after = await modelName(page);
    console.log('model after a reload:', after);
    assert.doesNotMatch(after, REJECTED, 'a rejected model is used after a reload');
    assert.equal(after, before.name, 'after a reload, the model in use must be the one used before the rejected files');
  });
});

test('a text file as the picture: a message, the page stays ready, a sample still works', { timeout: TEST_TIMEOUT }, async () => {
  // Decoding the input does not depend on the backend: the faster CPU one is used.
  await onPage(browser, `${server.url}?backend=cpu`, 'errors-image', async (page) => {
    await waitForState(page, 'ready');
    const seq = await lastSeq(page);
    await rejectFile(page, '#image-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('These are notes, not a picture.\n') }, /notes\.txt|image|picture/i);
    assert.equal(await lastSeq(page), seq, 'a text file must not produce a result');
    await assertSampleWorks(page, 'after a text file');
  });
});
