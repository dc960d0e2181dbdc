// The dataset being edited: its photos, boxes and classes (./model.js) with the undo history, the
// selected box and each photo's Blob (decoded by ./pictures.js), saved in IndexedDB (./store.js)
// as they change, and the edits made to it. No DOM: `hooks` {changed(), leftPhoto(), busy(),
// thumbnailed(), say(text)} let the section redraw after each change, drop a drag when another
// photo comes up, hold undo during a drag, redraw the strip when a thumbnail is made and put
// messages in #message.
import { listNames } from './importer.js';
import * as M from './model.js';
import { Pictures } from './pictures.js';
import { DatasetStore } from './store.js';

export class DatasetSession {
  ds = M.emptyDataset();
  history = M.emptyHistory();
  selected = null; // box id on the current photo
  store = null;
  blobs = new Map(); // image id -> Blob

  constructor(hooks) {
    this.hooks = hooks;
    this.pictures = new Pictures(this.blobs, () => this.ds.current);
  }

  /** The current photo (./model.js), or null. */
  get image() {
    return M.currentImage(this.ds);
  }

  /** The selected box of the current photo, or null. */
  get box() {
    return M.currentImage(this.ds)?.boxes.find((b) => b.id === this.selected) ?? null;
  }

  /** The current photo with its Blob ({image, blob}), or null. */
  photo() {
    const image = M.currentImage(this.ds);
    return image && this.blobs.has(image.id) ? { image, blob: this.blobs.get(image.id) } : null;
  }

  // --- state changes -----------------------------------------------------------------------------

  /** Makes `next` the dataset: saves it (with photos to add or delete) and redraws. */
  update(next, writes = {}) {
    if (next.current !== this.ds.current) {
      this.selected = null;
      this.hooks.leftPhoto();
    }
    this.ds = next;
    this.store?.save(this.ds, writes);
    this.hooks.changed();
  }

  /** Runs an undoable command. */
  perform(cmd) {
    const r = M.perform(this.ds, this.history, cmd);
    this.history = r.history;
    this.update(r.ds);
  }

  undoRedo(which) {
    if (this.hooks.busy()) return;
    const r = (which === 'undo' ? M.undo : M.redo)(this.ds, this.history);
    if (!r) return;
    this.history = r.history;
    const imageId = r.cmd.imageId;
    this.update(imageId !== undefined ? { ...r.ds, current: imageId } : r.ds);
    const box = M.currentImage(this.ds)?.boxes.find((b) => b.id === (r.cmd.box ?? r.cmd.after)?.id);
    this.selected = box ? box.id : null;
    this.hooks.changed();
  }

  /** Makes photo `id` the current one. */
  show(id) {
    this.update({ ...this.ds, current: id });
  }

  /** Moves `delta` photos on. */
  step(delta) {
    this.update(M.step(this.ds, delta));
  }

  // --- boxes -------------------------------------------------------------------------------------

  /** Selects box `id` of the current photo (null: none). */
  select(id) {
    this.selected = id;
    this.hooks.changed();
  }

  /** A new box `bbox` of the active class on the current photo, selected. */
  addBox(bbox) {
    if (!M.classOf(this.ds, this.ds.activeClass)) return this.hooks.say('Add a class first (under Classes): every box needs one.');
    const cmd = M.newBox(this.ds, this.ds.current, bbox, this.ds.activeClass);
    this.perform(cmd);
    this.selected = cmd.box.id;
    this.hooks.changed();
  }

  changeBox(before, after, merge) {
    this.perform({ type: 'changeBox', imageId: this.ds.current, before, after, merge });
  }

  deleteSelected() {
    this.perform(M.deleteBox(this.ds, this.ds.current, this.selected));
    this.selected = null;
    this.hooks.changed();
  }

  // --- photos ------------------------------------------------------------------------------------

  /** Adds picture files; those that do not decode are named in #message and skipped. */
  async addFiles(files) {
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
    if (failed.length) this.hooks.say(`${listNames(failed.map((n) => `"${n}"`))} ${failed.length === 1 ? 'is not a picture' : 'are not pictures'} this browser can read, so ${failed.length === 1 ? 'it was' : 'they were'} skipped.`);
    if (!photos.length) return;
    this.addPhotos(photos, decoded);
  }

  /** Adds decoded photos [{name, width, height, blob, boxes?}] (decoded: their pictures, if at hand). */
  addPhotos(photos, decoded = []) {
    const { ds: next, ids } = M.addImages(this.ds, photos);
    ids.forEach((id, i) => {
      this.blobs.set(id, photos[i].blob);
      this.pictures.added(id, decoded[i] ?? null, i === 0);
    });
    this.update(next, { put: ids.map((id) => [id, this.blobs.get(id)]) });
    this.fillThumbs();
  }

  /** Adds what ./importer.js read ({photos, classNames}): the history starts afresh. Returns the photos. */
  addImported(result) {
    const { ds: withClasses, ids } = M.ensureClasses(this.ds, result.classNames);
    this.ds = withClasses;
    const photos = result.photos.map((p) => ({ ...p, boxes: p.boxes.map((b) => ({ bbox: b.bbox, classId: ids.get(b.className) })) }));
    this.history = M.emptyHistory(); // imported classes and boxes are not undoable edits
    this.addPhotos(photos);
    return photos;
  }

  /** Thumbnails of the photos that have none yet, one after another. */
  fillThumbs() {
    return this.pictures.fillThumbs(this.ds.images, () => this.hooks.thumbnailed());
  }

  removePhoto(id) {
    this.history = M.forgetImage(this.history, id);
    this.blobs.delete(id);
    this.pictures.forget(id);
    this.update(M.removeImage(this.ds, id), { del: [id] });
  }

  /** Deletes every photo, box and class. */
  clear() {
    this.pictures.clear();
    this.blobs.clear();
    this.history = M.emptyHistory();
    this.update(M.emptyDataset(), { clear: true });
    this.hooks.say('');
  }

  // --- classes -----------------------------------------------------------------------------------

  /** Makes class `id` the one for new boxes, and gives it to the selected box. */
  pickClass(id) {
    const box = this.box;
    if (box && box.classId !== id) this.changeBox(box, { ...box, classId: id });
    if (this.ds.activeClass !== id) this.update({ ...this.ds, activeClass: id });
  }

  /** A new class named `name`, made the active one; true if it was added. */
  addClass(name) {
    const cmd = M.newClass(this.ds, name);
    if (!cmd) return this.hooks.say(name.trim() ? `There is already a class named "${name.trim()}".` : 'Type a name for the new class first.');
    this.perform(cmd);
    this.update({ ...this.ds, activeClass: cmd.cls.id });
    return true;
  }

  renameClass(id, name) {
    const to = name.trim();
    const from = M.classOf(this.ds, id)?.name;
    if (!to) return this.hooks.say(`A class needs a name: "${from}" was kept.`);
    if (this.ds.classes.some((c) => c.name === to && c.id !== id)) return this.hooks.say(`There is already a class named "${to}".`);
    this.perform({ type: 'renameClass', id, from, to });
  }

  removeClass(id) {
    const used = M.boxesOfClass(this.ds, id);
    const name = M.classOf(this.ds, id)?.name;
    if (used) return this.hooks.say(`The class "${name}" is used by ${used} ${used === 1 ? 'box' : 'boxes'}: give ${used === 1 ? 'it' : 'them'} another class or delete ${used === 1 ? 'it' : 'them'} first.`);
    this.perform(M.deleteClass(this.ds, id));
  }

  // --- saving ------------------------------------------------------------------------------------

  /** Loads the saved dataset (photos whose pixels were not saved are left out, with a message). */
  async open() {
    const say = this.hooks.say;
    try {
      this.store = await DatasetStore.open();
      this.store.onError = (e) => say(`Your dataset could not be saved in this browser (${e.message}): changes since the last save will be lost on reload.`);
      const saved = await this.store.load();
      if (saved.ds) {
        const lost = saved.ds.images.filter((im) => !saved.blobs.has(im.id));
        let loaded = saved.ds;
        for (const im of lost) loaded = M.removeImage(loaded, im.id);
        this.ds = loaded;
        for (const [id, blob] of saved.blobs) this.blobs.set(id, blob);
        if (lost.length) say(`${listNames(lost.map((im) => im.name))} could not be restored (the picture was not saved) and ${lost.length === 1 ? 'was' : 'were'} left out.`);
      }
    } catch (e) {
      this.store = null;
      say(`Your dataset cannot be kept in this browser (IndexedDB: ${e.message}): it will be lost on reload. Export it before you leave.`);
    }
  }

  /** Resolves once every change is written to IndexedDB. */
  flush() {
    return this.store?.flush();
  }
}
