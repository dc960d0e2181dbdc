// The "Your dataset" section: photos to label for fine-tuning, their boxes and classes, kept in
// IndexedDB (store.js) as they change. Wires the DOM (panel.js), the canvas (editor.js), the
// keys (keys.js), import/export, the state (model.js) and the teaching views of the current photo
// (../teach/sampling.js, ../teach/pyramid.js), the Balanced L1 view (../teach/balanced-l1.js,
// no photo needed) and training on the dataset (../train/panel.js), whose run the views follow.
// Exposes window.libraDataset and window.libraTraining for tests.
import { cameraErrorText, hiddenVideo, openCamera } from '../sources.js';
import { BalancedL1View } from '../teach/balanced-l1.js';
import { PyramidView } from '../teach/pyramid.js';
import { SamplingView } from '../teach/sampling.js';
import { TrainPanel } from '../train/panel.js';
import { Editor } from './editor.js';
import { exportCocoJson, exportCocoZip, exportVocZip } from './exporter.js';
import { nudgeBox } from './geometry.js';
import { listNames, readImport } from './importer.js';
import { isTyping, shortcut } from './keys.js';
import * as M from './model.js';
import { renderClasses, renderPhotos, renderSelection, renderSummary } from './panel.js';
import { DatasetStore } from './store.js';

const THUMB_PX = 96; // thumbnail width
const BITMAPS_KEPT = 4; // decoded photos kept for going back and forth

const $ = (id) => document.getElementById(id);
const ui = {
  section: $('dataset'),
  summary: $('dataset-summary'),
  canvas: $('dataset-canvas'),
  hint: $('dataset-hint'),
  position: $('dataset-position'),
  selection: $('dataset-selection'),
  photos: $('dataset-photos'),
  classes: $('dataset-classes'),
  classForm: $('dataset-class-form'),
  className: $('dataset-class-name'),
  add: $('dataset-add'),
  snapshot: $('dataset-snapshot'),
  import: $('dataset-import'),
  prev: $('dataset-prev'),
  next: $('dataset-next'),
  undo: $('dataset-undo'),
  redo: $('dataset-redo'),
  deleteBox: $('dataset-delete-box'),
  removePhoto: $('dataset-remove-photo'),
  clear: $('dataset-clear'),
  exports: { coco: $('dataset-export-coco'), cocoZip: $('dataset-export-coco-zip'), voc: $('dataset-export-voc') },
};

let ds = M.emptyDataset();
let history = M.emptyHistory();
let selected = null; // box id on the current photo
let store = null;
const blobs = new Map(); // image id -> Blob
const bitmaps = new Map(); // image id -> ImageBitmap, most recent last
const thumbs = new Map(); // image id -> <canvas>

function say(text) {
  $('message').textContent = text;
}

// --- state changes ---------------------------------------------------------------------------

/** Makes `next` the dataset: saves it (with photos to add or delete) and redraws. */
function update(next, writes = {}) {
  if (next.current !== ds.current) {
    selected = null;
    editor.cancel();
  }
  ds = next;
  store?.save(ds, writes);
  render();
}

/** Runs an undoable command. */
function run(cmd) {
  const r = M.perform(ds, history, cmd);
  history = r.history;
  update(r.ds);
}

function undoRedo(which) {
  if (editor.busy) return;
  const r = (which === 'undo' ? M.undo : M.redo)(ds, history);
  if (!r) return;
  history = r.history;
  const imageId = r.cmd.imageId;
  update(imageId !== undefined ? { ...r.ds, current: imageId } : r.ds);
  const box = M.currentImage(ds)?.boxes.find((b) => b.id === (r.cmd.box ?? r.cmd.after)?.id);
  selected = box ? box.id : null;
  render();
}

const currentBox = () => M.currentImage(ds)?.boxes.find((b) => b.id === selected) ?? null;

function changeBox(before, after, merge) {
  run({ type: 'changeBox', imageId: ds.current, before, after, merge });
}

/** Makes class `id` the one for new boxes, and gives it to the selected box. */
function pickClass(id) {
  const box = currentBox();
  if (box && box.classId !== id) changeBox(box, { ...box, classId: id });
  if (ds.activeClass !== id) update({ ...ds, activeClass: id });
}

// --- drawing ---------------------------------------------------------------------------------

function render() {
  const image = M.currentImage(ds);
  const counts = new Map(ds.classes.map((c) => [c.id, M.boxesOfClass(ds, c.id)]));
  renderSummary(ui.summary, ds);
  renderPhotos(ui.photos, ds, thumbs, (id) => update({ ...ds, current: id }));
  renderClasses(ui.classes, ds, counts, { pick: pickClass, rename: renameClass, remove: removeClass });
  const box = currentBox();
  renderSelection(ui.selection, image, box, box && M.classOf(ds, box.classId)?.name);
  const index = ds.images.indexOf(image);
  ui.position.textContent = image ? `${index + 1} / ${ds.images.length}` : '—';
  ui.hint.hidden = Boolean(image);
  ui.prev.disabled = index <= 0;
  ui.next.disabled = index < 0 || index >= ds.images.length - 1;
  ui.undo.disabled = !history.done.length;
  ui.redo.disabled = !history.undone.length;
  ui.deleteBox.disabled = !box;
  ui.removePhoto.disabled = !image;
  for (const button of [ui.clear, ...Object.values(ui.exports)]) button.disabled = !ds.images.length;
  if (image && !bitmaps.has(image.id)) loadBitmap(image.id);
  editor.draw();
  sampling.refresh();
  pyramid.refresh();
  training.refresh();
}

/** Decodes photo `id` for the canvas (keeping the last few), then redraws. */
async function loadBitmap(id) {
  const blob = blobs.get(id);
  if (!blob || bitmaps.has(id)) return;
  bitmaps.set(id, null); // loading
  try {
    keepBitmap(id, await createImageBitmap(blob));
  } catch (e) {
    bitmaps.delete(id);
    say(`The photo ${M.imageOf(ds, id)?.name ?? id} could not be shown: ${e.message}`);
    return;
  }
  if (id === ds.current) editor.draw();
}

function keepBitmap(id, bitmap) {
  bitmaps.delete(id);
  bitmaps.set(id, bitmap);
  for (const [old, b] of bitmaps) {
    if (bitmaps.size <= BITMAPS_KEPT) break;
    if (old === ds.current) continue;
    b?.close();
    bitmaps.delete(old);
  }
}

/** A small canvas of the picture for the photo strip. */
function makeThumb(source) {
  const canvas = document.createElement('canvas');
  canvas.width = THUMB_PX;
  canvas.height = Math.max(1, Math.round((THUMB_PX * source.height) / source.width));
  canvas.getContext('2d').drawImage(source, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/** Thumbnails of the photos that have none yet, one after another. */
async function fillThumbs() {
  for (const im of ds.images) {
    if (thumbs.has(im.id) || !blobs.has(im.id)) continue;
    try {
      const bitmap = await createImageBitmap(blobs.get(im.id), { resizeWidth: THUMB_PX, resizeQuality: 'medium' });
      thumbs.set(im.id, makeThumb(bitmap));
      bitmap.close();
    } catch {
      continue; // the strip shows the name alone
    }
    renderPhotos(ui.photos, ds, thumbs, (id) => update({ ...ds, current: id }));
  }
}

const editor = new Editor(ui.canvas, {
  view: () => {
    const image = M.currentImage(ds);
    return { image, bitmap: image ? (bitmaps.get(image.id) ?? null) : null, classes: ds.classes, activeClass: ds.activeClass, selected };
  },
  select(id) {
    if (id === selected) return;
    selected = id;
    render();
  },
  addBox(bbox) {
    if (!M.classOf(ds, ds.activeClass)) return say('Add a class first (under Classes): every box needs one.');
    const cmd = M.newBox(ds, ds.current, bbox, ds.activeClass);
    run(cmd);
    selected = cmd.box.id;
    render();
  },
  changeBox: (before, after) => changeBox(before, after),
  refuse: say,
});

/** The teaching views' host: the current photo ({image, blob} or null) and #message. */
const teachHost = {
  photo() {
    const image = M.currentImage(ds);
    return image && blobs.has(image.id) ? { image, blob: blobs.get(image.id) } : null;
  },
  say,
};
const sampling = new SamplingView($('sampling'), teachHost);
const pyramid = new PyramidView($('pyramid'), teachHost);
const balancedL1 = new BalancedL1View($('balanced-l1'), teachHost); // needs no photo

/** Shown views follow the model being trained: computed again on it at each of its checkpoints. */
function refreshViews() {
  if (sampling.result && !sampling.running && !sampling.reason()) sampling.show();
  if (pyramid.result && !pyramid.running && !pyramid.reason()) pyramid.show();
}

const training = new TrainPanel($('train'), {
  dataset: () => ({ ds, blobs }),
  say,
  detector: () => window.libraApp?.detectorModel() ?? null,
  useModel: (bytes, name) => window.libraApp.useModel(bytes, name),
  started(run) {
    window.libraApp.trainer = run; // the views ask the model being trained from now on
  },
  stepped: (run, step) => balancedL1.showBatch(step.reg_errors, run.id, step.step),
  checkpointed: refreshViews,
});
window.addEventListener('libra:detector', () => training.refresh());

// --- photos ----------------------------------------------------------------------------------

/** Adds picture files; those that do not decode are named in #message and skipped. */
async function addFiles(files) {
  const photos = [];
  const failed = [];
  const decoded = [];
  for (const file of files) {
    try {
      const bitmap = await createImageBitmap(file);
      photos.push({ name: file.name, width: bitmap.width, height: bitmap.height, blob: file });
      decoded.push(bitmap);
    } catch {
      failed.push(file.name);
    }
  }
  if (failed.length) say(`${listNames(failed.map((n) => `"${n}"`))} ${failed.length === 1 ? 'is not a picture' : 'are not pictures'} this browser can read, so ${failed.length === 1 ? 'it was' : 'they were'} skipped.`);
  if (!photos.length) return;
  addPhotos(photos, decoded);
}

/** Adds decoded photos [{name, width, height, blob, boxes?}] (bitmaps: their pictures, if at hand). */
function addPhotos(photos, decoded = []) {
  const { ds: next, ids } = M.addImages(ds, photos);
  ids.forEach((id, i) => {
    blobs.set(id, photos[i].blob);
    if (decoded[i]) {
      thumbs.set(id, makeThumb(decoded[i]));
      if (i === 0) keepBitmap(id, decoded[i]);
      else decoded[i].close();
    }
  });
  update(next, { put: ids.map((id) => [id, blobs.get(id)]) });
  fillThumbs();
}

/** One frame of the camera as a JPEG photo; the camera is released at once. */
async function takeSnapshot() {
  ui.snapshot.disabled = true;
  let stream;
  let video;
  try {
    try {
      stream = await openCamera($('camera-select')?.value ?? '');
    } catch (e) {
      return say(e?.name === 'NotAllowedError'
        ? 'Camera access was denied, so no snapshot was taken. Allow the camera for this page (the camera icon in the address bar or the site settings) and try again.'
        : cameraErrorText(e));
    }
    video = hiddenVideo();
    video.srcObject = stream;
    await video.play();
    for (let waited = 0; !video.videoWidth && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    if (!video.videoWidth) throw new Error('the camera gave no picture within 5 s');
    const canvas = Object.assign(document.createElement('canvas'), { width: video.videoWidth, height: video.videoHeight });
    canvas.getContext('2d').drawImage(video, 0, 0);
    const blob = await new Promise((r) => canvas.toBlob(r, 'image/jpeg', 0.92));
    if (!blob) throw new Error('the frame could not be encoded');
    const stamp = new Date().toISOString().slice(0, 19).replace('T', '-').replaceAll(':', '');
    await addFiles([new File([blob], `webcam-${stamp}.jpg`, { type: 'image/jpeg' })]);
  } catch (e) {
    say(`The snapshot failed: ${e.message}`);
  } finally {
    for (const t of stream?.getTracks() ?? []) t.stop();
    video?.remove();
    ui.snapshot.disabled = false;
  }
}

function removePhoto() {
  const image = M.currentImage(ds);
  if (!image) return;
  if (image.boxes.length && !confirm(`Remove "${image.name}" and its ${image.boxes.length} boxes from the dataset?`)) return;
  history = M.forgetImage(history, image.id);
  blobs.delete(image.id);
  bitmaps.get(image.id)?.close();
  bitmaps.delete(image.id);
  thumbs.delete(image.id);
  update(M.removeImage(ds, image.id), { del: [image.id] });
}

function clearDataset() {
  if (!confirm(`Delete all ${ds.images.length} photos, their boxes and the classes from this browser? This cannot be undone.`)) return;
  for (const b of bitmaps.values()) b?.close();
  blobs.clear();
  bitmaps.clear();
  thumbs.clear();
  history = M.emptyHistory();
  update(M.emptyDataset(), { clear: true });
  say('');
}

// --- classes ---------------------------------------------------------------------------------

function addClass(name) {
  const cmd = M.newClass(ds, name);
  if (!cmd) return say(name.trim() ? `There is already a class named "${name.trim()}".` : 'Type a name for the new class first.');
  run(cmd);
  update({ ...ds, activeClass: cmd.cls.id });
  return true;
}

function renameClass(id, name) {
  const to = name.trim();
  const from = M.classOf(ds, id)?.name;
  if (!to) return say(`A class needs a name: "${from}" was kept.`);
  if (ds.classes.some((c) => c.name === to && c.id !== id)) return say(`There is already a class named "${to}".`);
  run({ type: 'renameClass', id, from, to });
}

function removeClass(id) {
  const used = M.boxesOfClass(ds, id);
  const name = M.classOf(ds, id)?.name;
  if (used) return say(`The class "${name}" is used by ${used} ${used === 1 ? 'box' : 'boxes'}: give ${used === 1 ? 'it' : 'them'} another class or delete ${used === 1 ? 'it' : 'them'} first.`);
  run(M.deleteClass(ds, id));
}

// --- import and export -----------------------------------------------------------------------

async function importFiles(files) {
  let result;
  try {
    result = await readImport(files);
  } catch (e) {
    return say(`Import failed: ${e.message}`);
  }
  const { ds: withClasses, ids } = M.ensureClasses(ds, result.classNames);
  ds = withClasses;
  const photos = result.photos.map((p) => ({ ...p, boxes: p.boxes.map((b) => ({ bbox: b.bbox, classId: ids.get(b.className) })) }));
  history = M.emptyHistory(); // imported classes and boxes are not undoable edits
  addPhotos(photos);
  const boxes = photos.reduce((n, p) => n + p.boxes.length, 0);
  say(result.notes.length ? `Imported ${photos.length} ${photos.length === 1 ? 'photo' : 'photos'} with ${boxes} ${boxes === 1 ? 'box' : 'boxes'}. ${result.notes.join(' ')}` : '');
}

async function exportAs(button, write) {
  button.disabled = true;
  try {
    await write(ds, blobs);
  } catch (e) {
    say(`Export failed: ${e.message}`);
  } finally {
    button.disabled = !ds.images.length;
  }
}

function deleteSelected() {
  run(M.deleteBox(ds, ds.current, selected));
  selected = null;
  render();
}

// --- keys ------------------------------------------------------------------------------------

function onKey(e) {
  if (isTyping(e.target)) return;
  const action = shortcut(e);
  if (!action) return;
  const image = M.currentImage(ds);
  const box = currentBox();
  switch (action.type) {
    case 'undo':
    case 'redo':
      undoRedo(action.type);
      break;
    case 'class':
      if (!ds.classes[action.index]) return;
      pickClass(ds.classes[action.index].id);
      break;
    case 'nudge':
      if (!box || editor.busy) return;
      changeBox(box, { ...box, bbox: nudgeBox(box.bbox, action.dx, action.dy, image.width, image.height) }, 'nudge');
      break;
    case 'delete':
      if (!box || editor.busy) return;
      deleteSelected();
      break;
    case 'step':
      if (editor.busy) return;
      update(M.step(ds, action.delta));
      break;
    case 'escape':
      editor.cancel();
      selected = null;
      render();
      break;
  }
  e.preventDefault();
}

// --- wiring ----------------------------------------------------------------------------------

ui.add.addEventListener('change', () => {
  const files = [...ui.add.files];
  ui.add.value = '';
  addFiles(files);
});
ui.import.addEventListener('change', () => {
  const files = [...ui.import.files];
  ui.import.value = '';
  importFiles(files);
});
ui.snapshot.addEventListener('click', takeSnapshot);
ui.prev.addEventListener('click', () => update(M.step(ds, -1)));
ui.next.addEventListener('click', () => update(M.step(ds, 1)));
ui.undo.addEventListener('click', () => undoRedo('undo'));
ui.redo.addEventListener('click', () => undoRedo('redo'));
ui.deleteBox.addEventListener('click', () => currentBox() && deleteSelected());
ui.removePhoto.addEventListener('click', removePhoto);
ui.clear.addEventListener('click', clearDataset);
ui.exports.coco.addEventListener('click', () => exportAs(ui.exports.coco, exportCocoJson));
ui.exports.cocoZip.addEventListener('click', () => exportAs(ui.exports.cocoZip, exportCocoZip));
ui.exports.voc.addEventListener('click', () => exportAs(ui.exports.voc, exportVocZip));
ui.classForm.addEventListener('submit', (e) => {
  e.preventDefault();
  if (addClass(ui.className.value)) ui.className.value = '';
});
ui.section.addEventListener('keydown', onKey);

// Drops on the section add photos, or import annotations with them; the page's own drop
// handler (web/app.js, on window) never sees them.
ui.section.addEventListener('dragover', (e) => {
  e.preventDefault();
  e.stopPropagation();
  ui.section.classList.add('dragging');
});
ui.section.addEventListener('dragleave', (e) => {
  if (!ui.section.contains(e.relatedTarget)) ui.section.classList.remove('dragging');
});
ui.section.addEventListener('drop', (e) => {
  e.preventDefault();
  e.stopPropagation();
  ui.section.classList.remove('dragging');
  const files = [...(e.dataTransfer?.files ?? [])];
  if (files.some((f) => /\.(json|zip|xml)$/i.test(f.name))) importFiles(files);
  else if (files.length) addFiles(files);
});

let resizeQueued = false;
window.addEventListener('resize', () => {
  if (resizeQueued) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    editor.draw();
  });
});

window.libraDataset = {
  get images() { return M.snapshot(ds).images; },
  get classes() { return M.snapshot(ds).classes; },
  get current() { return ds.current; },
  get activeClass() { return ds.activeClass; },
  get selected() { return selected; },
  /** True once the current photo's picture is decoded and on the canvas (the mouse works from then on). */
  get pictureReady() { return Boolean(bitmaps.get(ds.current)); },
  /** The sampling view's last result and what it draws (../teach/sampling.js). */
  get samplingView() { return sampling.state; },
  /** The feature pyramid view's last result, attention and what it draws (../teach/pyramid.js). */
  get pyramidView() { return pyramid.state; },
  /** The Balanced L1 view's values, last curves and what it draws (../teach/balanced-l1.js). */
  get balancedL1View() { return balancedL1.state; },
  /** Sets the Balanced L1 view's {alpha, gamma} as its sliders do (any numbers); resolves once drawn, refused or superseded. */
  setBalancedL1: (params) => balancedL1.set(params),
  /** Resolves once every change is written to IndexedDB. */
  flush: () => store?.flush(),
};

window.libraTraining = {
  /** {state, split, runs: [{id, label, state, options, steps, evals, modelStep, error, warnings}]}. */
  get state() { return training.state; },
  pause: () => training.current?.pause(),
  resume: () => training.current?.resume(),
  stop: () => training.current?.stop(),
  /** The saved model of run `id` (base64 of its .lrc bytes), or null. */
  modelBase64(id) {
    const bytes = training.runs.find((r) => r.id === id)?.model?.bytes;
    if (!bytes) return null;
    const u8 = new Uint8Array(bytes);
    let text = '';
    for (let i = 0; i < u8.length; i += 0x8000) text += String.fromCharCode(...u8.subarray(i, i + 0x8000));
    return btoa(text);
  },
};

/** Loads the saved dataset (photos whose pixels were not saved are left out, with a message). */
async function boot() {
  try {
    store = await DatasetStore.open();
    store.onError = (e) => say(`Your dataset could not be saved in this browser (${e.message}): changes since the last save will be lost on reload.`);
    const saved = await store.load();
    if (saved.ds) {
      const lost = saved.ds.images.filter((im) => !saved.blobs.has(im.id));
      let loaded = saved.ds;
      for (const im of lost) loaded = M.removeImage(loaded, im.id);
      ds = loaded;
      for (const [id, blob] of saved.blobs) blobs.set(id, blob);
      if (lost.length) say(`${listNames(lost.map((im) => im.name))} could not be restored (the picture was not saved) and ${lost.length === 1 ? 'was' : 'were'} left out.`);
    }
  } catch (e) {
    store = null;
    say(`Your dataset cannot be kept in this browser (IndexedDB: ${e.message}): it will be lost on reload. Export it before you leave.`);
  }
  render();
  ui.section.dataset.datasetReady = '1';
  fillThumbs();
}

boot();
