// The page's benchmark (bench.html) in headless Chromium on WebGPU with our kernels forced and
// with the reference forced, at the given input sizes: the detector's stage times through burn.
//   node tests/kernels/bench-page.mjs [runs] [size ...]     (needs `libra serve`'s build, as the tests)
import { startServer, launch, openPage } from '../browser/harness.mjs';

const [runs = '3', ...sizes] = process.argv.slice(2);
const server = await startServer();
const browser = await launch({ webgpu: true });
try {
  console.log('size  kernels    backbone+neck ms  total ms  (median of', runs, 'runs)');
  for (const size of sizes.length ? sizes : ['320', '640']) {
    for (const kernels of ['fused', 'reference']) {
      const page = await openPage(browser, `${server.url}bench.html?runs=${runs}&warmup=1&size=${size}&kernels=${kernels}`);
      await page.waitForFunction(() => window.benchResult, null, { timeout: 30 * 60_000, polling: 1000 });
      const r = await page.evaluate(() => window.benchResult);
      if (r.error) throw new Error(r.error);
      console.log(`${size.padStart(4)}  ${kernels.padEnd(9)}  ${r.median.backbone_neck_ms.toFixed(1).padStart(16)}  ${r.median.total_ms.toFixed(1).padStart(8)}  ${r.backend.reason}`);
      await page.close();
    }
  }
} finally {
  await browser.close();
  server.stop();
}
