// The webcam: Chromium's fake capture device plays a bundled scene (Y4M) and the page finds its
// ground-truth boxes; #webcam-stop stops it; a denied camera gives a message and leaves the page usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import {
  startServer, launch, onNewPage, onPage, waitForState, waitForResult, waitForMessage, watchIdle, detectSample, lastSeq,
  backendOf, foundGroundTruth, SAMPLES, SAMPLE, TEST_TIMEOUT,
} from './harness.mjs';

const Y4M = join(SAMPLES, 'scene_0000.y4m'); // absolute: Chromium opens it itself; it shows SAMPLE
let server;
before(async () => { server = await startServer(); });
after(() => server?.stop());

test('fake webcam: a ground-truth box of the scene is found; stop returns to ready', { timeout: TEST_TIMEOUT }, async () => {
  assert.ok(existsSync(Y4M), `${Y4M} is missing (libra scenes --y4m writes it)`);
  const browser = await launch({ webgpu: true, camera: Y4M, cameraPrompt: 'accept' });
  try {
    await onPage(browser, server.url, 'webcam', async (page) => {
      await waitForState(page, 'ready');
      console.log('backend:', JSON.stringify(await backendOf(page)));
      const afterSeq = await lastSeq(page);
      await page.click('#webcam-start');
      const r = await waitForResult(page, afterSeq, 'webcam');
      console.log(`webcam result: ${r.width}x${r.height}, ${r.detections.length} detections, total ${r.total_ms} ms`);
      assert.deepEqual([r.width, r.height], [320, 320], 'the fake camera plays 320x320 frames');
      // YUV 4:2:0 changes the pixels slightly: scores are not compared with the native CLI here.
      const found = foundGroundTruth(r.detections, SAMPLE, 'webcam');
      assert.ok(found.length >= 1, `no webcam detection >= 0.3 matches a ground-truth box of ${SAMPLE} (same class, IoU >= 0.5)`);

      await page.click('#webcam-stop');
      await waitForState(page, 'ready', 3 * 60_000); // a detection in flight may finish first
      // Stopped: the page stays ready and no webcam result arrives (a running loop would go 'busy' at once).
      const idle = await watchIdle(page, 5_000);
      console.log('after #webcam-stop:', JSON.stringify(idle));
      assert.deepEqual(idle.states, ['ready'], `the page must stay ready after #webcam-stop: ${JSON.stringify(idle)}`);
      assert.equal(idle.seqAfter, idle.seqBefore, `results keep coming after #webcam-stop: ${JSON.stringify(idle)}`);
    });
  } finally {
    await browser.close();
  }
});

test('camera permission denied: a message, and a sample still works', { timeout: TEST_TIMEOUT }, async () => {
  const browser = await launch({ webgpu: true, camera: true, cameraPrompt: 'deny' });
  try {
    await onNewPage(browser, server.url, 'webcam-denied', async (page) => {
      await waitForState(page, 'ready');
      const afterSeq = await lastSeq(page);
      await page.click('#webcam-start');
      const msg = await waitForMessage(page, null, 60_000);
      console.log('denied camera message:', msg);
      await waitForState(page, 'ready', 60_000);
      assert.equal(await lastSeq(page), afterSeq, 'a denied camera must not produce results');
      const r = await detectSample(page);
      const found = foundGroundTruth(r.detections, SAMPLE, 'after the denial');
      assert.ok(found.length >= 1, `after the denied camera, the sample detection finds no ground-truth box of ${SAMPLE}`);
    }, { permissions: [] });
  } finally {
    await browser.close();
  }
});
