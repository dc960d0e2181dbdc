// The static bundle (`libra-page bundle`) served by a plain static file server, in a subfolder
// of the host: the page finds its files, falls back to the CPU without WebGPU and gives the
// native CLI's detections; the benchmark page runs there too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startStaticBundle, launch, onPage, waitForState, backendOf, detectSample, nativeDetect,
  assertSameAsNative, LOAD_MS, TEST_TIMEOUT,
} from './harness.mjs';

let dir;
let server;
let native;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'libra-bundle-'));
  server = await startStaticBundle(dir, 'detector');
  native = await nativeDetect();
});
after(() => {
  server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the bundle on a plain static server, below its root: CPU fallback, native detections, benchmark', { timeout: TEST_TIMEOUT }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    await onPage(browser, `${server.url}detector/`, 'bundle-cpu', async (page) => {
      await waitForState(page, 'ready');
      const backend = await backendOf(page);
      console.log('bundle backend:', JSON.stringify(backend));
      assert.equal(backend?.kind, 'cpu', `no WebGPU here: the bundle must run on the CPU: ${JSON.stringify(backend)}`);
      assert.match(await page.textContent('#backend'), /one thread, SIMD128 \(the page is not cross-origin isolated/, 'a page that is not cross-origin isolated says it runs single-threaded, and why');
      const r = await detectSample(page);
      assertSameAsNative(assert, r.detections, native, 'bundle CPU');
    });
    await onPage(browser, `${server.url}detector/bench.html?backend=cpu&runs=1&warmup=0`, 'bundle-bench', async (page) => {
      await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: LOAD_MS, polling: 500 });
      const r = await page.evaluate(() => window.benchResult);
      assert.ok(!r.error, `the benchmark failed in the bundle: ${r.error}`);
      assert.ok(r.detections > 0 && r.wasm_download?.decoded_bytes > 1e6, `a finished run with detections and a timed wasm: ${JSON.stringify(r)}`);
    });
  } finally {
    await browser.close();
  }
});
