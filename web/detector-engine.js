// The running detector: one detector worker (./worker.js) with a model, started with the model
// from ?model, the IndexedDB cache or the default; swaps models (the new one loads in a fresh
// worker and replaces the old only on success); and restarts it on the CPU when its worker dies.
// The page gets the current client from ready(); the benchmark page starts its own (startDetector).
import { deleteUserModel, loadUserModel, saveUserModel } from './modelstore.js';
import { kernelsSetting, WorkerClient, WorkerDied } from './worker-client.js';

const DEFAULT_MODEL_URL = new URL('models/default.lrc', import.meta.url).href;
const DEFAULT_MODEL_LABEL = 'default (browser preset, generated-scene shapes)';

/**
 * Starts a detector worker, loads `bytes` (an ArrayBuffer of a .lrc or .safetensors checkpoint; a
 * copy is sent) and, on WebGPU, warms the shaders up; where WebGPU fails to load the model, starts
 * a fresh worker on the CPU with the reason. Resolves with {client, backend, info, download,
 * gpuFailed: true if so}; on failure the worker is stopped and the error (WorkerDied if it died) is thrown.
 */
export async function startDetector(options) {
  const { bytes, backend, cpuReason, initTimeoutMs, warmupTimeoutMs, onProgress } = options;
  const client = new WorkerClient(new URL('worker.js', import.meta.url), 'detector');
  client.onProgress = onProgress;
  try {
    const copy = bytes.slice(0);
    const started = await client.request({ type: 'init', backend, cpuReason, kernels: kernelsSetting(), modelBytes: copy }, initTimeoutMs, [copy]);
    if (started.retryOnCpu) {
      client.terminate();
      onProgress?.(`${started.retryOnCpu}; starting on the CPU…`);
      return { ...(await startDetector({ ...options, backend: 'cpu', cpuReason: started.retryOnCpu })), gpuFailed: true };
    }
    if (started.backend.kind === 'webgpu') {
      onProgress?.('compiling the GPU shaders (a first detection on a grey picture)…');
      await client.request({ type: 'warmup' }, warmupTimeoutMs);
    }
    client.onProgress = null;
    return { client, backend: started.backend, info: started.info, download: started.download };
  } catch (e) {
    client.terminate();
    throw e;
  }
}

export class DetectorEngine {
  client = null; // the WorkerClient answering detections; null while (re)starting
  backend = null; // {kind, reason, adapter, limits} of `client`
  model = null; // {bytes, name, label, isDefault, cached?} of `client`
  loading = 0; // > 0 while a model loads
  fatal = null; // message when the detector cannot run at all

  #hooks;
  #options;
  #pref; // {backend: 'auto' | 'cpu', reason} for the next worker
  #waiters = [];
  #restartsLeft = 1; // CPU restarts allowed before the next successful detection

  /**
   * hooks: say(text) for #message, changed(detail?) when loading/fatal change or progress is made,
   * activated({backend, info, model}) when a detector starts running, failed(text) when none can.
   * options: {forceCpu, initTimeoutMs, warmupTimeoutMs}.
   */
  constructor(hooks, options) {
    this.#hooks = hooks;
    this.#options = options;
    this.#pref = options.forceCpu ? { backend: 'cpu', reason: 'forced by ?backend=cpu' } : { backend: 'auto', reason: '' };
  }

  /** Resolves with a client once a detection can run (waits through loading and restarts). */
  ready() {
    if (this.fatal) return Promise.reject(new Error(this.fatal));
    if (this.client) return Promise.resolve(this.client);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** A detection succeeded: a later crash may restart the worker again. */
  succeeded() {
    this.#restartsLeft = 1;
  }

  /** Loads the first model: `modelUrl` (from ?model), else the cached user model, else the default. */
  async boot(modelUrl) {
    await this.#loading(async () => {
      try {
        const spec = modelUrl ? await this.#urlModel(modelUrl) : ((await this.#cachedModel()) ?? (await this.#defaultModel()));
        try {
          this.#activate(await this.#bringUp(spec, this.#pref), spec);
        } catch (e) {
          if (!spec.cached) throw e;
          // The cached model no longer loads (e.g. written by another version): forget it.
          await deleteUserModel();
          const fallback = await this.#defaultModel();
          this.#activate(await this.#bringUp(fallback, this.#pref), fallback);
          this.#hooks.say(`Your cached model ${spec.name} could not be loaded (${e.message}); it was removed and the default model is used.`);
        }
      } catch (e) {
        this.#fail(`The detector could not start: ${e.message}`);
      }
    });
  }

  /** Loads a user's model file (.lrc or .safetensors); on success it runs and is cached, on failure the previous model keeps running. */
  loadFile(file) {
    return this.#swap(async () => ({ bytes: await file.arrayBuffer(), name: file.name, label: file.name, isDefault: false }), `the model ${file.name}`);
  }

  /** Runs a model given as bytes (one trained in this page); cached like a loaded file. */
  loadBytes(bytes, name) {
    return this.#swap(async () => ({ bytes, name, label: name, isDefault: false }), `the model ${name}`);
  }

  /** Forgets the cached model and returns to the default one. */
  async reset() {
    await deleteUserModel();
    if (this.model?.isDefault) return this.#hooks.say('The default model is already in use; no model is cached any more.');
    return this.#swap(() => this.#defaultModel(), 'the default model');
  }

  async #loading(work) {
    this.loading++;
    this.#hooks.changed();
    try {
      return await work();
    } finally {
      this.loading--;
      this.#hooks.changed();
    }
  }

  async #swap(getSpec, what) {
    this.#hooks.say(`Loading ${what}…`);
    await this.#loading(async () => {
      try {
        const spec = await getSpec();
        const started = await this.#bringUp(spec, this.fatal ? { backend: 'auto', reason: '' } : this.#pref);
        if (!spec.isDefault) {
          const cached = await saveUserModel(spec.name, spec.bytes);
          spec.label = cached ? `${spec.name} (cached)` : `${spec.name} (not cached: browser storage unavailable)`;
        }
        this.#activate(started, spec);
        this.#hooks.say('');
      } catch (e) {
        this.#hooks.say(`Could not load ${what}: ${e.message}.${this.client ? ' The previous model keeps running.' : ''}`);
      }
    });
  }

  /**
   * Starts a worker for `spec`; if WebGPU kills it, tries again on the CPU. Returns {client, backend, info, pref}:
   * after WebGPU failed either way, `pref` is the CPU, so the next model does not try it again.
   */
  async #bringUp(spec, pref) {
    try {
      const started = await startDetector({
        bytes: spec.bytes,
        backend: pref.backend,
        cpuReason: pref.reason,
        initTimeoutMs: this.#options.initTimeoutMs,
        warmupTimeoutMs: this.#options.warmupTimeoutMs,
        onProgress: (text) => this.#hooks.changed(text),
      });
      return { ...started, pref: started.gpuFailed ? { backend: 'cpu', reason: started.backend.reason } : pref };
    } catch (e) {
      if (!(e instanceof WorkerDied) || pref.backend === 'cpu') throw e;
      this.#hooks.say(`WebGPU did not work here (${e.message}); starting on the CPU (WebAssembly) instead.`);
      return this.#bringUp(spec, { backend: 'cpu', reason: `WebGPU failed: ${e.message}` });
    }
  }

  /** Makes a started detector the running one; the previous worker is stopped. */
  #activate({ client, backend, info, pref }, spec) {
    const previous = this.client;
    Object.assign(this, { client, backend, model: spec, fatal: null });
    this.#pref = pref;
    client.onDeath = (reason) => this.#onDeath(client, reason);
    previous?.terminate();
    this.#hooks.activated({ backend, info, model: spec });
    for (const w of this.#waiters.splice(0)) w.resolve(client);
    this.#hooks.changed();
  }

  /** The running worker died: restart the same model on the CPU (once, unless detections succeed again). */
  #onDeath(dead, reason) {
    if (dead !== this.client) return;
    this.client = null;
    const from = this.backend.kind === 'webgpu' ? 'WebGPU' : 'CPU';
    if (from === 'CPU') {
      if (this.#restartsLeft <= 0) return this.#fail(`The detector stopped (${reason}) and cannot run. Reload the page to try again.`);
      this.#restartsLeft--;
    }
    const spec = this.model;
    const pref = { backend: 'cpu', reason: `restarted on the CPU after the ${from} detector stopped: ${reason}` };
    this.#hooks.say(`The ${from} detector stopped (${reason}). Restarting it on the CPU (WebAssembly) with the model ${spec.label}…`);
    this.#loading(async () => {
      try {
        const started = await this.#bringUp(spec, pref);
        if (this.client) return started.client.terminate(); // another model took over meanwhile
        this.#activate(started, spec);
        this.#hooks.say(`The ${from} detector stopped (${reason}); it now runs on the CPU (WebAssembly) with the model ${spec.label}.`);
      } catch (e) {
        if (!this.client) this.#fail(`The detector stopped (${reason}) and could not restart on the CPU: ${e.message}`);
      }
    });
  }

  #fail(text) {
    this.fatal = text;
    for (const w of this.#waiters.splice(0)) w.reject(new Error(text));
    this.#hooks.failed(text);
  }

  async #download(url) {
    let res;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new Error(`could not download the model ${url}: ${e.message}`);
    }
    if (!res.ok) throw new Error(`could not download the model ${url} (HTTP ${res.status})`);
    const total = Number(res.headers.get('content-length'));
    if (!res.body || !total) return res.arrayBuffer();
    const chunks = [];
    let got = 0;
    const mb = (n) => (n / 1e6).toFixed(1);
    for (const reader = res.body.getReader(); ; ) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      got += value.length;
      this.#hooks.changed(`downloading the model (${mb(got)} of ${mb(total)} MB)`);
    }
    return new Blob(chunks).arrayBuffer();
  }

  async #defaultModel() {
    return { bytes: await this.#download(DEFAULT_MODEL_URL), name: 'default.lrc', label: DEFAULT_MODEL_LABEL, isDefault: true };
  }

  async #urlModel(url) {
    const name = decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() || url);
    return { bytes: await this.#download(url), name, label: `${name} (from ?model)`, isDefault: false };
  }

  async #cachedModel() {
    const cached = await loadUserModel();
    return cached && { bytes: cached.bytes, name: cached.name, label: `${cached.name} (cached)`, isDefault: false, cached: true };
  }
}
