// The page's side of a worker (web/worker.js, the detector: one per loaded model;
// web/train/worker.js, the trainer; their side is web/worker-host.js): requests with ids and
// timeouts, and the worker's death (script error, Rust panic, out of memory, GPU loss, timeout)
// as an event. Also the ?kernels= setting both workers are started with.

/** The worker is gone: it crashed, hung past its timeout, or its GPU device was lost. */
export class WorkerDied extends Error {}

/** The worker was shut down on purpose (another model replaced it). */
export class WorkerReplaced extends Error {}

export class WorkerClient {
  /** Called once with (reason, {memoryBytes}) when the worker dies; set by the owner. */
  onDeath = null;
  /** Called with a short text while the worker starts ("loading the model on WebGPU…"). */
  onProgress = null;
  /** Bytes of wasm memory the worker had when it died (0 if unknown). */
  memoryBytes = 0;

  #worker;
  #panics; // the threaded build's panics on its rayon threads (crate/web/thread_panics.rs)
  #name;
  #pending = new Map(); // id -> {resolve, reject, timer}
  #nextId = 1;
  #closed = null; // the error pending and later requests reject with, once shut down

  /** A worker running the module `url`; `name` ("detector", "trainer") goes into messages. */
  constructor(url, name) {
    this.#name = name;
    // The worker's name is the channel its threaded build's other threads report panics on:
    // the worker itself is blocked while they run, so those panics cannot come through it.
    const channel = `libra-${name}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    this.#worker = new Worker(url, { type: 'module', name: channel });
    this.#worker.onmessage = (e) => this.#receive(e.data);
    this.#panics = new BroadcastChannel(channel);
    this.#panics.onmessage = (e) => this.#receive({ type: 'panic', ...e.data });
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#die(e.message || `the ${name} worker could not start (its script failed to load)`);
    };
    this.#worker.onmessageerror = () => this.#die(`a message from the ${name} worker could not be read`);
  }

  /** Sends `msg` and resolves with the worker's result; rejects with its error, or WorkerDied. */
  request(msg, timeoutMs, transfer = []) {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#die(`no answer to '${msg.type}' within ${timeoutMs / 1000} s`), timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** Stops the worker; its pending requests reject with WorkerReplaced. */
  terminate() {
    this.#shutdown(new WorkerReplaced(`the ${this.#name} was replaced`));
  }

  #receive(m) {
    if (m.type === 'panic') {
      this.memoryBytes = m.memoryBytes ?? 0;
      return this.#die(`the ${this.#name} crashed: ${m.message}`);
    }
    if (m.type === 'progress') return this.onProgress?.(m.text);
    const p = this.#pending.get(m.id);
    if (!p) return;
    clearTimeout(p.timer);
    this.#pending.delete(m.id);
    if ('error' in m) p.reject(new Error(m.error));
    else p.resolve(m.result);
  }

  #die(reason) {
    if (this.#closed) return;
    this.#shutdown(new WorkerDied(reason));
    this.onDeath?.(reason, { memoryBytes: this.memoryBytes });
  }

  #shutdown(error) {
    if (this.#closed) return;
    this.#closed = error;
    this.#worker.terminate();
    this.#panics.close();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.#pending.clear();
  }
}

/** `?kernels=fused` or `?kernels=reference` in the page's address: where our WGSL kernels run (default auto). */
export const kernelsSetting = () => new URLSearchParams(globalThis.location?.search ?? '').get('kernels') ?? 'auto';
