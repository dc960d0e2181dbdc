// The CPU (WebAssembly) backend: forced by ?backend=cpu it gives the native CLI's detections, on
// every core (the page tool's server makes the page cross-origin isolated, so the threaded build
// runs); without --enable-unsafe-webgpu and without ?backend the page falls back to it by itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, onPage, waitForState, backendOf, detectSample, nativeDetect, checkTimings,
  assertSameAsNative, assertGroundTruth, LOAD_MS, TEST_TIMEOUT,
} from './harness.mjs';

let server;
let native;
before(async () => { server = await startServer(); native = await nativeDetect(); });
after(() => server?.stop());

test('?backend=cpu: CPU backend on every core, same detections as native', { timeout: TEST_TIMEOUT }, async () => {
  const browser = await launch({ webgpu: true }); // WebGPU available, but the URL asks for the CPU
  try {
    await onPage(browser, `${server.url}?backend=cpu`, 'cpu-forced', async (page) => {
      await waitForState(page, 'ready');
      const backend = await backendOf(page);
      console.log('backend:', JSON.stringify(backend));
      assert.equal(backend?.kind, 'cpu', `?backend=cpu must select the CPU backend: ${JSON.stringify(backend)}`);
      assert.match(String(backend.reason ?? ''), /backend=cpu|url|parameter/i, `the reason must mention the URL parameter: ${JSON.stringify(backend)}`);
      const { isolated, cores } = await page.evaluate(() => ({ isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency }));
      assert.ok(isolated, 'the page tool serves the page cross-origin isolated (COOP/COEP headers)');
      const threads = `${cores} thread${cores === 1 ? '' : 's'} (Web Workers), SIMD128`;
      assert.equal(backend.runsOn, threads, `the CPU path must run the threaded build on every core: ${JSON.stringify(backend)}`);
      assert.ok((await page.textContent('#backend')).includes(threads), 'the backend details must say how the CPU path runs');

      const r = await detectSample(page);
      console.log(`result: ${r.width}x${r.height}, ${r.detections.length} detections, total ${r.total_ms} ms`);
      checkTimings(assert, r);
      assertGroundTruth(assert, r.detections, native, undefined, 'CPU');
      assertSameAsNative(assert, r.detections, native, 'CPU');
    });
  } finally {
    await browser.close();
  }
});

test('no --enable-unsafe-webgpu, no ?backend: the page falls back to the CPU by itself', { timeout: TEST_TIMEOUT }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    await onPage(browser, server.url, 'cpu-auto', async (page) => {
      await waitForState(page, 'ready');
      const backend = await backendOf(page);
      const gpu = await page.evaluate(async () => {
        if (!navigator.gpu) return 'navigator.gpu is missing';
        const adapter = await navigator.gpu.requestAdapter().catch((e) => `requestAdapter() threw ${e}`);
        return adapter ? (typeof adapter === 'string' ? adapter : 'an adapter is available') : 'requestAdapter() returned null';
      });
      console.log(`WebGPU without the flag: ${gpu}; chosen backend: ${JSON.stringify(backend)}`);
      console.log('#backend:', await page.textContent('#backend'));
      if (gpu === 'an adapter is available') {
        // This Chromium exposes WebGPU even without the flag: either backend is right.
        assert.ok(['webgpu', 'cpu'].includes(backend?.kind), `unknown backend ${JSON.stringify(backend)}`);
      } else {
        assert.equal(backend?.kind, 'cpu', `without WebGPU (${gpu}) the page must use the CPU: ${JSON.stringify(backend)}`);
        assert.ok(String(backend.reason ?? '').trim().length > 0, `the CPU fallback must say why: ${JSON.stringify(backend)}`);
      }
      const r = await detectSample(page);
      assertSameAsNative(assert, r.detections, native, `fallback ${backend.kind}`);
    });
  } finally {
    await browser.close();
  }
});

test('the benchmark page runs at another input size (?size=384, one run, CPU)', { timeout: TEST_TIMEOUT }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    await onPage(browser, `${server.url}bench.html?backend=cpu&runs=1&warmup=0&size=384`, 'bench-cpu-384', async (page) => {
      await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: LOAD_MS, polling: 500 });
      const r = await page.evaluate(() => window.benchResult);
      assert.ok(!r.error, `the benchmark failed: ${r.error}`);
      console.log(`bench at 384 px on ${r.backend.kind}: ${r.median.total_ms.toFixed(0)} ms, ${r.detections} detections`);
      assert.equal(r.backend.kind, 'cpu');
      assert.deepEqual([r.model.input_size, r.input.width, r.input.height], [384, 384, 384], 'the network and the sample must be at 384 px');
      assert.ok(r.median.fps > 0 && r.detections > 0, `a finished run with detections: ${JSON.stringify(r.median)}, ${r.detections} detections`);
      checkTimings(assert, { timings: r.median });
      assert.ok(!('dispatches' in r.median), `no GPU dispatches are counted on the CPU: ${JSON.stringify(r.median)}`);
      console.log(`sgemm ${r.sgemm.n}^3 in the page: ${r.sgemm.gflops.toFixed(1)} GFLOP/s`);
      assert.ok(r.sgemm.n === 1024 && Number.isFinite(r.sgemm.gflops) && r.sgemm.gflops > 0, `the sgemm ceiling is measured: ${JSON.stringify(r.sgemm)}`);
      // The first visit: the wasm comes compressed from the server, within the size budget.
      const d = r.wasm_download;
      console.log(`first detection ${r.first_detection_ms.toFixed(0)} ms after navigation; wasm ${JSON.stringify(d)}`);
      assert.ok(r.first_detection_ms > 0, `first_detection_ms: ${r.first_detection_ms}`);
      // Where the first visit's time goes: the download counted, then compilation, then the model.
      const steps = r.load_log.map((step) => step.text);
      console.log(`first visit: ${r.load_log.map((step) => `${step.ms} ms ${step.text}`).join('; ')}`);
      const at = (re) => steps.findIndex((t) => re.test(t));
      assert.ok(at(/downloading the detector: [\d.]+ of [\d.]+ MB/) >= 0, `the download's progress is shown: ${steps.join(' | ')}`);
      assert.ok(at(/downloading the detector/) < at(/compiling the WebAssembly module/), `download, then compilation: ${steps.join(' | ')}`);
      assert.ok(at(/compiling the WebAssembly module/) < at(/loading the model on/), `compilation, then the model: ${steps.join(' | ')}`);
      assert.ok(at(/loading the model on/) < at(/reading the model \([\d.]+ MB of weights\)/), `then the model's weights: ${steps.join(' | ')}`);
      assert.ok(d && d.decoded_bytes > 1e6, `the wasm's download must be timed: ${JSON.stringify(d)}`);
      assert.ok(d.encoded_bytes < d.decoded_bytes / 2 && d.encoded_bytes <= 10e6, `the wasm must come compressed, at most 10 MB: ${JSON.stringify(d)}`);
    });
  } finally {
    await browser.close();
  }
});
