// WebGPU (SwiftShader in headless Chromium): the adapter is reported, a bundled scene gets its
// ground-truth boxes, and the page's detections equal the native CLI's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, onPage, waitForState, backendOf, detectSample, nativeDetect, checkTimings,
  assertSameAsNative, assertGroundTruth, TEST_TIMEOUT,
} from './harness.mjs';

let server;
let browser;
before(async () => { server = await startServer(); browser = await launch({ webgpu: true }); });
after(async () => { await browser?.close(); server?.stop(); });

test('WebGPU: adapter reported, same detections as native, ground truth found', { timeout: TEST_TIMEOUT }, async () => {
  const native = await nativeDetect();
  await onPage(browser, server.url, 'webgpu', async (page) => {
    await waitForState(page, 'ready');
    const backend = await backendOf(page);
    console.log('backend:', JSON.stringify(backend));
    console.log('#backend:', await page.textContent('#backend'));
    assert.equal(backend?.kind, 'webgpu', `expected the WebGPU backend, got ${JSON.stringify(backend)}`);
    assert.ok(backend.adapter && typeof backend.adapter === 'object', `the adapter must be reported: ${JSON.stringify(backend)}`);

    const r = await detectSample(page);
    console.log(`result: ${r.width}x${r.height}, ${r.detections.length} detections, total ${r.total_ms} ms, timings ${JSON.stringify(r.timings)}`);
    checkTimings(assert, r);
    assertGroundTruth(assert, r.detections, native, undefined, 'WebGPU');
    assertSameAsNative(assert, r.detections, native, 'WebGPU');
  });
});
