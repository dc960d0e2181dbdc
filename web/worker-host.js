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

let wasm = null; // the module's exports, once loaded
let memory = null; // its WebAssembly.Memory

/** Loads the wasm module once; resolves with its exports. */
export async function loadWasm() {
  if (wasm) return wasm;
  progress('loading the WebAssembly module…');
  try {
    const module = await import('/pkg/libra_rcnn.js');
    memory = (await module.default()).memory;
    wasm = module;
  } catch (e) {
    throw new Error(`the WebAssembly module could not be loaded: ${errorText(e)}`);
  }
  return wasm;
}

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
