// The page: inputs, drawing and read-outs. The detector runs in web/worker.js (web/worker-client.js
// talks to it, web/detector-engine.js keeps one running), so the page stays responsive while it works.
import { Engine } from './detector-engine.js';
import { drawView } from './detections-view.js';
import { cameraErrorText, decodeImage, drawFrame, hiddenVideo, listCameras, loadVideo, openCamera, readPixels } from './sources.js';
import { installViewRequests } from './view-requests.js';
import { redrawOnResize } from './canvas-size.js';
import { renderBackend, renderFps, renderLegend, renderSamples, renderTimings } from './readouts.js';
import { WorkerDied, WorkerReplaced } from './worker-client.js';

// Generous limits: the CI's WebGPU is SwiftShader, a slow CPU emulation of a GPU. A worker that
// does not answer in time is treated as dead: it is stopped and a fresh one starts on the CPU.
const INIT_TIMEOUT_MS = 180_000; // load the wasm and the model; also the warm-up (compiles the shaders)
const DETECT_TIMEOUT_MS = 180_000; // one detection (SwiftShader, a CPU emulation of WebGPU, needs ~40 s at 320 px)
const FPS_WINDOW = 10; // results the fps is averaged over

const $ = (id) => document.getElementById(id);
const ui = {
  backend: $('backend'),
  modelName: $('model-name'),
  stateText: $('state-text'),
  message: $('message'),
  view: $('view'),
  viewHint: $('view-hint'),
  imageInput: $('image-input'),
  videoStop: $('video-stop'),
  webcamStart: $('webcam-start'),
  webcamStop: $('webcam-stop'),
  cameraSelect: $('camera-select'),
  modelInput: $('model-input'),
  modelReset: $('model-reset'),
  score: $('score'),
  scoreValue: $('score-value'),
};

const params = new URLSearchParams(location.search);
const app = { backend: null, lastResult: null, modelInfo: null };
window.libraApp = app;

const st = {
  busy: false, // a detection is in flight
  token: 0, // bumped whenever the input changes: older work sees it is stale
  front: null, // the frame on #view
  resultFrame: null, // the frame app.lastResult belongs to
  seq: 0,
  fpsTimes: [],
  stream: null, // webcam MediaStream
  camVideo: null,
  video: null, // {video, url} of a playing video file
  canvases: [document.createElement('canvas'), document.createElement('canvas')], // frames, alternately
};

// --- state and messages ----------------------------------------------------------------------

function setState(detail) {
  const s = engine.fatal ? 'error' : engine.loading > 0 ? 'loading' : st.busy ? 'busy' : 'ready';
  document.body.dataset.state = s;
  const text = { loading: 'loading', ready: 'ready', busy: 'detecting…', error: 'cannot run' }[s];
  ui.stateText.textContent = s === 'loading' && detail ? `${text}: ${detail}` : text;
}

function say(text) {
  ui.message.textContent = text;
}

const engine = new Engine(
  {
    say,
    changed: setState,
    activated({ backend, info, model }) {
      app.backend = backend;
      app.modelInfo = info;
      renderBackend(ui.backend, $('backend-details'), backend, info.kernels);
      ui.modelName.textContent = model.label;
      renderLegend($('legend'), $('legend-note'), info, model);
      window.dispatchEvent(new Event('libra:detector'));
    },
    failed(text) {
      say(text);
      stopLive();
      setState();
    },
  },
  { forceCpu: params.get('backend') === 'cpu', initTimeoutMs: INIT_TIMEOUT_MS, warmupTimeoutMs: INIT_TIMEOUT_MS },
);

/** Loads a model file or the default one; the model controls wait meanwhile. */
async function changeModel(load) {
  ui.modelInput.disabled = ui.modelReset.disabled = true;
  try {
    await load();
  } finally {
    ui.modelInput.disabled = ui.modelReset.disabled = false;
  }
}

// The teaching views (web/teach/) ask the model about a photo through these (./view-requests.js).
installViewRequests(app, { engine, timeoutMs: DETECT_TIMEOUT_MS });
/** The training run the views follow (set by the training card, web/train/wiring.js). */
app.trainer = null;
/** The running detector's model {bytes, name, info, backend: 'webgpu' | 'cpu'}, or null while none runs. */
app.detectorModel = () =>
  engine.client && engine.model && app.modelInfo ? { bytes: engine.model.bytes, name: engine.model.label, info: app.modelInfo, backend: app.backend.kind } : null;
/** Makes `bytes` (a model trained in this page) the live detector, cached for the next visit. */
app.useModel = (bytes, name) => changeModel(() => engine.loadBytes(bytes, name));
/** Balanced L1 and smooth L1 losses and gradients at `points` x in [0, xMax], by the trainer's formulas. */
app.lossCurves = async ({ alpha, gamma, beta, xMax, points }) =>
  (await engine.ready()).request({ type: 'lossCurves', alpha, gamma, beta, xMax, points }, DETECT_TIMEOUT_MS);

// --- detection -------------------------------------------------------------------------------

let queue = Promise.resolve();
/** Runs detection jobs one at a time, in order. */
function exclusive(job) {
  const run = queue.then(job);
  queue = run.catch(() => {});
  return run;
}

/** Detects in `frame`; null if the input changed meanwhile. Retries once on a restarted detector. */
function detectFrame(frame, token) {
  return exclusive(async () => {
    for (let attempt = 0; ; attempt++) {
      if (token !== st.token) return null;
      const client = await engine.ready();
      if (token !== st.token) return null;
      const { pixels, sx, sy } = readPixels(frame, app.modelInfo.input_size);
      st.busy = true;
      setState();
      try {
        const msg = { type: 'detect', rgba: pixels.data.buffer, width: pixels.width, height: pixels.height };
        return { ...(await client.request(msg, DETECT_TIMEOUT_MS, [pixels.data.buffer])), sent: { width: pixels.width, height: pixels.height, sx, sy } };
      } catch (e) {
        if (attempt > 0 || !(e instanceof WorkerDied || e instanceof WorkerReplaced)) throw e;
      } finally {
        st.busy = false;
        setState();
      }
    }
  });
}

function showResult(frame, source, raw) {
  engine.succeeded();
  // The detector saw the frame at most at its input size (raw.sent); its boxes, in those pixels,
  // go back to the picture's.
  const { sx, sy } = raw.sent;
  const detections = sx === 1 && sy === 1 ? raw.detections : raw.detections.map((d) => ({ ...d, bbox: [d.bbox[0] / sx, d.bbox[1] / sy, d.bbox[2] / sx, d.bbox[3] / sy] }));
  app.lastResult = { source, width: frame.width, height: frame.height, detections, raw: raw.detections, sent: raw.sent, memory_bytes: raw.memory_bytes, shown: [], timings: raw.timings, total_ms: raw.total_ms, seq: ++st.seq };
  st.front = st.resultFrame = frame;
  redraw();
  renderTimings($('timings'), raw);
}

/** Draws the front frame, with the last result's boxes at or above the slider if they belong to it. */
function redraw() {
  const threshold = Number(ui.score.value);
  ui.scoreValue.textContent = threshold.toFixed(2);
  const result = app.lastResult;
  if (result) result.shown = result.detections.filter((d) => d.score >= threshold);
  if (!st.front) return;
  ui.viewHint.hidden = true;
  drawView(ui.view, st.front, st.front === st.resultFrame ? result.shown : []);
}

function reportError(e) {
  if (!engine.fatal) say(`Detection failed: ${e.message}`);
}

/** The canvas not on display, for the next frame. */
function backCanvas() {
  return st.front?.canvas === st.canvases[0] ? st.canvases[1] : st.canvases[0];
}

/** A new input replaces the old one: stops live sources and makes pending work stale. */
function newInput() {
  stopLive();
  if (!engine.fatal) say('');
  st.fpsTimes = [];
  return st.token;
}

function stopLive() {
  st.token++;
  stopCamera();
  stopVideoFile();
}

async function showStill(bitmap, source) {
  const token = newInput();
  st.front = drawFrame(backCanvas(), bitmap, bitmap.width, bitmap.height);
  bitmap.close();
  const frame = st.front;
  redraw();
  renderFps($('fps'), 'still');
  try {
    const raw = await detectFrame(frame, token);
    if (raw && token === st.token) showResult(frame, source, raw);
  } catch (e) {
    if (token === st.token) reportError(e);
  }
}

/** Detects frame after frame of a playing <video>, one detection in flight, until the input changes. */
async function runLive(video, source, token) {
  renderFps($('fps'), []);
  while (token === st.token) {
    if (video.readyState < 2 || !video.videoWidth) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const frame = drawFrame(backCanvas(), video, video.videoWidth, video.videoHeight);
    if (!st.fpsTimes.length) {
      st.front = frame; // show the first frame at once, boxes follow
      redraw();
    }
    let raw;
    try {
      raw = await detectFrame(frame, token);
    } catch (e) {
      if (token === st.token) {
        reportError(e);
        stopLive();
      }
      return;
    }
    if (!raw || token !== st.token) return;
    showResult(frame, source, raw);
    st.fpsTimes = [...st.fpsTimes, performance.now()].slice(-FPS_WINDOW);
    renderFps($('fps'), st.fpsTimes);
    await new Promise((r) => setTimeout(r, 0));
  }
}

// --- inputs ----------------------------------------------------------------------------------

async function openSample(file) {
  try {
    const res = await fetch(new URL(`samples/${encodeURIComponent(file)}`, import.meta.url));
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const bitmap = await decodeImage(await res.blob());
    if (!bitmap) throw new Error('not an image');
    await showStill(bitmap, `sample:${file}`);
  } catch (e) {
    say(`The sample ${file} could not be loaded: ${e.message}`);
  }
}

async function openFile(file) {
  if (!file) return;
  if (file.type.startsWith('video/')) return openVideoFile(file);
  if (/\.(lrc|safetensors)$/i.test(file.name)) return changeModel(() => engine.loadFile(file));
  const bitmap = await decodeImage(file);
  if (!bitmap) return say(`"${file.name}" is not a picture this browser can read. Choose an image (PNG, JPEG, WebP, …) or a video file.`);
  await showStill(bitmap, `file:${file.name}`);
}

async function openVideoFile(file) {
  const url = URL.createObjectURL(file);
  const video = hiddenVideo();
  video.loop = true;
  try {
    await loadVideo(video, url); // before anything else changes
  } catch (e) {
    video.remove();
    URL.revokeObjectURL(url);
    return say(`The video "${file.name}" cannot be played here: ${e.message}`);
  }
  const token = newInput();
  st.video = { video, url };
  ui.videoStop.disabled = false;
  try {
    await video.play();
  } catch (e) {
    stopVideoFile();
    return say(`The video "${file.name}" cannot be played here: ${e.message}`);
  }
  runLive(video, 'video', token);
}

function stopVideoFile() {
  if (!st.video) return;
  const { video, url } = st.video;
  st.video = null;
  video.pause();
  video.remove();
  URL.revokeObjectURL(url);
  ui.videoStop.disabled = true;
}

async function startWebcam() {
  ui.webcamStart.disabled = true;
  let stream;
  try {
    stream = await openCamera(ui.cameraSelect.value);
  } catch (e) {
    ui.webcamStart.disabled = Boolean(st.stream); // a camera already running keeps running
    return say(cameraErrorText(e));
  }
  const token = newInput();
  st.stream = stream;
  ui.webcamStart.disabled = true;
  ui.webcamStop.disabled = false;
  const track = stream.getVideoTracks()[0];
  track?.addEventListener('ended', () => {
    if (st.stream !== stream) return;
    stopLive();
    say('The camera stopped (it was disconnected or switched off).');
  });
  st.camVideo ??= hiddenVideo();
  st.camVideo.srcObject = stream;
  try {
    await st.camVideo.play();
  } catch (e) {
    if (st.stream === stream) stopLive();
    return say(`The camera picture could not be shown: ${e.message}`);
  }
  await refreshCameras();
  runLive(st.camVideo, 'webcam', token);
}

function stopCamera() {
  if (!st.stream) return;
  for (const t of st.stream.getTracks()) t.stop();
  st.stream = null;
  st.camVideo.srcObject = null;
  ui.webcamStart.disabled = false;
  ui.webcamStop.disabled = true;
}

/** Fills #camera-select, keeping the camera in use (or the one chosen) selected. */
async function refreshCameras() {
  const cameras = await listCameras();
  const current = st.stream?.getVideoTracks()[0]?.getSettings().deviceId ?? ui.cameraSelect.value;
  const options = cameras.map((c, i) => new Option(c.label || `Camera ${i + 1}`, c.deviceId, false, c.deviceId === current));
  ui.cameraSelect.replaceChildren(...(options.length ? options : [new Option('No camera found', '')]));
}

// --- wiring ----------------------------------------------------------------------------------

ui.score.addEventListener('input', redraw);
ui.score.addEventListener('change', redraw);
ui.imageInput.addEventListener('change', () => {
  openFile(ui.imageInput.files[0]);
  ui.imageInput.value = ''; // choosing the same file again still fires 'change'
});
ui.videoStop.addEventListener('click', () => {
  stopLive();
  renderFps($('fps'), null);
});
ui.webcamStart.addEventListener('click', startWebcam);
ui.webcamStop.addEventListener('click', () => {
  stopLive();
  renderFps($('fps'), null);
});
ui.cameraSelect.addEventListener('change', () => {
  if (st.stream) startWebcam();
});
ui.modelInput.addEventListener('change', () => {
  const file = ui.modelInput.files[0];
  ui.modelInput.value = '';
  if (file) changeModel(() => engine.loadFile(file));
});
ui.modelReset.addEventListener('click', () => changeModel(() => engine.reset()));

// Drops anywhere open the file, or load it when it is a model (and keep the browser from
// navigating away to it).
const dropZone = $('drop-zone');
window.addEventListener('dragover', (e) => {
  e.preventDefault();
  dropZone.classList.add('dragging');
});
window.addEventListener('dragleave', (e) => {
  if (!e.relatedTarget) dropZone.classList.remove('dragging');
});
window.addEventListener('drop', (e) => {
  e.preventDefault();
  dropZone.classList.remove('dragging');
  openFile(e.dataTransfer?.files[0]);
});

redrawOnResize(redraw);
window.addEventListener('pagehide', stopLive); // releases the camera when the tab closes
navigator.mediaDevices?.addEventListener?.('devicechange', refreshCameras);

redraw();
renderSamples($('samples'), openSample);
refreshCameras();
engine.boot(params.get('model'));
