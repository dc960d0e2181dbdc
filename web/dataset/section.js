// The "Your dataset" section's own controls and drawing: the photo strip, the class list and the
// lines about them (./lists.js), the editing canvas (./editor.js), the buttons, keys (./keys.js),
// drops, the camera snapshot (./snapshot.js), import (./importer.js) and export (./exporter.js),
// all acting on the dataset being edited (./session.js) and redrawn after each of its changes.
import { redrawOnResize } from '../canvas-size.js';
import { Editor } from './editor.js';
import { wireExports } from './exporter.js';
import { importFiles } from './importer.js';
import { onKey } from './keys.js';
import { renderClasses, renderPhotos, renderSelection, renderSummary } from './lists.js';
import * as M from './model.js';
import { DatasetSession } from './session.js';
import { takeSnapshot } from './snapshot.js';

const $ = (id) => document.getElementById(id);

export class DatasetSection {
  /** `say(text)` puts a message in #message; `rendered()` after each redraw (the cards that follow the dataset). */
  constructor(say, rendered) {
    this.say = say;
    this.rendered = rendered;
    this.ui = {
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
    const session = (this.session = new DatasetSession({
      changed: () => this.render(),
      leftPhoto: () => this.editor.cancel(),
      busy: () => this.editor.busy,
      thumbnailed: () => this.renderStrip(),
      say,
    }));
    this.editor = new Editor(this.ui.canvas, {
      view: () => {
        const image = M.currentImage(session.ds);
        return { image, bitmap: image ? session.pictures.bitmap(image.id) : null, classes: session.ds.classes, activeClass: session.ds.activeClass, selected: session.selected };
      },
      select: (id) => {
        if (id !== session.selected) session.select(id);
      },
      addBox: (bbox) => session.addBox(bbox),
      changeBox: (before, after) => session.changeBox(before, after),
      refuse: say,
    });
    this.wire();
  }

  /** Loads the saved dataset and shows it; the section then has data-dataset-ready="1". */
  async open() {
    await this.session.open();
    this.render();
    this.ui.section.dataset.datasetReady = '1';
    this.session.fillThumbs();
  }

  render() {
    const { ui, session } = this;
    const { ds, history } = session;
    const image = M.currentImage(ds);
    const counts = new Map(ds.classes.map((c) => [c.id, M.boxesOfClass(ds, c.id)]));
    renderSummary(ui.summary, ds);
    this.renderStrip();
    renderClasses(ui.classes, ds, counts, { pick: (id) => session.pickClass(id), rename: (id, name) => session.renameClass(id, name), remove: (id) => session.removeClass(id) });
    const box = session.box;
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
    if (image && !session.pictures.bitmaps.has(image.id)) this.loadPicture(image.id);
    this.editor.draw();
    this.rendered();
  }

  /** The photo strip (also alone, when a thumbnail is made). */
  renderStrip() {
    renderPhotos(this.ui.photos, this.session.ds, this.session.pictures.thumbs, (id) => this.session.show(id));
  }

  /** Decodes photo `id` for the canvas, then redraws it. */
  async loadPicture(id) {
    const { session } = this;
    try {
      if (!(await session.pictures.load(id))) return;
    } catch (e) {
      return this.say(`The photo ${M.imageOf(session.ds, id)?.name ?? id} could not be shown: ${e.message}`);
    }
    if (id === session.ds.current) this.editor.draw();
  }

  removePhoto() {
    const image = this.session.image;
    if (!image) return;
    if (image.boxes.length && !confirm(`Remove "${image.name}" and its ${image.boxes.length} boxes from the dataset?`)) return;
    this.session.removePhoto(image.id);
  }

  clear() {
    if (!confirm(`Delete all ${this.session.ds.images.length} photos, their boxes and the classes from this browser? This cannot be undone.`)) return;
    this.session.clear();
  }

  wire() {
    const { ui, session, say } = this;
    const files = (input) => {
      const chosen = [...input.files];
      input.value = '';
      return chosen;
    };
    ui.add.addEventListener('change', () => session.addFiles(files(ui.add)));
    ui.import.addEventListener('change', () => importFiles(files(ui.import), session, say));
    ui.snapshot.addEventListener('click', () => takeSnapshot(ui.snapshot, $('camera-select')?.value ?? '', (shot) => session.addFiles(shot), say));
    ui.prev.addEventListener('click', () => session.step(-1));
    ui.next.addEventListener('click', () => session.step(1));
    ui.undo.addEventListener('click', () => session.undoRedo('undo'));
    ui.redo.addEventListener('click', () => session.undoRedo('redo'));
    ui.deleteBox.addEventListener('click', () => session.box && session.deleteSelected());
    ui.removePhoto.addEventListener('click', () => this.removePhoto());
    ui.clear.addEventListener('click', () => this.clear());
    wireExports(ui.exports, session, say);
    ui.classForm.addEventListener('submit', (e) => {
      e.preventDefault();
      if (session.addClass(ui.className.value)) ui.className.value = '';
    });
    ui.section.addEventListener('keydown', (e) => onKey(e, session, this.editor));

    // Drops on the section add photos, or import annotations with them; the page's own drop
    // handler (web/file-input.js, on window) never sees them.
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
      const dropped = [...(e.dataTransfer?.files ?? [])];
      if (dropped.some((f) => /\.(json|zip|xml)$/i.test(f.name))) importFiles(dropped, session, say);
      else if (dropped.length) session.addFiles(dropped);
    });

    redrawOnResize(() => this.editor.draw());
  }
}
