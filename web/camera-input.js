// The webcam as the input: the camera chosen in #camera-select (the list kept up to date), started
// by #webcam-start and stopped by #webcam-stop, its frames detected live (./detection-loop.js).
import { cameraErrorText, hiddenVideo, listCameras, openCamera } from './sources.js';

export class CameraInput {
  #stream = null; // the camera's MediaStream while it runs
  #video = null; // the hidden <video> playing it
  #ui;
  #loop;
  #say;

  /** ui: {start, stop, select}: #webcam-start, #webcam-stop, #camera-select; `loop`: the DetectionLoop; `say(text)` for #message. */
  constructor(ui, loop, say) {
    this.#ui = ui;
    this.#loop = loop;
    this.#say = say;
    ui.start.addEventListener('click', () => this.start());
    ui.stop.addEventListener('click', () => loop.stopByUser());
    ui.select.addEventListener('change', () => {
      if (this.#stream) this.start();
    });
  }

  /** Opens the chosen camera and detects in its frames; a camera already running keeps running if it fails. */
  async start() {
    const ui = this.#ui;
    ui.start.disabled = true;
    let stream;
    try {
      stream = await openCamera(ui.select.value);
    } catch (e) {
      ui.start.disabled = Boolean(this.#stream); // a camera already running keeps running
      return this.#say(cameraErrorText(e));
    }
    const token = this.#loop.newInput();
    this.#stream = stream;
    ui.start.disabled = true;
    ui.stop.disabled = false;
    const track = stream.getVideoTracks()[0];
    track?.addEventListener('ended', () => {
      if (this.#stream !== stream) return;
      this.#loop.stopLive();
      this.#say('The camera stopped (it was disconnected or switched off).');
    });
    this.#video ??= hiddenVideo();
    this.#video.srcObject = stream;
    try {
      await this.#video.play();
    } catch (e) {
      if (this.#stream === stream) this.#loop.stopLive();
      return this.#say(`The camera picture could not be shown: ${e.message}`);
    }
    await this.refresh();
    this.#loop.runLive(this.#video, 'webcam', token);
  }

  /** Releases the camera, if it runs (the loop's stopLive calls it). */
  stop() {
    if (!this.#stream) return;
    for (const t of this.#stream.getTracks()) t.stop();
    this.#stream = null;
    this.#video.srcObject = null;
    this.#ui.start.disabled = false;
    this.#ui.stop.disabled = true;
  }

  /** Fills #camera-select, keeping the camera in use (or the one chosen) selected. */
  async refresh() {
    const cameras = await listCameras();
    const current = this.#stream?.getVideoTracks()[0]?.getSettings().deviceId ?? this.#ui.select.value;
    const options = cameras.map((c, i) => new Option(c.label || `Camera ${i + 1}`, c.deviceId, false, c.deviceId === current));
    this.#ui.select.replaceChildren(...(options.length ? options : [new Option('No camera found', '')]));
  }
}
