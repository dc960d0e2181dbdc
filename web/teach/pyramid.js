// The dataset section's "What the feature pyramid sees" card (#pyramid, Libra R-CNN's Balanced
// Feature Pyramid): for the current photo, the FPN's P2..P6, the BFP's integrated and refined
// maps and the balanced P2..P6 of the running model (window.libraApp.pyramidView, run in the
// detector worker) as pixelated images beside the photo as the network sees it; a click on the
// photo or on a BFP map shows where the non-local block gathers information from there
// (window.libraApp.attentionMap) as a heat overlay.
import { sizeCanvas } from '../canvas-size.js';
import { decodeImage } from '../sources.js';
import { cellPhotoPixel, channelOptions, inputToPhoto, mapKey, mapLabel, mapRgba, overlayRgba, photoPixel, photoRegion, rowsOf, viridisCss } from './pyramid-maps.js';

const MAP_PX = 140; // display width of every map
const PHOTO_PX = 300; // display width of the photo (at most)
const PAD_COLOUR = '#9ca3af'; // the letterbox padding around the photo
const REFINE_TEXT = { non_local: 'refines it with a non-local block', conv: 'refines it with a 3×3 convolution', none: 'does not refine it' };

const percent = (v) => `${(v * 100).toFixed(v < 0.01 ? 2 : 1)}%`;
const levelName = (view) => `P${view.refine_level + 2}`;

/** Draws `rgba` (`width` x `height` cells) over [x, y, w, h] of `ctx`, each cell a sharp block. */
function drawCells(ctx, rgba, width, height, [x, y, w, h]) {
  const cells = Object.assign(document.createElement('canvas'), { width, height });
  cells.getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, x, y, w, h);
  ctx.imageSmoothingEnabled = true;
}

/** Outlines cell (cx, cy) of a grid whose cells are `sx` x `sy` CSS pixels: white with a dark rim. */
function markCell(ctx, [cx, cy], sx, sy) {
  for (const [width, colour] of [[4, 'rgba(0, 0, 0, 0.7)'], [2, '#ffffff']]) {
    ctx.lineWidth = width;
    ctx.strokeStyle = colour;
    ctx.strokeRect(cx * sx, cy * sy, sx, sy);
  }
}

/** Where a pointer event lies on its canvas, as fractions [0, 1) of the width and height. */
function fractionOf(e) {
  const r = e.currentTarget.getBoundingClientRect();
  const f = (v, size) => Math.min(0.999999, Math.max(0, v / size));
  return [f(e.clientX - r.left, r.width), f(e.clientY - r.top, r.height)];
}

/**
 * The card. `host.photo()` -> {image, blob} of the current photo (image: model.js's photo) or
 * null; `host.say(text)` puts a message in #message. `refresh()` after every change of the
 * dataset; `state` is what tests read (window.libraDataset.pyramidView).
 */
export class PyramidView {
  constructor(card, host) {
    const $ = (id) => card.querySelector(`#${id}`);
    this.card = card;
    this.host = host;
    this.ui = { show: $('pyramid-show'), channel: $('pyramid-channel'), status: $('pyramid-status'), photo: $('pyramid-photo'), attention: $('pyramid-attention'), rows: $('pyramid-rows'), ramp: $('pyramid-ramp') };
    this.result = null; // {imageId, name, channel, view, bitmap}
    this.attention = null; // {point: [x, y], map: the attention JSON} of the last click
    this.attentionError = null; // why the last click shows no attention
    this.drawn = null; // {maps: [mapKey, ...]}: what the card shows
    this.running = false;
    this.ui.ramp.style.background = viridisCss();
    this.ui.show.addEventListener('click', () => this.show());
    this.ui.channel.addEventListener('change', () => this.show());
    // Enter in the channel picker shows the view too (and says why not, when it cannot).
    this.ui.channel.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      this.show();
    });
    this.ui.photo.addEventListener('click', (e) => this.clickPhoto(e));
    window.addEventListener('resize', () => this.result && this.drawPhoto());
    this.setState('idle');
  }

  /** {state, imageId, channel (-1: energy), view, attention (JSON or null), point (its photo pixel), drawn}; view null before the first. */
  get state() {
    const r = this.result;
    return { state: this.card.dataset.pyramidState, imageId: r?.imageId ?? null, channel: r?.channel ?? null, view: r?.view ?? null, attention: this.attention?.map ?? null, point: this.attention?.point ?? null, drawn: this.drawn };
  }

  setState(s) {
    this.card.dataset.pyramidState = s;
  }

  /** Why the view cannot be shown for the current photo, or null. */
  reason() {
    return this.host.photo() ? null : 'Add a photo to the dataset first: this view shows what the detector\'s feature pyramid computes for it.';
  }

  /** Enables the button for a photo and says what is shown (called on every dataset change). */
  refresh() {
    if (this.running) return;
    const why = this.reason();
    this.ui.show.disabled = why !== null;
    this.ui.show.title = why ?? '';
    this.ui.status.textContent = why && this.result ? `${why} Shown below: ${this.result.name}.` : (why ?? this.shownText());
  }

  /** What the view shows, and whether the photo changed since. */
  shownText() {
    const r = this.result;
    if (!r) return 'Press "Show for this photo" to run the detector\'s backbone and feature pyramid on it.';
    const v = r.view;
    const what = v.channel === null ? `the energy of all ${v.channels} channels` : `channel ${v.channel} of ${v.channels}`;
    const bfp = v.refine === 'off'
      ? 'this model has no Balanced Feature Pyramid, so only the FPN\'s levels are shown.'
      : `the BFP integrates the levels at ${levelName(v)} and ${REFINE_TEXT[v.refine]}.`;
    const text = `${r.name}, ${what}: ${bfp}`;
    return this.host.photo()?.image.id === r.imageId ? text : `${text} (Computed before the photo changed: show it again to update.)`;
  }

  /** Computes the maps of the current photo for the chosen channel, then draws them. */
  async show() {
    if (this.running) return;
    const why = this.reason();
    if (why) return this.host.say(why);
    const { image, blob } = this.host.photo();
    const channel = Number(this.ui.channel.value);
    let bitmap = null;
    try {
      await this.working(`Running the detector's backbone and feature pyramid on ${image.name}`, async () => {
        bitmap = await decodeImage(blob);
        if (!bitmap) throw new Error(`${image.name} could not be decoded`);
        if (!window.libraApp?.pyramidView) throw new Error('the detector is not loaded');
        let view;
        try {
          view = await window.libraApp.pyramidView(bitmap, channel);
        } catch (e) {
          throw new Error(`the detector failed: ${e.message}`);
        }
        this.result?.bitmap.close();
        this.result = { imageId: image.id, name: image.name, channel, view, bitmap };
        bitmap = null;
        this.attention = null;
        this.attentionError = null;
        this.fillChannels(view.channels, channel);
        this.draw();
      });
    } catch (e) {
      bitmap?.close();
      this.ui.channel.value = String(this.result?.channel ?? -1); // the picker names what is shown
      this.setState('error');
      this.host.say(`"What the feature pyramid sees" could not be shown for ${image.name}: ${e.message}. Try again, or with another photo.`);
    }
  }

  /** Asks for the non-local block's attention at photo pixel (x, y) of the shown photo, then draws it. */
  async attend(x, y) {
    const r = this.result;
    if (this.running || !r) return;
    try {
      await this.working(`Computing where the non-local block gathers information from at (${x}, ${y}) of ${r.name}`, async () => {
        try {
          this.attention = { point: [x, y], map: await window.libraApp.attentionMap(r.bitmap, x, y) };
          this.attentionError = null;
        } catch (e) {
          this.attention = null;
          this.attentionError = `No attention to show for (${x}, ${y}): ${e.message}`;
          // A model without a non-local block has none: the card says so. Otherwise the detector failed.
          if (r.view.refine === 'non_local') throw e;
        } finally {
          this.draw();
        }
      });
    } catch (e) {
      this.setState('error');
      this.host.say(`The attention at (${x}, ${y}) of ${r.name} could not be shown: ${e.message}. Try again.`);
    }
  }

  /** Runs `job` with the card busy (controls off, a timer in the status); state 'done' when it succeeds. */
  async working(text, job) {
    this.running = true;
    this.setState('running');
    const label = this.ui.show.textContent;
    this.ui.show.disabled = this.ui.channel.disabled = true;
    const started = performance.now();
    const tick = () => {
      const s = Math.round((performance.now() - started) / 1000);
      this.ui.show.textContent = `Working… ${s} s`;
      this.ui.status.textContent = `${text} (${s} s; about a second on the CPU, up to a minute on an emulated GPU).`;
    };
    tick();
    const timer = setInterval(tick, 1000);
    try {
      await job();
      this.setState('done');
    } finally {
      clearInterval(timer);
      this.running = false;
      this.ui.show.textContent = label;
      this.ui.channel.disabled = false;
      this.refresh();
    }
  }

  /** Lists energy and channels 0..channels-1 in the picker, keeping `selected`. */
  fillChannels(channels, selected) {
    if (this.ui.channel.options.length === channels + 1) return;
    this.ui.channel.replaceChildren(...channelOptions(channels).map(({ value, label }) => new Option(label, String(value), false, value === selected)));
  }

  /** Photo pixel of a click on the photo (the network input square), then its attention. */
  clickPhoto(e) {
    const r = this.result;
    if (!r) return;
    const [fx, fy] = fractionOf(e);
    const [x, y] = inputToPhoto(r.view.letterbox, fx * r.view.input_size, fy * r.view.input_size);
    this.attend(...photoPixel(x, y, r.bitmap.width, r.bitmap.height));
  }

  /** Photo pixel at the centre of the clicked cell of BFP map `m`, then its attention. */
  clickMap(e, m) {
    const r = this.result;
    const [fx, fy] = fractionOf(e);
    this.attend(...cellPhotoPixel(r.view.letterbox, m.stride, Math.floor(fx * m.width), Math.floor(fy * m.height), r.bitmap.width, r.bitmap.height));
  }

  /** Draws the last result: the photo (with the attention) and the maps, row by row. */
  draw() {
    const r = this.result;
    if (!r) return;
    this.drawPhoto();
    const cell = this.attention?.map.cell;
    const keys = [];
    this.ui.rows.replaceChildren(...rowsOf(r.view).map((row) => {
      const maps = Object.assign(document.createElement('div'), { className: 'pyramid-maps' });
      maps.append(...row.maps.map((m) => {
        const canvas = document.createElement('canvas');
        canvas.dataset.map = mapKey(m);
        canvas.setAttribute('role', 'img');
        canvas.setAttribute('aria-label', `${row.stage.toUpperCase()} ${mapLabel(m)}`);
        const h = Math.round((MAP_PX * m.height) / m.width);
        const ctx = sizeCanvas(canvas, MAP_PX, h);
        drawCells(ctx, mapRgba(m.values), m.width, m.height, [0, 0, MAP_PX, h]);
        if (row.stage === 'bfp') {
          canvas.classList.add('pickable');
          canvas.title = 'Click a cell: where does the non-local block gather information from there?';
          canvas.addEventListener('click', (e) => this.clickMap(e, m));
          if (cell) markCell(ctx, cell, MAP_PX / m.width, h / m.height);
        }
        keys.push(mapKey(m));
        const figure = Object.assign(document.createElement('figure'), { className: 'pyramid-map' });
        figure.append(canvas, Object.assign(document.createElement('figcaption'), { textContent: mapLabel(m) }));
        return figure;
      }));
      const section = Object.assign(document.createElement('section'), { className: 'pyramid-row' });
      const label = row.stage === 'bfp' ? `${row.label} (at ${levelName(r.view)})` : row.label;
      section.append(Object.assign(document.createElement('h3'), { textContent: label }), maps);
      return section;
    }));
    this.drawn = { maps: keys };
    this.ui.attention.textContent = this.attentionText();
  }

  /** The photo as the network sees it (letterboxed into the input square), with the attention over it. */
  drawPhoto() {
    const { view, bitmap } = this.result;
    const canvas = this.ui.photo;
    canvas.hidden = false;
    const size = Math.min(PHOTO_PX, canvas.parentElement.clientWidth || PHOTO_PX);
    const ctx = sizeCanvas(canvas, size, size);
    const k = size / view.input_size;
    ctx.fillStyle = PAD_COLOUR;
    ctx.fillRect(0, 0, size, size);
    const [x, y, w, h] = photoRegion(view.letterbox, bitmap.width, bitmap.height);
    ctx.drawImage(bitmap, x * k, y * k, w * k, h * k);
    const a = this.attention?.map;
    if (!a) return;
    const cell = a.stride * k;
    drawCells(ctx, overlayRgba(a.values, a.max), a.width, a.height, [0, 0, a.width * cell, a.height * cell]);
    markCell(ctx, a.cell, cell, cell);
  }

  /** The caption under the photo: how to ask for the attention, what it shows, or why there is none. */
  attentionText() {
    const v = this.result.view;
    if (this.attentionError) return this.attentionError;
    const a = this.attention;
    if (!a) {
      if (v.refine === 'non_local') return 'Click on the photo, or on the integrated or refined map, to see where the non-local block gathers information from for that position.';
      return `This model's ${v.refine === 'off' ? 'feature pyramid has no BFP' : 'BFP has no non-local block'}, so there is no attention to show.`;
    }
    const { cell: [cx, cy], width, height, stride, max, values } = a.map;
    const top = values.reduce((best, w, i) => (w > values[best] ? i : best), 0);
    return `Photo pixel (${a.point.join(', ')}) is cell (${cx}, ${cy}) of the ${width}×${height} refine level ${levelName(v)} (stride ${stride}, outlined). The overlay shows where the non-local block at that position gathers information from: the brighter, the more weight. All ${width * height} weights add up to 100%; the largest, ${percent(max)}, is on cell (${top % width}, ${Math.floor(top / width)}).`;
  }
}
