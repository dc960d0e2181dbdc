// Benchmark page: the default model on a bundled sample, run N times (?runs=N, default 20, after
// ?warmup=N untimed runs, default 2) in the page's worker, at the model's input size or at
// ?size=S (a multiple of 64: the sample is drawn at S x S and the network runs at S); reports
// medians as a table, as JSON in #bench-result and as window.benchResult. ?backend=cpu forces the CPU;
// ?kernels=fused|reference chooses what runs the non-local block (web/worker-client.js).
// On WebGPU, each detection's compute dispatches and queue submissions are counted (web/worker.js).
// After the runs, an sgemm (a 1024^3 f32 matmul) on the same backend: the ceiling the
// convolutions are read against, as `cargo bench` prints it natively (?sgemm=0 leaves it out).
import { startDetector } from './detector-engine.js';
import { WorkerDied } from './worker-client.js';

// The page's limits (web/app.js): the CI's WebGPU is SwiftShader, a slow CPU emulation.
const INIT_TIMEOUT_MS = 180_000; // load the wasm and the model; also the warm-up
const DETECT_TIMEOUT_MS = 90_000; // one detection; also the sgemm's six matmuls
const SGEMM_N = 1024;

const MODEL_URL = new URL('models/default.lrc', import.meta.url).href;
const SAMPLE_URL = new URL('samples/scene_0000.png', import.meta.url).href;
const STAGES = [
  ['backbone_neck_ms', 'Backbone + neck (ms)'],
  ['rpn_ms', 'RPN (ms)'],
  ['roi_head_ms', 'RoI head (ms)'],
  ['postprocess_ms', 'Post-process (ms)'],
];
const GPU_CALLS = [
  ['dispatches', 'GPU compute dispatches'],
  ['submits', 'GPU queue submissions'],
];

const params = new URLSearchParams(location.search);
const forceCpu = params.get('backend') === 'cpu';
const runs = intParam('runs', 20, 1, 1000);
const warmupRuns = intParam('warmup', 2, 0, 100);
const size = intParam('size', 0, 0, 2048); // 0: the model's own input size
const withSgemm = params.get('sgemm') !== '0';

const $ = (id) => document.getElementById(id);
let bench = null; // {client, backend, info, pixels}; null until set up, or after the worker died

function intParam(name, fallback, min, max) {
  const n = Number.parseInt(params.get(name) ?? '', 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

const loadLog = []; // [{ms, text}]: each step of the first visit, ms after navigation

function progress(text) {
  $('progress').textContent = text;
  loadLog.push({ ms: Math.round(performance.now()), text });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The sample drawn at size x size, as RGBA ImageData. */
async function samplePixels(size) {
  const res = await fetch(SAMPLE_URL);
  if (!res.ok) throw new Error(`could not fetch ${SAMPLE_URL} (HTTP ${res.status})`);
  const bitmap = await createImageBitmap(await res.blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = Object.assign(document.createElement('canvas'), { width: size, height: size });
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  ctx.drawImage(bitmap, 0, 0, size, size);
  bitmap.close();
  return ctx.getImageData(0, 0, size, size);
}

async function setUp() {
  progress('downloading the model');
  const res = await fetch(MODEL_URL);
  if (!res.ok) throw new Error(`could not fetch ${MODEL_URL} (HTTP ${res.status})`);
  const started = await startDetector({
    bytes: await res.arrayBuffer(),
    backend: forceCpu ? 'cpu' : 'auto',
    cpuReason: 'forced by ?backend=cpu',
    initTimeoutMs: INIT_TIMEOUT_MS,
    warmupTimeoutMs: INIT_TIMEOUT_MS,
    onProgress: progress,
  });
  const { kind, reason } = started.backend;
  $('backend').textContent = kind === 'webgpu' ? `WebGPU — ${reason}` : `CPU (WebAssembly, ${started.backend.runsOn}) — ${reason}`;
  try {
    const info = size ? await started.client.request({ type: 'resize', size }, DETECT_TIMEOUT_MS) : started.info;
    return { ...started, info, pixels: await samplePixels(info.input_size) };
  } catch (e) {
    started.client.terminate();
    throw e;
  }
}

/** One detection of the sample; the pixels are copied so they can be transferred. */
async function detectOnce() {
  const { client, pixels } = bench;
  const rgba = pixels.data.slice().buffer;
  const start = performance.now();
  const result = await client.request({ type: 'detect', rgba, width: pixels.width, height: pixels.height }, DETECT_TIMEOUT_MS, [rgba]);
  return { ...result, round_trip_ms: performance.now() - start };
}

async function measure() {
  document.body.dataset.state = 'running';
  $('run-again').disabled = true;
  // performance.now() counts from the navigation: the first visit's wait, download to boxes.
  bench.firstDetectionMs ??= await detectOnce().then(() => performance.now());
  for (let i = 0; i < warmupRuns; i++) {
    progress(`warm-up run ${i + 1} of ${warmupRuns}`);
    await detectOnce();
  }
  const samples = [];
  for (let i = 0; i < runs; i++) {
    progress(`run ${i + 1} of ${runs}`);
    samples.push(await detectOnce());
  }
  let sgemmGflops = null;
  if (withSgemm) {
    progress(`sgemm ${SGEMM_N}^3`);
    sgemmGflops = await bench.client.request({ type: 'sgemm', n: SGEMM_N }, DETECT_TIMEOUT_MS);
  }
  const onGpu = samples[0].gpu_calls !== null;
  const series = {
    fps: samples.map((s) => 1000 / s.round_trip_ms),
    round_trip_ms: samples.map((s) => s.round_trip_ms),
    total_ms: samples.map((s) => s.total_ms),
    ...Object.fromEntries(STAGES.map(([key]) => [key, samples.map((s) => s.timings[key])])),
    ...(onGpu ? Object.fromEntries(GPU_CALLS.map(([key]) => [key, samples.map((s) => s.gpu_calls[key])])) : {}),
  };
  const { backend, info } = bench;
  const result = {
    backend,
    model: { url: MODEL_URL, classes: info.classes, input_size: info.input_size, parameters: info.parameters },
    input: { sample: SAMPLE_URL, width: info.input_size, height: info.input_size },
    runs,
    warmup_runs: warmupRuns,
    median_fps: median(series.fps),
    median: Object.fromEntries(Object.entries(series).map(([k, xs]) => [k, median(xs)])),
    min: Object.fromEntries(Object.entries(series).map(([k, xs]) => [k, Math.min(...xs)])),
    max: Object.fromEntries(Object.entries(series).map(([k, xs]) => [k, Math.max(...xs)])),
    detections: samples.at(-1).detections.length,
    sgemm: sgemmGflops === null ? null : { n: SGEMM_N, gflops: sgemmGflops },
    first_detection_ms: bench.firstDetectionMs,
    load_log: loadLog.filter((step) => step.ms <= bench.firstDetectionMs),
    wasm_download: bench.download,
    user_agent: navigator.userAgent,
    date: new Date().toISOString(),
  };
  render(result);
  window.benchResult = result;
  progress(`done: ${runs} runs`);
  $('run-again').disabled = false;
  document.body.dataset.state = 'done';
}

function render(result) {
  const rows = [
    ['fps', 'Frames per second (page ↔ worker)'],
    ['round_trip_ms', 'Round trip (ms)'],
    ['total_ms', 'Detector total (ms)'],
    ...STAGES,
    ...GPU_CALLS.filter(([key]) => key in result.median),
  ];
  const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1));
  $('bench-table').replaceChildren(
    ...rows.map(([key, name]) => {
      const tr = document.createElement('tr');
      for (const text of [name, fmt(result.median[key]), fmt(result.min[key]), fmt(result.max[key])]) {
        tr.append(Object.assign(document.createElement('td'), { textContent: text }));
      }
      return tr;
    }),
  );
  const d = result.wasm_download;
  const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
  $('first-visit').textContent = `First detection ${(result.first_detection_ms / 1000).toFixed(1)} s after navigation; the wasm: `
    + (d ? `${mb(d.transfer_bytes)} on the wire${d.transfer_bytes ? '' : ' (from the cache)'}, ${mb(d.encoded_bytes)} compressed, ${mb(d.decoded_bytes)} plain, ${(d.ms / 1000).toFixed(1)} s` : 'no timing entry');
  $('sgemm').textContent = result.sgemm
    ? `sgemm ${result.sgemm.n}³ on this backend: ${result.sgemm.gflops.toFixed(1)} GFLOP/s (median of 5; the ceiling of the convolutions, as \`cargo bench\` measures it natively)`
    : 'sgemm left out (?sgemm=0)';
  $('bench-result').textContent = JSON.stringify(result, null, 2);
}

/** Sets the detector up if needed, then measures; failures are shown and recorded. */
async function run() {
  try {
    bench ??= await setUp();
    await measure();
  } catch (e) {
    if (e instanceof WorkerDied) bench = null; // "Run again" starts a fresh worker
    const text = `The benchmark failed: ${e.message}`;
    $('message').textContent = text;
    progress('failed');
    window.benchResult = { error: text };
    $('bench-result').textContent = JSON.stringify(window.benchResult, null, 2);
    $('run-again').disabled = false;
    document.body.dataset.state = 'error';
  }
}

/** A link to this page with `changes` applied to its query (null deletes a parameter). */
function linkWith(id, changes, text) {
  const next = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) next.delete(k);
    else next.set(k, v);
  }
  Object.assign($(id), { href: `${location.pathname}${next.size ? `?${next}` : ''}`, textContent: text });
}
linkWith('switch-backend', { backend: forceCpu ? null : 'cpu' }, forceCpu ? 'Run with the default backend (WebGPU if available)' : 'Run with ?backend=cpu');
linkWith('switch-size', { size: size === 512 ? null : '512' }, size === 512 ? "Run at the model's input size" : 'Run at 512 px');
$('run-again').addEventListener('click', run);

run();
