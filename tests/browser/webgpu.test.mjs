// WebGPU (SwiftShader in headless Chromium): the adapter is reported, a bundled scene gets its
// ground-truth boxes, and the page's detections equal the native CLI's, by default, with our
// fused WGSL kernels forced and with the tensor-op reference forced; a lost device and a device
// that cannot be had move the detector to the CPU; the benchmark page counts the GPU dispatches
// of a detection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startServer, launch, onPage, waitForState, waitForMessage, backendOf, detectSample, nativeDetect, checkTimings,
  assertSameAsNative, assertGroundTruth, TEST_TIMEOUT, LOAD_MS, DEFAULT_MODEL,
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

    // By default our fused non-local kernels are self-tested and timed against the reference at
    // start; the faster one runs (and the fused kernels always from 64 MiB attention matrices).
    const details = await page.textContent('#backend-details');
    console.log('backend details:', details);
    assert.match(details, /Non-local block\s*(our fused WGSL kernels \(measured faster here: [\d.]+ vs [\d.]+ ms at n = 400, C = 64\)|tensor ops \(measured faster here: [\d.]+ vs [\d.]+ ms at n = 400, C = 64\); our fused WGSL kernels from 64 MiB attention matrices)/, details);

    const r = await detectSample(page);
    console.log(`result: ${r.width}x${r.height}, ${r.detections.length} detections, total ${r.total_ms} ms, timings ${JSON.stringify(r.timings)}`);
    checkTimings(assert, r);
    assertGroundTruth(assert, r.detections, native, undefined, 'WebGPU');
    assertSameAsNative(assert, r.detections, native, 'WebGPU');
  });
});

for (const [setting, text] of [
  ['fused', /Non-local block\s*our fused WGSL kernels \(forced by the kernels = fused setting\)/],
  ['reference', /Non-local block\s*tensor ops \(forced by the kernels = reference setting\)/],
]) {
  test(`?kernels=${setting}: the page says what runs the non-local block, same detections as native`, { timeout: TEST_TIMEOUT }, async () => {
    const native = await nativeDetect();
    await onPage(browser, `${server.url}?kernels=${setting}`, `webgpu-kernels-${setting}`, async (page) => {
      await waitForState(page, 'ready');
      assert.equal((await backendOf(page))?.kind, 'webgpu');
      const details = await page.textContent('#backend-details');
      assert.match(details, text, details);
      const r = await detectSample(page);
      assertSameAsNative(assert, r.detections, native, `WebGPU, kernels=${setting}`);
    });
  });
}

test('GPU device lost: a message, the detector restarts on the CPU, detections go on', { timeout: TEST_TIMEOUT }, async () => {
  const native = await nativeDetect();
  await onPage(browser, server.url, 'webgpu-device-lost', async (page) => {
    await waitForState(page, 'ready');
    assert.equal((await backendOf(page))?.kind, 'webgpu', 'the page must start on WebGPU');
    const workers = page.workers().filter((w) => w.url().endsWith('/web/worker.js'));
    assert.equal(workers.length, 1, `one detector worker expected, found ${workers.map((w) => w.url())}`);
    await workers[0].evaluate(() => self.simulateGpuLoss());
    const msg = await waitForMessage(page, /lost/i);
    console.log('after the loss:', msg);
    await waitForState(page, 'ready');
    const backend = await backendOf(page);
    assert.equal(backend?.kind, 'cpu', `after a GPU loss the detector must run on the CPU: ${JSON.stringify(backend)}`);
    assert.match(String(backend.reason), /lost/i, 'the CPU backend must say it replaced a lost GPU');
    const r = await detectSample(page);
    assertSameAsNative(assert, r.detections, native, 'CPU after the GPU loss');
  });
});

test('WebGPU fails to load the model: a fresh worker runs it on the CPU, saying why; detections go on', { timeout: TEST_TIMEOUT }, async () => {
  const native = await nativeDetect();
  // The detector worker's script with every GPU device request refused, as a browser whose adapter
  // cannot give the limits the detector needs would; the page itself is unchanged.
  const context = await browser.newContext();
  await context.route('**/web/worker.js', async (route) => {
    const original = await route.fetch();
    const refuse = "GPUAdapter.prototype.requestDevice = () => Promise.reject(new Error('simulated: no device for this test'));\n";
    const headers = Object.fromEntries(Object.entries(original.headers()).filter(([k]) => !/^content-(encoding|length)$/i.test(k)));
    await route.fulfill({ status: original.status(), headers, body: refuse + (await original.text()) });
  });
  try {
    await onPage(context, server.url, 'webgpu-load-fails', async (page) => {
      await waitForState(page, 'ready');
      const backend = await backendOf(page);
      console.log('backend:', JSON.stringify(backend));
      assert.equal(backend?.kind, 'cpu', `the model must run on the CPU: ${JSON.stringify(backend)}`);
      assert.match(String(backend.reason), /^WebGPU failed: WebGPU initialisation failed: .*simulated: no device for this test$/, 'the CPU backend must say why WebGPU was left');
      assert.doesNotMatch(backend.reason, /\n|wasm-function|JsValue/, 'the reason is one line of words, without the JavaScript stack');
      assert.match(await page.textContent('#backend'), /WebGPU failed/, 'the backend line must say why');
      // The WebGPU attempt's worker (holding the WebGPU build and the memory it grew to) is gone:
      // the one detector worker left loaded the threaded CPU build only.
      const detectors = page.workers().filter((w) => w.url().endsWith('/web/worker.js'));
      assert.equal(detectors.length, 1, `one detector worker expected, found ${detectors.length}`);
      const wasmLoaded = await detectors[0].evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((u) => u.endsWith('.wasm')));
      console.log('wasm loaded by the detector worker:', wasmLoaded);
      assert.equal(wasmLoaded.length, 1, `one wasm build in the worker, not the WebGPU one beside the CPU one: ${wasmLoaded}`);
      assert.match(wasmLoaded[0], /\/pkg\/threads\//, 'the CPU path runs the threaded build (cargo serve isolates the page)');
      const r = await detectSample(page);
      assertSameAsNative(assert, r.detections, native, 'CPU after WebGPU failed to load');

      // The next model goes straight to the CPU: one new worker, no second WebGPU attempt.
      const started = [];
      page.on('worker', (w) => started.push(w.url()));
      await page.setInputFiles('#model-input', { name: 'my-model.lrc', mimeType: 'application/octet-stream', buffer: readFileSync(DEFAULT_MODEL) });
      await page.waitForFunction(() => /my-model/.test(document.getElementById('model-name')?.textContent ?? ''), null, { timeout: LOAD_MS, polling: 250 });
      await waitForState(page, 'ready');
      const after = await backendOf(page);
      assert.equal(after?.kind, 'cpu');
      assert.equal(after.reason, backend.reason, 'the next model keeps the reason WebGPU was left');
      assert.equal(started.filter((u) => u.endsWith('/web/worker.js')).length, 1, `one new detector worker for the next model: ${started}`);
    });
  } finally {
    await context.close();
  }
});

test('the benchmark page counts each detection\'s GPU dispatches and submissions, the same every run', { timeout: TEST_TIMEOUT }, async () => {
  // 128 px and no sgemm: SwiftShader is slow, and the counts do not depend on the speed.
  await onPage(browser, `${server.url}bench.html?runs=2&warmup=0&size=128&sgemm=0`, 'bench-webgpu', async (page) => {
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 10 * 60_000, polling: 500 });
    const r = await page.evaluate(() => window.benchResult);
    assert.ok(!r.error, `the benchmark failed: ${r.error}`);
    assert.equal(r.backend.kind, 'webgpu');
    console.log(`bench at 128 px on WebGPU: ${r.median.dispatches} dispatches, ${r.median.submits} submissions per detection`);
    for (const key of ['dispatches', 'submits']) {
      assert.ok(Number.isInteger(r.min[key]) && r.min[key] > 0, `${key} must be counted: ${JSON.stringify(r.min)}`);
      assert.equal(r.min[key], r.max[key], `the same detection twice must send the same GPU work (${key})`);
    }
    assert.ok(r.median.submits <= r.median.dispatches, `a submission carries one or more dispatches: ${JSON.stringify(r.median)}`);
    assert.match(await page.textContent('#bench-table'), /GPU compute dispatches\s*\d+/, 'the table shows the dispatches');
    assert.equal(r.sgemm, null, '?sgemm=0 leaves the sgemm out');
  });
});
