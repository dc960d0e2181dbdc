// What both workers (web/worker.js, the detector; web/train/worker.js, the trainer) share: loading
// the wasm module, reporting a dead wasm instance, and answering requests.
//
// Requests (main -> worker) carry an `id` and a `type`; replies are {type: 'reply', id, result}
// or {type: 'reply', id, error: message}. Also {type: 'progress', text} while starting, and
// {type: 'panic', message} when the wasm instance is unusable (Rust panic, trap such as running
// out of memory, GPU device lost): the page must terminate the worker.

let panicked = false;

export const errorText = (e) => (e && e.message) || String(e);
export const progress = (text) => self.postMessage({ type: 'progress', text });

/** Reports the instance dead, with how much memory it had grown to (a hint at running out). */
export function panic(message) {
  if (panicked) return;
  panicked = true;
  self.postMessage({ type: 'panic', message: String(message).slice(0, 500), memoryBytes: wasmMemoryBytes() });
}

// console_error_panic_hook reports Rust panics through console.error; after one, the wasm
// instance is in an undefined state and its pending promises may never settle.
const logError = console.error.bind(console);
console.error = (...args) => {
  logError(...args);
  const text = args.map(String).join(' ');
  if (text.includes('panicked at')) panic(text.split('\n\nStack')[0].trim());
};
self.addEventListener('unhandledrejection', (e) => {
  if (e.reason instanceof WebAssembly.RuntimeError) panic(errorText(e.reason));
});
// A trap outside a promise (in a callback of wasm-bindgen's futures): reported here, with the
// memory it had grown to, instead of as a bare script error.
self.addEventListener('error', (e) => {
  if (!(e.error instanceof WebAssembly.RuntimeError)) return;
  e.preventDefault();
  panic(errorText(e.error));
});

const PKG = new URL('../pkg/', import.meta.url);
const loaded = new Map(); // build folder ('' or 'threads/') -> the module's exports, once loaded
const manifests = new Map(); // build folder -> its wasm.json, fetched once
let download = Promise.resolve(null); // how the last loaded wasm came (downloadOf)
let memory = null; // its WebAssembly.Memory

/**
 * How the CPU path can run in this worker: `{threads: n}` on the threaded build (`pkg/threads/`,
 * n = the machine's cores) where the page is cross-origin isolated, as its shared memory needs,
 * and that build was published; otherwise `{threads: 1, why}` on the page's own build.
 */
export async function cpuThreads() {
  if (!self.crossOriginIsolated) {
    return { threads: 1, why: 'the page is not cross-origin isolated: its server sends no COOP/COEP headers' };
  }
  if (!(await manifestOf('threads/').then(() => true, () => false))) {
    return { threads: 1, why: 'the server has no threaded build (it needs the nightly Rust toolchain)' };
  }
  return { threads: Math.max(1, navigator.hardwareConcurrency || 1) };
}

/**
 * The `wasm.json` of the build in folder `dir` (under `pkg/`), fetched once per worker: it names
 * the wasm by its content hash (written by crate/page), so a rebuilt wasm is a new URL and an
 * unchanged one comes from the browser's cache.
 */
function manifestOf(dir) {
  if (!manifests.has(dir)) {
    manifests.set(dir, fetch(new URL(`${dir}wasm.json`, PKG), { cache: 'no-cache' }).then((res) => {
      if (!res.ok) throw new Error(`${res.url}: HTTP ${res.status}`);
      return res.json();
    }));
  }
  return manifests.get(dir);
}

/** How `cpuThreads()`'s answer runs, in words for the backend details. */
export const cpuRunsOn = ({ threads, why }) =>
  why ? `one thread, SIMD128 (${why})` : `${threads} thread${threads === 1 ? '' : 's'} (Web Workers), SIMD128`;

/**
 * Loads the wasm module once per build; resolves with its exports. `cpu` (from `cpuThreads()`)
 * with `threads` but no `why` selects the threaded CPU build and starts its threads.
 */
export async function loadWasm(cpu = null) {
  const threads = cpu && !cpu.why ? cpu.threads : 0;
  const dir = threads ? 'threads/' : '';
  if (loaded.has(dir)) return loaded.get(dir);
  progress('loading the WebAssembly module…');
  try {
    const pkg = new URL(dir, PKG);
    const { wasm: file, bytes } = await manifestOf(dir);
    const module = await import(new URL('libra_rcnn.js', pkg).href);
    const url = new URL(file, pkg);
    memory = (await module.default({ module_or_path: counted(url, bytes) })).memory;
    download = downloadOf(url.href); // not awaited: the entry can come after the module
    if (threads) {
      progress(`starting ${threads} CPU threads…`);
      // Panics on the other threads reach the page on this channel (web/worker-client.js).
      module.set_panic_channel(self.name);
      await module.initThreadPool(threads);
    }
    loaded.set(dir, module);
    return module;
  } catch (e) {
    throw new Error(`the WebAssembly module could not be loaded: ${errorText(e)}`);
  }
}

/**
 * The wasm's response with its body counted into progress messages as it arrives (`total`: its
 * plain size from wasm.json; the browser compiles it while it streams in).
 */
async function counted(url, total) {
  const res = await fetch(url);
  if (!res.ok || !res.body || !(total > 0)) return res;
  const mb = (n) => (n / 1e6).toFixed(1);
  let got = 0;
  let shown = 0;
  const body = res.body.pipeThrough(new TransformStream({
    transform(chunk, out) {
      got += chunk.byteLength;
      if (got - shown >= total / 50 || got >= total) {
        shown = got;
        progress(got >= total ? 'compiling the WebAssembly module…' : `downloading the detector: ${mb(got)} of ${mb(total)} MB…`);
      }
      out.enqueue(chunk);
    },
  }));
  return new Response(body, { status: res.status, statusText: res.statusText, headers: { 'Content-Type': 'application/wasm' } });
}

/**
 * Resolves with the wasm's download as Resource Timing saw it: bytes on the wire (0 from the
 * cache), compressed and plain body bytes, milliseconds; null if no entry comes within 2 s. The
 * entry is queued when the response ends, which can come after the compile that read it.
 */
function downloadOf(href) {
  return new Promise((resolve) => {
    const done = (value) => { observer.disconnect(); clearTimeout(timer); resolve(value); };
    const observer = new PerformanceObserver((list) => {
      const entry = list.getEntriesByName(href).at(-1);
      if (entry) done({ transfer_bytes: entry.transferSize, encoded_bytes: entry.encodedBodySize, decoded_bytes: entry.decodedBodySize, ms: entry.duration });
    });
    const timer = setTimeout(() => done(null), 2000);
    observer.observe({ type: 'resource', buffered: true });
  });
}

/** Resolves with the wasm's download (downloadOf); null before it loads. */
export const wasmDownload = () => download;

/** Bytes of wasm memory the instance has grown to (0 before it loads). */
export const wasmMemoryBytes = () => memory?.buffer.byteLength ?? 0;

/**
 * Answers requests with `handlers[type](request)`, one at a time in arrival order (the wasm
 * objects refuse a second call while one is pending); a trap or a lost device is a panic.
 */
export function serve(handlers) {
  let queue = Promise.resolve();
  const answer = async (data) => {
    try {
      const handler = handlers[data.type];
      if (!handler) throw new Error(`unknown request type '${data.type}'`);
      const result = await handler(data);
      self.postMessage({ type: 'reply', id: data.id, result }, result instanceof ArrayBuffer ? [result] : []);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || /device (is |was )?lost/i.test(errorText(e))) panic(errorText(e));
      else self.postMessage({ type: 'reply', id: data.id, error: errorText(e) });
    }
  };
  self.onmessage = ({ data }) => {
    queue = queue.then(() => answer(data));
  };
}
