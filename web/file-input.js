// Inputs by file: a bundled sample, a file from #image-input or one dropped anywhere on the page,
// each sent where it belongs: a picture to the detection loop (./detection-loop.js), a video to
// ./video-input.js, a model to ./model-choice.js.
import { decodeImage } from './sources.js';

export class FileInput {
  #loop;
  #video;
  #models;
  #say;

  /**
   * ui: {input, dropZone}: #image-input and #drop-zone; `loop`: the DetectionLoop, `video`: the
   * VideoInput, `models`: the ModelChoice; `say(text)` puts a message in #message.
   */
  constructor({ input, dropZone }, { loop, video, models, say }) {
    this.#loop = loop;
    this.#video = video;
    this.#models = models;
    this.#say = say;
    input.addEventListener('change', () => {
      this.open(input.files[0]);
      input.value = ''; // choosing the same file again still fires 'change'
    });
    // Drops anywhere open the file, or load it when it is a model (and keep the browser from
    // navigating away to it).
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
      this.open(e.dataTransfer?.files[0]);
    });
  }

  /** Detects in the bundled sample `file` (web/samples/). */
  async openSample(file) {
    try {
      const res = await fetch(new URL(`samples/${encodeURIComponent(file)}`, import.meta.url));
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const bitmap = await decodeImage(await res.blob());
      if (!bitmap) throw new Error('not an image');
      await this.#loop.showStill(bitmap, `sample:${file}`);
    } catch (e) {
      this.#say(`The sample ${file} could not be loaded: ${e.message}`);
    }
  }

  /** Opens `file` (a File, or nothing): a video plays, a model loads, a picture is detected. */
  async open(file) {
    if (!file) return;
    if (file.type.startsWith('video/')) return this.#video.open(file);
    if (/\.(lrc|safetensors)$/i.test(file.name)) return this.#models.loadFile(file);
    const bitmap = await decodeImage(file);
    if (!bitmap) return this.#say(`"${file.name}" is not a picture this browser can read. Choose an image (PNG, JPEG, WebP, …) or a video file.`);
    await this.#loop.showStill(bitmap, `file:${file.name}`);
  }
}
