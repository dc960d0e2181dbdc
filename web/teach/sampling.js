// The dataset section's "What the sampler picks" card (#sampling, paper Fig. 3): for the current
// photo and its boxes, the detector's RPN proposals and which of them the random and the
// IoU-balanced sampler would train the second stage on (window.libraApp.samplingView, run in
// the detector worker), drawn over the photo, with the IoU histograms and hard-negative shares.
import { fitSize, sizeCanvas } from '../canvas-size.js';
import { decodeImage } from '../sources.js';
import { plural } from '../words.js';
import { drawHistograms } from './sampling-chart.js';
import { histogramSeries, layers, legend } from './sampling-layers.js';

const MAX_SEED = 2 ** 32 - 1;
const MAX_ZOOM = 4;
const LINE_PX = { candidate: 1, neg: 1.5, pos: 2, gt: 3 };

const percent = (v) => `${Math.round(v * 100)}%`;

/**
 * The card. `host.photo()` -> {image, blob} of the current photo (image: model.js's photo with
 * its boxes) or null; `host.say(text)` puts a message in #message. `refresh()` after every
 * change of the dataset; `state` is what tests read (window.libraDataset.samplingView).
 */
export class SamplingView {
  constructor(card, host) {
    const $ = (id) => card.querySelector(`#${id}`);
    this.card = card;
    this.host = host;
    this.ui = { show: $('sampling-show'), seed: $('sampling-seed'), all: $('sampling-all'), status: $('sampling-status'), canvas: $('sampling-canvas'), legend: $('sampling-legend'), chart: $('sampling-chart'), hard: $('sampling-hard') };
    this.result = null; // {imageId, name, boxes, seed, view, bitmap}
    this.drawn = null; // {sampler, pos, neg}: what the canvas shows
    this.running = false;
    this.ui.show.addEventListener('click', () => this.show());
    // Enter in the seed field shows the view too (and says why not, when it cannot).
    this.ui.seed.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      this.show();
    });
    for (const radio of card.querySelectorAll('input[name="sampling-sampler"]')) radio.addEventListener('change', () => this.draw());
    this.ui.all.addEventListener('change', () => this.draw());
    // The card's fields keep their keys: the dataset's shortcuts (arrows, N, P, 1-9) are for the editor.
    card.addEventListener('keydown', (e) => {
      if (e.target instanceof HTMLInputElement) e.stopPropagation();
    });
    window.addEventListener('resize', () => this.result && this.draw());
    this.setState('idle');
  }

  get sampler() {
    return this.card.querySelector('input[name="sampling-sampler"]:checked')?.value ?? 'balanced';
  }

  /** The last result and what is drawn of it: {imageId, boxes, seed, sampler, showAll, view, drawn}; view null before the first. */
  get state() {
    const r = this.result;
    return { state: this.card.dataset.samplingState, imageId: r?.imageId ?? null, boxes: r?.boxes ?? null, seed: r?.seed ?? null, sampler: this.sampler, showAll: this.ui.all.checked, view: r?.view ?? null, drawn: this.drawn };
  }

  setState(s) {
    this.card.dataset.samplingState = s;
  }

  /** Why the view cannot be shown for the current photo, or null. */
  reason() {
    const photo = this.host.photo();
    if (!photo) return 'Add a photo to the dataset first, then draw a box around each object on it.';
    if (!photo.image.boxes.length) return `Draw at least one box on ${photo.image.name} first: the samplers need its objects.`;
    return null;
  }

  /** Enables the button for a photo with boxes and says what is shown (called on every dataset change). */
  refresh() {
    if (this.running) return;
    const why = this.reason();
    this.ui.show.disabled = why !== null;
    this.ui.show.title = why ?? '';
    this.ui.status.textContent = why && this.result ? `${why} Shown below: ${this.result.name}, seed ${this.result.seed}.` : (why ?? this.shownText());
  }

  /** What the view shows, and whether the photo changed since. */
  shownText() {
    const r = this.result;
    if (!r) return 'Press "Show for this photo" to run the detector\'s RPN on it and sample its proposals.';
    const image = this.host.photo()?.image;
    const same = image?.id === r.imageId && JSON.stringify(image.boxes.map((b) => b.bbox)) === JSON.stringify(r.boxes);
    const name = this.sampler === 'random' ? 'random' : 'IoU-balanced';
    const text = `${r.name}, seed ${r.seed}: ${plural(r.view.candidates.length, 'candidate')}; the ${name} sampler picks ${plural(this.drawn.pos.length, 'positive')} and ${plural(this.drawn.neg.length, 'negative')}.`;
    return same ? text : `${text} (Computed before the photo or its boxes changed: show it again to update.)`;
  }

  /** Reads the seed field: an integer 0..2^32-1, or null (with a message). */
  seed() {
    const text = this.ui.seed.value.trim();
    const seed = Number(text);
    if (text === '' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      this.host.say(`The seed must be a whole number from 0 to ${MAX_SEED}, not "${text}".`);
      return null;
    }
    return seed;
  }

  /** Runs the samplers on the current photo and its boxes, then draws the result. */
  async show() {
    if (this.running) return;
    const why = this.reason();
    if (why) return this.host.say(why);
    const seed = this.seed();
    if (seed === null) return;
    const { image, blob } = this.host.photo();
    const boxes = image.boxes.map((b) => [...b.bbox]);
    this.running = true;
    this.setState('running');
    const label = this.ui.show.textContent;
    this.ui.show.disabled = true;
    const started = performance.now();
    const tick = () => {
      const s = Math.round((performance.now() - started) / 1000);
      this.ui.show.textContent = `Working… ${s} s`;
      this.ui.status.textContent = `Running the detector's RPN on ${image.name} and sampling its proposals (${s} s; a few seconds on the CPU, up to a minute on an emulated GPU).`;
    };
    tick();
    const timer = setInterval(tick, 1000);
    let bitmap = null;
    try {
      bitmap = await decodeImage(blob);
      if (!bitmap) throw new Error(`${image.name} could not be decoded`);
      if (!window.libraApp?.samplingView) throw new Error('the detector is not loaded');
      let view;
      try {
        view = await window.libraApp.samplingView(bitmap, boxes, seed);
      } catch (e) {
        throw new Error(`the detector failed: ${e.message}`);
      }
      this.result?.bitmap.close();
      this.result = { imageId: image.id, name: image.name, boxes, seed, view, bitmap };
      bitmap = null;
      this.setState('done');
      this.draw();
      await drawHistograms(this.ui.chart, view).catch((e) => this.host.say(`The IoU histograms could not be drawn: ${e.message}`));
    } catch (e) {
      bitmap?.close();
      this.setState('error');
      this.host.say(`"What the sampler picks" could not be shown for ${image.name}: ${e.message}. Try again, or with another photo.`);
    } finally {
      clearInterval(timer);
      this.running = false;
      this.ui.show.textContent = label;
      this.refresh();
    }
  }

  /** Draws the last result for the chosen sampler: the photo, the boxes, the legend and the hard shares. */
  draw() {
    const r = this.result;
    if (!r) return;
    const sampler = this.sampler;
    const drawn = layers(r.view, sampler, { showAll: this.ui.all.checked });
    this.drawn = { sampler, pos: drawn.filter((l) => l.kind === 'pos').map((l) => l.index), neg: drawn.filter((l) => l.kind === 'neg').map((l) => l.index), colours: drawn.map((l) => l.colour) };
    this.paint(r.bitmap, drawn);
    this.ui.legend.replaceChildren(...legend(r.view, sampler, drawn).map((row) => {
      const swatch = Object.assign(document.createElement('span'), { className: 'swatch' });
      swatch.style.background = row.colour;
      const li = document.createElement('li');
      li.append(swatch, `${row.label}: ${row.count}`);
      return li;
    }));
    this.ui.hard.replaceChildren(...histogramSeries(r.view).flatMap((s) => [
      Object.assign(document.createElement('dt'), { textContent: `${s.label} (${s.count})` }),
      Object.assign(document.createElement('dd'), { textContent: percent(s.hardShare) }),
    ]));
    this.refresh();
  }

  /** The photo scaled to the card, with the boxes of `drawn` (photo pixels) back to front. */
  paint(bitmap, drawn) {
    const canvas = this.ui.canvas;
    canvas.hidden = false;
    const maxWidth = canvas.parentElement.clientWidth || bitmap.width;
    const { w, h } = fitSize(bitmap.width, bitmap.height, maxWidth, Math.max(240, window.innerHeight * 0.6), MAX_ZOOM);
    const ctx = sizeCanvas(canvas, w, h);
    ctx.drawImage(bitmap, 0, 0, w, h);
    const sx = w / bitmap.width;
    const sy = h / bitmap.height;
    for (const l of drawn) {
      const [x1, y1, x2, y2] = l.box;
      if (l.kind === 'gt') {
        ctx.lineWidth = LINE_PX.gt + 2; // a dark rim keeps white visible on light photos
        ctx.strokeStyle = 'rgba(0, 0, 0, 0.6)';
        ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
      }
      ctx.lineWidth = LINE_PX[l.kind];
      ctx.strokeStyle = l.colour;
      ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
    }
  }
}
