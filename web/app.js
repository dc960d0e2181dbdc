// The detector's part of the page (index.html loads it): the running detector
// (./detector-engine.js; it runs in web/worker.js, so the page stays responsive), detection on
// #view (./detection-loop.js), the inputs (./file-input.js, ./video-input.js, ./camera-input.js)
// and the model controls (./model-choice.js), made and connected; body[data-state] and window.libraApp.
import { CameraInput } from './camera-input.js';
import { DetectionLoop } from './detection-loop.js';
import { DetectorEngine } from './detector-engine.js';
import { FileInput } from './file-input.js';
import { ModelChoice } from './model-choice.js';
import { renderBackend, renderLegend, renderSamples } from './readouts.js';
import { VideoInput } from './video-input.js';
import { installViewRequests } from './view-requests.js';

// Generous limits: the CI's WebGPU is SwiftShader, a slow CPU emulation of a GPU. A worker that
// does not answer in time is treated as dead: it is stopped and a fresh one starts on the CPU.
const INIT_TIMEOUT_MS = 180_000; // load the wasm and the model; also the warm-up (compiles the shaders)
const DETECT_TIMEOUT_MS = 180_000; // one detection (SwiftShader, a CPU emulation of WebGPU, needs ~40 s at 320 px)

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const app = { backend: null, lastResult: null, modelInfo: null };
window.libraApp = app;

function setState(detail) {
  const s = engine.fatal ? 'error' : engine.loading > 0 ? 'loading' : loop.busy ? 'busy' : 'ready';
  document.body.dataset.state = s;
  const text = { loading: 'loading', ready: 'ready', busy: 'detecting…', error: 'cannot run' }[s];
  $('state-text').textContent = s === 'loading' && detail ? `${text}: ${detail}` : text;
}

function say(text) {
  $('message').textContent = text;
}

const engine = new DetectorEngine(
  {
    say,
    changed: setState,
    activated({ backend, info, model }) {
      app.backend = backend;
      app.modelInfo = info;
      renderBackend($('backend'), $('backend-details'), backend, info.kernels);
      $('model-name').textContent = model.label;
      renderLegend($('legend'), $('legend-note'), info, model);
      window.dispatchEvent(new Event('libra:detector'));
    },
    failed(text) {
      say(text);
      loop.stopLive();
      setState();
    },
  },
  { forceCpu: params.get('backend') === 'cpu', initTimeoutMs: INIT_TIMEOUT_MS, warmupTimeoutMs: INIT_TIMEOUT_MS },
);

const loop = new DetectionLoop(
  { engine, app, timeoutMs: DETECT_TIMEOUT_MS },
  { view: $('view'), viewHint: $('view-hint'), score: $('score'), scoreValue: $('score-value'), fps: $('fps'), timings: $('timings') },
  {
    say,
    changed: setState,
    stopSources() {
      camera.stop();
      video.stop();
    },
  },
);
const models = new ModelChoice(engine, { input: $('model-input'), reset: $('model-reset') });
const video = new VideoInput($('video-stop'), loop, say);
const camera = new CameraInput({ start: $('webcam-start'), stop: $('webcam-stop'), select: $('camera-select') }, loop, say);
const files = new FileInput({ input: $('image-input'), dropZone: $('drop-zone') }, { loop, video, models, say });

// The teaching views (web/teach/) ask the model about a photo through these (./view-requests.js).
installViewRequests(app, { engine, timeoutMs: DETECT_TIMEOUT_MS });
/** The training run the views follow (set by the training card, web/train/wiring.js). */
app.trainer = null;
/** The running detector's model {bytes, name, info, backend: 'webgpu' | 'cpu'}, or null while none runs. */
app.detectorModel = () =>
  engine.client && engine.model && app.modelInfo ? { bytes: engine.model.bytes, name: engine.model.label, info: app.modelInfo, backend: app.backend.kind } : null;
/** Makes `bytes` (a model trained in this page) the live detector, cached for the next visit. */
app.useModel = (bytes, name) => models.loadBytes(bytes, name);
/** Balanced L1 and smooth L1 losses and gradients at `points` x in [0, xMax], by the trainer's formulas. */
app.lossCurves = async ({ alpha, gamma, beta, xMax, points }) =>
  (await engine.ready()).request({ type: 'lossCurves', alpha, gamma, beta, xMax, points }, DETECT_TIMEOUT_MS);

window.addEventListener('pagehide', () => loop.stopLive()); // releases the camera when the tab closes
navigator.mediaDevices?.addEventListener?.('devicechange', () => camera.refresh());

loop.redraw();
renderSamples($('samples'), (file) => files.openSample(file));
camera.refresh();
engine.boot(params.get('model'));
