// The detector's speed on a real GPU, for a machine that has one: the page's benchmark
// (/bench.html) in headless Chromium on the GPU's own driver (Vulkan on Linux), and `cargo bench`
// on native wgpu, written together as one report: frames per second, stage times and GPU
// dispatches per detection at each size, the page's CPU path beside them, the native tables.
//   cargo serve --build-only && node tests/kernels/gpu-bench.mjs [--runs 20] [--sizes 320,512] [--out DIR]
// It stops with a message if Chromium finds only a fallback adapter (SwiftShader) under every
// flag set it tries; `--allow-fallback` measures that one anyway (to try the script on a machine
// without a GPU) and `--no-native` leaves `cargo bench` out. Writes DIR/gpu-bench.json and
// DIR/gpu-bench.md (DIR: tests/artifacts by default). A developer's tool, not a test.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer, launch, openPage, ARTIFACTS, ROOT } from '../browser/harness.mjs';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    sizes: { type: 'string', default: '320,512' },
    out: { type: 'string', default: ARTIFACTS },
    'allow-fallback': { type: 'boolean', default: false },
    'no-native': { type: 'boolean', default: false },
  },
});
const sizes = opts.sizes.split(',').map((s) => Number.parseInt(s, 10));
if (sizes.some((s) => !(s > 0 && s % 64 === 0))) throw new Error(`--sizes takes multiples of 64: ${opts.sizes}`);
const FPS_TARGET = 30; // issue 11's target on a real GPU, at 320 px

// Chromium's ways to a GPU's WebGPU adapter, tried in order: which one works depends on the
// Chromium build, the driver and the headless mode.
const FLAG_SETS = [
  ['--enable-features=Vulkan', '--use-vulkan=native', '--ignore-gpu-blocklist'],
  ['--enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan', '--use-angle=vulkan', '--ignore-gpu-blocklist'],
  ['--ignore-gpu-blocklist'],
];

/** The WebGPU adapter Chromium gives a page of `url` with `flags`, or why none. */
async function adapterWith(url, flags) {
  const browser = await launch({ webgpu: true, args: flags });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    return await page.evaluate(async () => {
      const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) return { error: navigator.gpu ? 'requestAdapter() returned null' : 'navigator.gpu is missing' };
      const { vendor, architecture, device, description } = adapter.info;
      return { vendor, architecture, device, description, isFallbackAdapter: Boolean(adapter.info.isFallbackAdapter) };
    });
  } finally {
    await browser.close();
  }
}

/** The first flag set under which Chromium sees a hardware adapter (or the fallback, if allowed). */
async function pickFlags(url) {
  const seen = [];
  for (const flags of FLAG_SETS) {
    const adapter = await adapterWith(url, flags);
    seen.push({ flags, adapter });
    console.log(`flags ${flags.join(' ')}: ${JSON.stringify(adapter)}`);
    if (!adapter.error && !adapter.isFallbackAdapter) return { flags, adapter };
  }
  const usable = seen.find((s) => !s.adapter.error);
  if (opts['allow-fallback'] && usable) return usable;
  throw new Error('Chromium found no hardware WebGPU adapter under any flag set (see above): check the GPU driver '
    + '(`vulkaninfo --summary` should list the GPU; install the vendor\'s Vulkan driver and libvulkan1), '
    + 'or pass --allow-fallback to measure the fallback adapter anyway');
}

/** One run of /bench.html with `query`; its window.benchResult. */
async function benchPage(browser, url, query) {
  const page = await openPage(browser, `${url}bench.html?${query}`);
  try {
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 30 * 60_000, polling: 1000 });
    const r = await page.evaluate(() => window.benchResult);
    if (r.error) throw new Error(`bench.html?${query}: ${r.error}\n${page.log()}`);
    return r;
  } finally {
    await page.close();
  }
}

/** `cargo bench --bench detector` on flex and native wgpu (no peer); resolves with its output. */
function nativeBench() {
  return new Promise((ok, fail) => {
    const proc = spawn('cargo', ['bench', '--profile', 'dev', '--bench', 'detector'], {
      cwd: ROOT,
      env: { ...process.env, LIBRA_BENCH_WGPU: '1', LIBRA_BENCH_PEER: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    proc.on('error', fail);
    proc.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`cargo bench exited with ${code}`))));
  });
}

const fmt = (v) => (v === undefined ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(1));

function markdown(report) {
  const lines = [
    `# GPU benchmark, ${report.date}`,
    '',
    `Chromium flags: \`${report.flags.join(' ')}\`; adapter: ${JSON.stringify(report.adapter)}`,
    '',
    '| backend | input px | fps | total ms | backbone + neck ms | RPN ms | RoI head ms | post-process ms | dispatches | submissions | sgemm GFLOP/s |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...report.page.map(({ backend, size, result: r }) => `| ${backend} | ${size} | ${fmt(r.median_fps)} | ${fmt(r.median.total_ms)} | ${fmt(r.median.backbone_neck_ms)} | ${fmt(r.median.rpn_ms)} | ${fmt(r.median.roi_head_ms)} | ${fmt(r.median.postprocess_ms)} | ${fmt(r.median.dispatches)} | ${fmt(r.median.submits)} | ${fmt(r.sgemm?.gflops)} |`),
    '',
    `Medians of ${report.runs} runs; first detection after navigation: ${report.page.map(({ backend, size, result }) => `${backend} ${size} px ${(result.first_detection_ms / 1000).toFixed(1)} s`).join(', ')}.`,
    report.target,
  ];
  if (report.native) lines.push('', '## Native (`cargo bench --profile dev --bench detector`, LIBRA_BENCH_WGPU=1)', '', '```', report.native.trim(), '```');
  return `${lines.join('\n')}\n`;
}

const server = await startServer();
try {
  const { flags, adapter } = await pickFlags(`${server.url}web/style.css`);
  const browser = await launch({ webgpu: true, args: flags });
  const page = [];
  try {
    for (const size of sizes) {
      const result = await benchPage(browser, server.url, `runs=${opts.runs}&size=${size}`);
      if (result.backend.kind !== 'webgpu') throw new Error(`the page ran on ${result.backend.kind}: ${result.backend.reason}`);
      page.push({ backend: 'webgpu', size, result });
      console.log(`page, WebGPU, ${size} px: ${result.median_fps.toFixed(1)} fps, ${result.median.dispatches} dispatches`);
    }
    const result = await benchPage(browser, server.url, `runs=${opts.runs}&size=${sizes[0]}&backend=cpu`);
    page.push({ backend: `cpu (${result.backend.runsOn})`, size: sizes[0], result });
  } finally {
    await browser.close();
  }
  const at320 = page.find((p) => p.backend === 'webgpu' && p.size === 320);
  const target = at320
    ? `Target: >= ${FPS_TARGET} fps at 320 px in the page: ${at320.result.median_fps.toFixed(1)} fps, ${at320.result.median_fps >= FPS_TARGET ? 'met' : 'NOT met'}.`
    : `Target: >= ${FPS_TARGET} fps at 320 px in the page: not measured (--sizes has no 320).`;
  const native = opts['no-native'] ? null : await nativeBench();
  const report = { date: new Date().toISOString(), flags, adapter, runs: Number(opts.runs), page, target, native };
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'gpu-bench.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(out, 'gpu-bench.md'), markdown(report));
  console.log(`${markdown(report)}\nwritten: ${join(out, 'gpu-bench.json')}, ${join(out, 'gpu-bench.md')}`);
} finally {
  server.stop();
}
