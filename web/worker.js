// Module worker that owns the wasm detector: picks the backend, loads one model, answers detections.
//
// Requests (main -> worker), each with an `id`:
//   {type: 'init', backend: 'auto' | 'cpu', cpuReason, kernels: 'auto' | 'fused' | 'reference', modelBytes: ArrayBuffer}
//       -> {backend: {kind, reason, adapter, limits}, info: {classes, input_size, parameters, train_proposals, backend,
//           kernels: {active, text}}, download}, or {retryOnCpu: reason} when WebGPU failed to load it (the page
//           then starts a fresh worker with backend 'cpu')
//   {type: 'warmup'}                                   -> {} (one detection on a grey input)
//   {type: 'resize', size}                             -> info, with the network now run at size x size
//   {type: 'sampling', rgba, width, height, boxes, seed} -> the parsed sampling_view() JSON (what
//       the R-CNN samplers pick on the picture for its GT boxes [[x1, y1, x2, y2], ...])
//   {type: 'pyramid', rgba, width, height, channel}  -> the parsed pyramid_view() JSON
//   {type: 'attention', rgba, width, height, x, y}   -> the parsed attention_map() JSON
//   {type: 'lossCurves', alpha, gamma, beta, xMax, points} -> the parsed loss_curves() JSON
//   {type: 'detect', rgba: ArrayBuffer, width, height} -> the parsed detect() JSON, memory_bytes (the wasm's) and
//       gpu_calls: {dispatches, submits} the detection sent to WebGPU (null on the CPU)
//   {type: 'sgemm', n}                                  -> GFLOP/s of an n^3 f32 matmul on the detector's device
// Replies, progress and panics: see worker-host.js.

import { cpuRunsOn, cpuThreads, errorText, loadWasm, panic, progress, serve, wasmDownload, wasmMemoryBytes } from './worker-host.js';

const LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBuffersPerShaderStage',
];

let wasm = null; // the wasm module, once loaded
let detector = null;
let inputSize = 0;
let gpuWatch = null; // a device of our own on the same adapter: its loss means the GPU went away
let onGpu = false; // the detector runs on WebGPU

// Every compute dispatch and queue submission of this worker, counted as it goes through WebGPU's
// prototypes (wgpu calls them by name), so that a detection can say how much GPU work it sent.
const gpuCalls = { dispatches: 0, submits: 0 };
if (self.GPUComputePassEncoder && self.GPUQueue) {
  for (const [proto, name, key] of [
    [GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatches'],
    [GPUComputePassEncoder.prototype, 'dispatchWorkgroupsIndirect', 'dispatches'],
    [GPUQueue.prototype, 'submit', 'submits'],
  ]) {
    const call = proto[name];
    proto[name] = function counted(...args) {
      gpuCalls[key] += 1;
      return call.apply(this, args);
    };
  }
}

// The wasm's CPU path: burn's flex backend with SIMD128 kernels, on every core where the page
// is cross-origin isolated, else on this worker's one thread (`runsOn` says which, from cpuThreads()).
const cpuChoice = (reason) => ({ kind: 'cpu', reason, runsOn: null, adapter: null, limits: null });

/** WebGPU if this worker has an adapter, else the CPU with the reason. */
async function probeWebGpu() {
  if (!navigator.gpu) return cpuChoice('WebGPU unavailable: navigator.gpu is missing');
  let gpuAdapter;
  try {
    gpuAdapter = await navigator.gpu.requestAdapter();
  } catch (e) {
    return cpuChoice(`WebGPU unavailable: requestAdapter() failed: ${errorText(e)}`);
  }
  if (!gpuAdapter) return cpuChoice('WebGPU unavailable: no adapter (requestAdapter() returned null)');
  const info = gpuAdapter.info ?? {};
  const adapter = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? gpuAdapter.isFallbackAdapter),
  };
  const limits = Object.fromEntries(LIMITS.map((k) => [k, gpuAdapter.limits[k]]));
  const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || adapter.description || 'unnamed adapter';
  const reason = adapter.isFallbackAdapter ? `${name} (fallback adapter)` : name;
  return { kind: 'webgpu', reason, adapter, limits, gpuAdapter };
}

/** Watches for GPU loss (driver reset, GPU process crash): the detector's device goes with it. */
async function watchGpu(gpuAdapter) {
  try {
    gpuWatch = await gpuAdapter.requestDevice();
    gpuWatch.lost.then((info) => panic(`the GPU device was lost (${info.reason}): ${info.message}`));
  } catch {
    // Only a nicety: the page's request timeouts still notice a dead GPU.
  }
}

// For the browser tests: destroying the watched device resolves its `lost` promise as a real
// GPU loss does, so the page's recovery can be checked without a real GPU to lose.
self.simulateGpuLoss = () => {
  if (!gpuWatch) throw new Error('this worker watches no GPU device');
  gpuWatch.destroy();
};

async function init({ backend, cpuReason, kernels = 'auto', modelBytes }) {
  if (detector) throw new Error('this worker already holds a model');
  const bytes = new Uint8Array(modelBytes);
  const choice = backend === 'cpu' ? cpuChoice(cpuReason || 'CPU requested') : await probeWebGpu();
  if (choice.kind === 'webgpu') {
    wasm = await loadWasm();
    progress('loading the model on WebGPU…');
    try {
      detector = await wasm.WebDetector.load(bytes, 'webgpu', kernels, progress);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) throw e;
      // Not here: this worker holds the WebGPU build's instance and the memory it grew to, and
      // the CPU may want the threaded build. The page starts a fresh worker on the CPU.
      return { retryOnCpu: `WebGPU failed: ${errorText(e)}` };
    }
    onGpu = true;
    watchGpu(choice.gpuAdapter);
  } else {
    const cpu = await cpuThreads();
    choice.runsOn = cpuRunsOn(cpu);
    wasm = await loadWasm(cpu);
    progress('loading the model on the CPU…');
    detector = await wasm.WebDetector.load(bytes, 'cpu', kernels, progress);
  }
  const info = JSON.parse(detector.info());
  inputSize = info.input_size;
  const { gpuAdapter, ...backendInfo } = choice;
  return { backend: backendInfo, info, download: await wasmDownload() };
}

async function warmup() {
  const grey = new Uint8Array(inputSize * inputSize * 4).fill(128);
  await loaded().detect(grey, inputSize, inputSize);
  return {};
}

async function resize({ size }) {
  loaded().set_input_size(size);
  const info = JSON.parse(detector.info());
  inputSize = info.input_size;
  return info;
}

async function detect({ rgba, width, height }) {
  const before = { ...gpuCalls };
  const result = JSON.parse(await loaded().detect(new Uint8Array(rgba), width, height));
  const gpu_calls = onGpu ? { dispatches: gpuCalls.dispatches - before.dispatches, submits: gpuCalls.submits - before.submits } : null;
  return { ...result, memory_bytes: wasmMemoryBytes(), gpu_calls };
}

async function sgemm({ n }) {
  return loaded().sgemm_gflops(n);
}

async function sampling({ rgba, width, height, boxes, seed }) {
  return JSON.parse(await loaded().sampling_view(new Uint8Array(rgba), width, height, JSON.stringify(boxes), seed));
}

async function pyramid({ rgba, width, height, channel }) {
  return JSON.parse(await loaded().pyramid_view(new Uint8Array(rgba), width, height, channel));
}

async function attention({ rgba, width, height, x, y }) {
  return JSON.parse(await loaded().attention_map(new Uint8Array(rgba), width, height, x, y));
}

async function lossCurves({ alpha, gamma, beta, xMax, points }) {
  loaded();
  return JSON.parse(wasm.loss_curves(alpha, gamma, beta, xMax, points));
}

function loaded() {
  if (!detector) throw new Error('no model is loaded in this worker');
  return detector;
}

serve({ init, warmup, resize, detect, sgemm, sampling, pyramid, attention, lossCurves });
