// What the page shows about the detector beside the picture: the backend (status bar and Model
// card), the model's classes with their colours, fps and stage timings; and the bundled sample
// pictures to pick from.
import { classColour } from './class-colours.js';
import { el } from './dom.js';

const STAGES = [
  ['backbone_neck_ms', 'Backbone + neck'],
  ['rpn_ms', 'RPN'],
  ['roi_head_ms', 'RoI head'],
  ['postprocess_ms', 'Post-process'],
];
const LIMIT_NAMES = {
  maxBufferSize: 'Max buffer',
  maxStorageBufferBindingSize: 'Max storage binding',
  maxComputeWorkgroupStorageSize: 'Workgroup storage',
  maxComputeInvocationsPerWorkgroup: 'Invocations per workgroup',
  maxStorageBuffersPerShaderStage: 'Storage buffers per stage',
};

/** Pairs [term, value] as <dt>/<dd> children of `dl`. */
function fillList(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([term, value]) => [el('dt', { textContent: term }), el('dd', { textContent: value })]));
}

function bytes(n) {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${Math.round(n / 2 ** 20)} MiB`;
  if (n >= 2 ** 10) return `${Math.round(n / 2 ** 10)} KiB`;
  return `${n} B`;
}

/** What runs the non-local block (the model's `info.kernels.text`). */
export const kernelsText = (kernels) => kernels?.text ?? 'unknown';

/** #backend's one line, and the adapter, its limits and the kernels in `details`. */
export function renderBackend(line, details, backend, kernels) {
  line.textContent = backend.kind === 'webgpu' ? `WebGPU — ${backend.reason}` : `CPU (WebAssembly, ${backend.runsOn}) — ${backend.reason}`;
  const a = backend.adapter;
  const nonLocal = ['Non-local block', kernelsText(kernels)];
  if (!a) return fillList(details, [['Adapter', 'none (the detector runs on the CPU)'], nonLocal]);
  const limits = Object.entries(backend.limits ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [LIMIT_NAMES[k] ?? k, k.endsWith('Size') ? bytes(v) : String(v)]);
  fillList(details, [
    ['Vendor', a.vendor || '—'],
    ['Architecture', a.architecture || '—'],
    ['Description', a.description || '—'],
    ['Fallback adapter', a.isFallbackAdapter ? 'yes (software emulation: slow)' : 'no'],
    ...limits,
    nonLocal,
  ]);
}

/** The class names with their box colours; the default model also gets a sample picture. */
export function renderLegend(list, note, info, spec) {
  list.replaceChildren(
    ...info.classes.map((name, i) => el('li', {}, el('span', { className: 'swatch', style: `background:${classColour(i)}` }), name)),
  );
  if (spec.isDefault) {
    note.replaceChildren(
      'The default model finds the shapes of the generated scenes it was trained on, like this sample:',
      el('img', { src: new URL('samples/scene_0000.png', import.meta.url).href, alt: 'A generated scene: shapes on a textured background', className: 'legend-sample' }),
    );
  } else {
    note.textContent = `The ${info.classes.length} classes of ${spec.name} (${info.input_size} px input, ${(info.parameters / 1e6).toFixed(1)} M parameters):`;
  }
}

/** A button with a thumbnail per bundled sample (from annotations.json); `onPick(file)` on click. */
export async function renderSamples(container, onPick) {
  try {
    const res = await fetch(new URL('samples/annotations.json', import.meta.url));
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const coco = await res.json();
    container.replaceChildren(
      ...coco.images.map((image) => {
        const objects = coco.annotations.filter((a) => a.image_id === image.id).length;
        const button = el(
          'button',
          { type: 'button', className: 'sample', title: `${image.file_name}: ${objects} objects` },
          el('img', { src: new URL(`samples/${image.file_name}`, import.meta.url).href, alt: '', width: 88, height: Math.round((88 * image.height) / image.width) }),
          el('span', { textContent: image.file_name.replace(/\.\w+$/, '').replace('_', ' ') }),
        );
        button.dataset.file = image.file_name;
        button.addEventListener('click', () => onPick(image.file_name));
        return button;
      }),
    );
  } catch (e) {
    container.textContent = `No samples available (${e.message}).`;
  }
}

/** Results per second from the times of a live source's last results; 'still' for a picture, null when idle. */
export function renderFps(target, times) {
  if (times === 'still') target.textContent = '— (single picture)';
  else if (!times) target.textContent = '—';
  else if (times.length < 2) target.textContent = 'measuring…';
  else target.textContent = `${(((times.length - 1) * 1000) / (times.at(-1) - times[0])).toFixed(1)} fps`;
}

/** The per-stage milliseconds of one result. */
export function renderTimings(dl, result) {
  const ms = (v) => `${v.toFixed(1)} ms`;
  fillList(dl, [...STAGES.map(([key, name]) => [name, ms(result.timings[key])]), ['Total', ms(result.total_ms)]]);
}
