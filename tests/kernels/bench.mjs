// Benchmark (not a test): the fused non-local forward (shaders/non_local.wgsl) against the unfused
// baseline that materialises A = softmax(scale theta phi^T) (shaders/non_local_unfused.wgsl), B = 1,
// at the P4 sizes of 320/512/640 px inputs (N = 20^2, 32^2, 40^2) and C = 64, 256. Reports the median
// ms of `runs` dispatches (submit to onSubmittedWorkDone, inputs already on the GPU, after a warm-up),
// the bytes of GPU buffers each allocates (all: inputs, y, params and its own lse or A) and the
// largest |y_fused - y_unfused|.
// In a page: `(await import('/tests/kernels/bench.mjs')).bench({ runs: 5 })`.
// From node (headless Chromium, as the browser tests): `node tests/kernels/bench.mjs [runs]`.

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

/** Times one plan: {ms (median), bytes, y}. */
async function time(planned, runs) {
  const p = await planned;
  try {
    await p.dispatch();
    const ms = [];
    for (let k = 0; k < runs; k++) {
      const t = performance.now();
      await p.dispatch();
      ms.push(performance.now() - t);
    }
    return { ms: median(ms), bytes: p.bytes, y: new Float32Array((await p.read(['y'])).y) };
  } finally {
    p.destroy();
  }
}

export async function bench({ runs = 5, sides = [20, 32, 40], channels = [64, 256], log = console.log } = {}) {
  const { Kernels } = await import('./runner.mjs');
  const { nonLocalInputs } = await import('./reference.mjs');
  const kernels = await Kernels.create();
  const rows = [];
  for (const C of channels) {
    for (const side of sides) {
      const a = nonLocalInputs({ B: 1, N: side * side, C, seed: 1 });
      const fused = await time(kernels.forwardPlan(a), runs);
      const unfused = await time(kernels.unfusedPlan(a), runs);
      const diff = fused.y.reduce((m, v, k) => Math.max(m, Math.abs(v - unfused.y[k])), 0);
      const row = { N: a.N, C, fusedMs: fused.ms, unfusedMs: unfused.ms, fusedBytes: fused.bytes, unfusedBytes: unfused.bytes, maxDiff: diff };
      log(JSON.stringify(row));
      rows.push(row);
    }
  }
  return rows;
}

if (globalThis.process?.argv?.[1]?.endsWith('bench.mjs')) {
  const { launch } = await import('../browser/harness.mjs');
  const { serveRoot } = await import('./serve.mjs');
  const runs = Number(process.argv[2] ?? 5);
  const server = await serveRoot();
  const browser = await launch({ webgpu: true });
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    const rows = await page.evaluate((runs) => import('/tests/kernels/bench.mjs').then((m) => m.bench({ runs })), runs);
    console.log(`median of ${runs} runs, ${(await page.evaluate(() => navigator.userAgent))}`);
    console.table(rows.map((r) => ({ ...r, fusedMs: r.fusedMs.toFixed(1), unfusedMs: r.unfusedMs.toFixed(1), maxDiff: r.maxDiff.toExponential(1) })));
  } finally {
    await browser.close();
    await server.close();
  }
}
