// Detection on #view: a still picture once, a live source (a playing <video>: a video file or the
// camera) frame after frame, one detection at a time; a new input makes older work stale. Draws
// the front frame with the boxes at or above the score slider, and the live rate and timings.
import { redrawOnResize } from './canvas-size.js';
import { drawView } from './detections-view.js';
import { renderFps, renderTimings } from './readouts.js';
import { drawFrame, readPixels } from './sources.js';
import { WorkerDied, WorkerReplaced } from './worker-client.js';

const FPS_WINDOW = 10; // results the fps is averaged over

export class DetectionLoop {
  busy = false; // a detection is in flight

  #token = 0; // bumped whenever the input changes: older work sees it is stale
  #front = null; // the frame on #view
  #resultFrame = null; // the frame app.lastResult belongs to
  #seq = 0;
  #fpsTimes = [];
  #canvases = [document.createElement('canvas'), document.createElement('canvas')]; // frames, alternately
  #queue = Promise.resolve();
  #engine;
  #app;
  #ui;
  #hooks;
  #timeoutMs;

  /**
   * engine: the DetectorEngine; app: window.libraApp (its modelInfo is read, lastResult set);
   * timeoutMs bounds one detection. ui: {view, viewHint, score, scoreValue, fps, timings}.
   * hooks: say(text) for #message, changed() when `busy` changes, stopSources() stops the live sources.
   */
  constructor({ engine, app, timeoutMs }, ui, hooks) {
    this.#engine = engine;
    this.#app = app;
    this.#timeoutMs = timeoutMs;
    this.#ui = ui;
    this.#hooks = hooks;
    ui.score.addEventListener('input', () => this.redraw());
    ui.score.addEventListener('change', () => this.redraw());
    redrawOnResize(() => this.redraw());
  }

  /** A new input replaces the old one: stops live sources and makes pending work stale. Returns its token. */
  newInput() {
    this.stopLive();
    if (!this.#engine.fatal) this.#hooks.say('');
    this.#fpsTimes = [];
    return this.#token;
  }

  stopLive() {
    this.#token++;
    this.#hooks.stopSources();
  }

  /** A stop button: the live source stops and the live rate shows none. */
  stopByUser() {
    this.stopLive();
    renderFps(this.#ui.fps, null);
  }

  /** Draws the front frame, with the last result's boxes at or above the slider if they belong to it. */
  redraw() {
    const threshold = Number(this.#ui.score.value);
    this.#ui.scoreValue.textContent = threshold.toFixed(2);
    const result = this.#app.lastResult;
    if (result) result.shown = result.detections.filter((d) => d.score >= threshold);
    if (!this.#front) return;
    this.#ui.viewHint.hidden = true;
    drawView(this.#ui.view, this.#front, this.#front === this.#resultFrame ? result.shown : []);
  }

  /** Shows `bitmap` (closed here) and detects in it; `source` names it in app.lastResult. */
  async showStill(bitmap, source) {
    const token = this.newInput();
    this.#front = drawFrame(this.#backCanvas(), bitmap, bitmap.width, bitmap.height);
    bitmap.close();
    const frame = this.#front;
    this.redraw();
    renderFps(this.#ui.fps, 'still');
    try {
      const raw = await this.#detectFrame(frame, token);
      if (raw && token === this.#token) this.#showResult(frame, source, raw);
    } catch (e) {
      if (token === this.#token) this.#reportError(e);
    }
  }

  /** Detects frame after frame of a playing <video>, one detection in flight, until the input changes (`token`). */
  async runLive(video, source, token) {
    renderFps(this.#ui.fps, []);
    while (token === this.#token) {
      if (video.readyState < 2 || !video.videoWidth) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const frame = drawFrame(this.#backCanvas(), video, video.videoWidth, video.videoHeight);
      if (!this.#fpsTimes.length) {
        this.#front = frame; // show the first frame at once, boxes follow
        this.redraw();
      }
      let raw;
      try {
        raw = await this.#detectFrame(frame, token);
      } catch (e) {
        if (token === this.#token) {
          this.#reportError(e);
          this.stopLive();
        }
        return;
      }
      if (!raw || token !== this.#token) return;
      this.#showResult(frame, source, raw);
      this.#fpsTimes = [...this.#fpsTimes, performance.now()].slice(-FPS_WINDOW);
      renderFps(this.#ui.fps, this.#fpsTimes);
      await new Promise((r) => setTimeout(r, 0));
    }
  }

  /** Runs detection jobs one at a time, in order. */
  #exclusive(job) {
    const run = this.#queue.then(job);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Detects in `frame`; null if the input changed meanwhile. Retries once on a restarted detector. */
  #detectFrame(frame, token) {
    return this.#exclusive(async () => {
      for (let attempt = 0; ; attempt++) {
        if (token !== this.#token) return null;
        const client = await this.#engine.ready();
        if (token !== this.#token) return null;
        const { pixels, sx, sy } = readPixels(frame, this.#app.modelInfo.input_size);
        this.busy = true;
        this.#hooks.changed();
        try {
          const msg = { type: 'detect', rgba: pixels.data.buffer, width: pixels.width, height: pixels.height };
          return { ...(await client.request(msg, this.#timeoutMs, [pixels.data.buffer])), sent: { width: pixels.width, height: pixels.height, sx, sy } };
        } catch (e) {
          if (attempt > 0 || !(e instanceof WorkerDied || e instanceof WorkerReplaced)) throw e;
        } finally {
          this.busy = false;
          this.#hooks.changed();
        }
      }
    });
  }

  #showResult(frame, source, raw) {
    this.#engine.succeeded();
    // The detector saw the frame at most at its input size (raw.sent); its boxes, in those pixels,
    // go back to the picture's.
    const { sx, sy } = raw.sent;
    const detections = sx === 1 && sy === 1 ? raw.detections : raw.detections.map((d) => ({ ...d, bbox: [d.bbox[0] / sx, d.bbox[1] / sy, d.bbox[2] / sx, d.bbox[3] / sy] }));
    this.#app.lastResult = {
      source, width: frame.width, height: frame.height, detections, raw: raw.detections, sent: raw.sent,
      memory_bytes: raw.memory_bytes, shown: [], timings: raw.timings, total_ms: raw.total_ms, seq: ++this.#seq,
    };
    this.#front = this.#resultFrame = frame;
    this.redraw();
    renderTimings(this.#ui.timings, raw);
  }

  #reportError(e) {
    if (!this.#engine.fatal) this.#hooks.say(`Detection failed: ${e.message}`);
  }

  /** The canvas not on display, for the next frame. */
  #backCanvas() {
    return this.#front?.canvas === this.#canvases[0] ? this.#canvases[1] : this.#canvases[0];
  }
}
