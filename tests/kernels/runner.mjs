// Runs the WGSL kernels of shaders/ in a page on WebGPU: fetches the .wgsl files (a kernel file listed in
// PRELUDES is compiled as its prelude followed by the file, as the Rust side concat!s them), builds the pipelines,
// checks the device limits (throwing an error that names the limit), uploads inputs, dispatches and
// reads results back with mapAsync. Shapes and bindings as in each shader's header comment.
// Used by tests/browser/kernels.test.mjs and tests/kernels/bench.mjs.

const SHADERS = new URL('../../shaders/', import.meta.url);
/** Largest channel count of the non-local kernels (their 8 lanes x 32 registers, the rows kernel's 256 threads). */
export const MAX_C = 256;

// Entry points: file, workgroup size, workgroup storage bytes (as in the headers), binding -> buffer name.
const KERNELS = {
  forward: { file: 'non_local.wgsl', entry: 'forward', size: [256, 1], wgBytes: 12416, bind: ['params', 'theta', 'phi', 'g', 'y', 'lse'] },
  backwardRows: {
    file: 'non_local_backward.wgsl', entry: 'rows', size: [256, 1], wgBytes: 12416,
    bind: { 0: 'params', 1: 'theta', 2: 'phi', 3: 'g', 4: 'y', 5: 'lse', 6: 'dy', 7: 'dtheta', 10: 'delta' },
  },
  backwardCols: {
    file: 'non_local_backward.wgsl', entry: 'cols', size: [256, 1], wgBytes: 12416,
    bind: { 0: 'params', 1: 'theta', 2: 'phi', 3: 'g', 5: 'lse', 6: 'dy', 8: 'dphi', 9: 'dg', 10: 'delta' },
  },
  rowsLse: { file: 'non_local_rows.wgsl', entry: 'lse_rows', size: [256, 1], wgBytes: 3072, bind: ['params', 'theta', 'phi', 'idx', 'lse'] },
  rowsWrite: { file: 'non_local_rows.wgsl', entry: 'write_rows', size: [256, 1], wgBytes: 1024, bind: ['params', 'theta', 'phi', 'idx', 'lse', 'rows'] },
  sampler: { file: 'sampler.wgsl', entry: 'assign', size: [256, 1], wgBytes: 4096, bind: ['params', 'proposals', 'gts', 'max_iou', 'argmax', 'hist'] },
  unfusedScores: { file: 'non_local_unfused.wgsl', entry: 'scores', size: [16, 16], wgBytes: 0, bind: { 0: 'params', 1: 'theta', 2: 'phi', 4: 'a' } },
  unfusedSoftmax: { file: 'non_local_unfused.wgsl', entry: 'softmax', size: [256, 1], wgBytes: 1024, bind: { 0: 'params', 4: 'a' } },
  unfusedApply: { file: 'non_local_unfused.wgsl', entry: 'apply', size: [16, 16], wgBytes: 0, bind: { 0: 'params', 3: 'g', 4: 'a', 5: 'y' } },
};

// Kernel files compiled after a prelude (WGSL has no #include): file -> prelude, both in shaders/.
const PRELUDES = {
  'non_local.wgsl': 'non_local_tiles.wgsl',
  'non_local_backward.wgsl': 'non_local_tiles.wgsl',
};

const cdiv = (a, b) => Math.ceil(a / b);

async function fetchShader(file) {
  const res = await fetch(new URL(file, SHADERS));
  if (!res.ok) throw new Error(`fetching shaders/${file}: HTTP ${res.status}`);
  return res.text();
}

/** The WGSL source of `file` (its prelude first, if any) and where a line of it comes from: line -> 'shaders/f:l'. */
async function shaderSource(file) {
  const prelude = PRELUDES[file];
  const [head, body] = await Promise.all([prelude ? fetchShader(prelude) : '', fetchShader(file)]);
  if (head && !head.endsWith('\n')) throw new Error(`shaders/${prelude} must end with a newline to be prepended to shaders/${file}`);
  const headLines = head ? head.split('\n').length - 1 : 0;
  const where = (line) => (line > headLines ? `shaders/${file}:${line - headLines}` : `shaders/${prelude}:${line}`);
  return { code: head + body, where };
}

/** A WebGPU device, or an error saying what to install or enable. */
export async function requestDevice() {
  if (!globalThis.navigator?.gpu) {
    throw new Error('WebGPU is unavailable (navigator.gpu is missing): use a Chromium with WebGPU (Debian: apt-get install chromium), '
      + 'start it with --enable-unsafe-webgpu on Linux, and open the page from a secure context (http://127.0.0.1 or https)');
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) {
    throw new Error('WebGPU has no adapter: start Chromium with --enable-unsafe-webgpu, and have Vulkan drivers '
      + '(mesa-vulkan-drivers) or SwiftShader (shipped with Chromium) available');
  }
  return adapter.requestDevice();
}

/** f32/u32 array of `n` values with `name`, or an error. */
function shaped(name, arr, n, type = Float32Array) {
  if (!(arr instanceof type) || arr.length !== n) throw new Error(`${name} must be a ${type.name} of ${n} values, got ${arr?.constructor?.name} of ${arr?.length}`);
  return arr;
}

function dims(op, { B, N, C }) {
  for (const [k, v] of Object.entries({ B, N, C })) if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${k} must be an integer >= 1, got ${v}`);
  if (C > MAX_C) throw new Error(`${op}: C = ${C} exceeds the kernels' MAX_C = ${MAX_C} channels`);
}

/** Uniform bytes of u32 values followed by f32 values, padded to 16 bytes. */
function uniformBytes(u32s, f32s) {
  const view = new DataView(new ArrayBuffer(16 * cdiv(4 * (u32s.length + f32s.length), 16)));
  u32s.forEach((v, k) => view.setUint32(4 * k, v, true));
  f32s.forEach((v, k) => view.setFloat32(4 * (u32s.length + k), v, true));
  return view.buffer;
}

export class Kernels {
  /** Kernels on `device` (by default a new one from requestDevice). */
  static async create(device) {
    return new Kernels(device ?? await requestDevice());
  }

  constructor(device) {
    this.device = device;
    this.pipelines = new Map();
  }

  /** Throws unless `value` <= the device's `limit`, naming both. */
  need(what, limit, value) {
    const have = this.device.limits[limit];
    if (value > have) throw new Error(`${what} needs ${limit} >= ${value}, the device allows ${have}`);
  }

  async pipeline(name) {
    if (!this.pipelines.has(name)) {
      const k = KERNELS[name];
      const { code, where } = await shaderSource(k.file);
      const module = this.device.createShaderModule({ label: k.file, code });
      const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
      if (errors.length) throw new Error(`compiling shaders/${k.file}: ${errors.map((m) => `${where(m.lineNum)}:${m.linePos} ${m.message}`).join('\n')}`);
      this.pipelines.set(name, this.device.createComputePipelineAsync({ label: `${k.file}:${k.entry}`, layout: 'auto', compute: { module, entryPoint: k.entry } }));
    }
    return this.pipelines.get(name);
  }

  /**
   * Allocates `buffers` ({name: {data} (uploaded) | {bytes} (zeroed), uniform?, clear?: zeroed before
   * each dispatch}) and bind groups for `passes` ([{kernel, grid: [x, y, z]}], run in order) after
   * checking every limit. Returns {sizes (bytes per buffer), bytes (their sum), dispatch(), read(names), destroy()}.
   */
  async plan(op, buffers, passes) {
    const dev = this.device;
    for (const { kernel, grid } of passes) {
      const k = KERNELS[kernel];
      const what = `${op} (shaders/${k.file}:${k.entry})`;
      this.need(what, 'maxComputeWorkgroupStorageSize', k.wgBytes);
      this.need(what, 'maxComputeInvocationsPerWorkgroup', k.size[0] * k.size[1]);
      this.need(what, 'maxComputeWorkgroupSizeX', k.size[0]);
      this.need(what, 'maxComputeWorkgroupSizeY', k.size[1]);
      this.need(what, 'maxStorageBuffersPerShaderStage', Object.values(k.bind).filter((n) => !buffers[n].uniform).length);
      this.need(what, 'maxComputeWorkgroupsPerDimension', Math.max(...grid));
    }
    const sizes = {};
    for (const [name, b] of Object.entries(buffers)) {
      const raw = b.data ? b.data.byteLength : b.bytes;
      sizes[name] = Math.max(16, 4 * cdiv(raw, 4)); // a binding is never empty; sizes are multiples of 4
      this.need(`${op}: buffer ${name}`, b.uniform ? 'maxUniformBufferBindingSize' : 'maxStorageBufferBindingSize', sizes[name]);
      this.need(`${op}: buffer ${name}`, 'maxBufferSize', sizes[name]);
    }
    const pipelines = await Promise.all(passes.map((p) => this.pipeline(p.kernel)));
    dev.pushErrorScope('out-of-memory');
    dev.pushErrorScope('validation');
    const gpu = {};
    for (const [name, b] of Object.entries(buffers)) {
      const usage = (b.uniform ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE) | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
      gpu[name] = dev.createBuffer({ label: `${op}:${name}`, size: sizes[name], usage });
      if (b.data) dev.queue.writeBuffer(gpu[name], 0, b.data);
    }
    const groups = passes.map(({ kernel }, k) => dev.createBindGroup({
      layout: pipelines[k].getBindGroupLayout(0),
      entries: Object.entries(KERNELS[kernel].bind).map(([binding, name]) => ({ binding: Number(binding), resource: { buffer: gpu[name] } })),
    }));
    await scopes(dev, `${op}: creating buffers and bind groups`);
    const destroy = () => Object.values(gpu).forEach((b) => b.destroy());
    return {
      sizes,
      bytes: Object.values(sizes).reduce((a, b) => a + b, 0),
      destroy,
      /** Runs the passes and waits for the GPU to finish them. */
      async dispatch() {
        dev.pushErrorScope('out-of-memory');
        dev.pushErrorScope('validation');
        const enc = dev.createCommandEncoder();
        for (const [name, b] of Object.entries(buffers)) if (b.clear) enc.clearBuffer(gpu[name]);
        const pass = enc.beginComputePass();
        passes.forEach(({ grid }, k) => {
          pass.setPipeline(pipelines[k]);
          pass.setBindGroup(0, groups[k]);
          pass.dispatchWorkgroups(...grid);
        });
        pass.end();
        dev.queue.submit([enc.finish()]);
        await dev.queue.onSubmittedWorkDone();
        await scopes(dev, `${op}: dispatch`);
      },
      /** Copies of the named buffers' contents: {name: ArrayBuffer}. */
      async read(names) {
        const enc = dev.createCommandEncoder();
        const staging = names.map((n) => {
          const s = dev.createBuffer({ size: sizes[n], usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
          enc.copyBufferToBuffer(gpu[n], 0, s, 0, sizes[n]);
          return s;
        });
        dev.queue.submit([enc.finish()]);
        const out = {};
        await Promise.all(staging.map(async (s, k) => {
          await s.mapAsync(GPUMapMode.READ);
          out[names[k]] = s.getMappedRange().slice(0);
          s.destroy();
        }));
        return out;
      },
    };
  }

  /** Plans `plan(...)`, dispatches once, reads `names` and frees everything. */
  async once(planned, names) {
    const p = await planned;
    try {
      await p.dispatch();
      return await p.read(names);
    } finally {
      p.destroy();
    }
  }

  forwardPlan({ B, N, C, scale, theta, phi, g }) {
    dims('non-local forward', { B, N, C });
    const n = B * N * C;
    return this.plan('non-local forward', {
      params: { uniform: true, data: uniformBytes([B, N, C], [scale]) },
      theta: { data: shaped('theta', theta, n) }, phi: { data: shaped('phi', phi, n) }, g: { data: shaped('g', g, n) },
      y: { bytes: 4 * n }, lse: { bytes: 4 * B * N },
    }, [{ kernel: 'forward', grid: [cdiv(N, 32), B, 1] }]);
  }

  /** {y [B, N, C], lse [B, N]} as Float32Arrays. */
  async forward(args) {
    const r = await this.once(this.forwardPlan(args), ['y', 'lse']);
    const { B, N, C } = args;
    return { y: new Float32Array(r.y, 0, B * N * C), lse: new Float32Array(r.lse, 0, B * N) };
  }

  /** {dtheta, dphi, dg} [B, N, C] from the forward's inputs, y and lse, and dy. */
  async backward({ B, N, C, scale, theta, phi, g, y, lse, dy }) {
    dims('non-local backward', { B, N, C });
    const n = B * N * C;
    const grid = [cdiv(N, 32), B, 1];
    const r = await this.once(this.plan('non-local backward', {
      params: { uniform: true, data: uniformBytes([B, N, C], [scale]) },
      theta: { data: shaped('theta', theta, n) }, phi: { data: shaped('phi', phi, n) }, g: { data: shaped('g', g, n) },
      y: { data: shaped('y', y, n) }, lse: { data: shaped('lse', lse, B * N) }, dy: { data: shaped('dy', dy, n) },
      dtheta: { bytes: 4 * n }, dphi: { bytes: 4 * n }, dg: { bytes: 4 * n }, delta: { bytes: 4 * B * N },
    }, [{ kernel: 'backwardRows', grid }, { kernel: 'backwardCols', grid }]), ['dtheta', 'dphi', 'dg']);
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, new Float32Array(v, 0, n)]));
  }

  /** Attention rows of query pixels `idx` (Uint32Array [K]): Float32Array [B, K, N]. */
  async rows({ B, N, C, scale, theta, phi, idx }) {
    dims('attention rows', { B, N, C });
    const K = shaped('idx', idx, idx?.length, Uint32Array).length;
    if (K < 1) throw new Error('attention rows: idx is empty');
    const bad = idx.find((i) => i >= N);
    if (bad !== undefined) throw new Error(`attention rows: query pixel ${bad} is outside 0..${N - 1}`);
    const r = await this.once(this.plan('attention rows', {
      params: { uniform: true, data: uniformBytes([B, N, C, K], [scale]) },
      theta: { data: shaped('theta', theta, B * N * C) }, phi: { data: shaped('phi', phi, B * N * C) }, idx: { data: idx },
      lse: { bytes: 4 * B * K }, rows: { bytes: 4 * B * K * N },
    }, [{ kernel: 'rowsLse', grid: [K, B, 1] }, { kernel: 'rowsWrite', grid: [cdiv(N, 256), K, B] }]), ['rows']);
    return new Float32Array(r.rows, 0, B * K * N);
  }

  /** {maxIou Float32Array [P], argmax Int32Array [P], hist Uint32Array [K]} of proposals [P, 4] against gts [G, 4]. */
  async sampler({ proposals, gts, K, negThr }) {
    const P = proposals.length / 4;
    const G = gts.length / 4;
    shaped('proposals', proposals, 4 * P);
    shaped('gts', gts, 4 * G);
    if (!Number.isInteger(P) || P < 1 || !Number.isInteger(G)) throw new Error(`sampler: proposals [P, 4] with P >= 1 and gts [G, 4], got ${proposals.length} and ${gts.length} values`);
    if (!Number.isInteger(K) || K < 0 || !(negThr > 0)) throw new Error(`sampler: K must be an integer >= 0 and neg_thr > 0, got ${K}, ${negThr}`);
    const r = await this.once(this.plan('sampler', {
      params: { uniform: true, data: uniformBytes([P, G, K], [negThr]) },
      proposals: { data: proposals }, gts: G ? { data: gts } : { bytes: 16 },
      max_iou: { bytes: 4 * P }, argmax: { bytes: 4 * P }, hist: { bytes: 4 * K, clear: true },
    }, [{ kernel: 'sampler', grid: [cdiv(P, 256), 1, 1] }]), ['max_iou', 'argmax', 'hist']);
    return { maxIou: new Float32Array(r.max_iou, 0, P), argmax: new Int32Array(r.argmax, 0, P), hist: new Uint32Array(r.hist, 0, K) };
  }

  /** The unfused baseline (A [B, N, N] materialised); same arguments as forwardPlan; output y. */
  unfusedPlan({ B, N, C, scale, theta, phi, g }) {
    dims('unfused non-local', { B, N, C });
    const n = B * N * C;
    return this.plan('unfused non-local', {
      params: { uniform: true, data: uniformBytes([B, N, C], [scale]) },
      theta: { data: shaped('theta', theta, n) }, phi: { data: shaped('phi', phi, n) }, g: { data: shaped('g', g, n) },
      a: { bytes: 4 * B * N * N }, y: { bytes: 4 * n },
    }, [
      { kernel: 'unfusedScores', grid: [cdiv(N, 16), cdiv(N, 16), B] },
      { kernel: 'unfusedSoftmax', grid: [N, B, 1] },
      { kernel: 'unfusedApply', grid: [cdiv(C, 16), cdiv(N, 16), B] },
    ]);
  }

  async unfused(args) {
    const r = await this.once(this.unfusedPlan(args), ['y']);
    return new Float32Array(r.y, 0, args.B * args.N * args.C);
  }
}

/** Pops the validation and out-of-memory scopes pushed (in that order); throws on an error. */
async function scopes(dev, what) {
  const [validation, oom] = [await dev.popErrorScope(), await dev.popErrorScope()];
  const e = validation ?? oom;
  if (e) throw new Error(`${what}: ${e.constructor.name}: ${e.message}`);
}
