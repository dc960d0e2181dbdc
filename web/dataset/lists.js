// The dataset section's lists and lines: the photo strip, the classes, the selected box and the
// summary line. Rendering only; ./section.js passes the state and the handlers.
import { el } from '../dom.js';
import { plural } from '../words.js';
import { colourOf } from './editor.js';

/** "12 photos, 87 boxes, 3 classes". */
export function renderSummary(target, ds) {
  const boxes = ds.images.reduce((n, im) => n + im.boxes.length, 0);
  target.textContent = `${plural(ds.images.length, 'photo')}, ${plural(boxes, 'box', 'boxes')}, ${plural(ds.classes.length, 'class', 'classes')}`;
}

/**
 * The photo strip: a button per photo with its thumbnail (`thumbs`: Map id -> canvas, filled in
 * later), name and box count; `pick(id)` on click. Buttons are kept per photo, so the strip keeps
 * its scroll position and the thumbnails their pixels.
 */
export function renderPhotos(list, ds, thumbs, pick) {
  const old = new Map([...list.children].map((b) => [Number(b.dataset.imageId), b]));
  const buttons = ds.images.map((im, i) => {
    let button = old.get(im.id);
    if (!button) {
      button = el('button', { type: 'button', className: 'dataset-photo' }, el('span', { className: 'thumb' }), el('span', { className: 'photo-name' }), el('span', { className: 'photo-count' }));
      button.dataset.imageId = im.id;
      button.addEventListener('click', () => pick(im.id));
    }
    const thumb = thumbs.get(im.id);
    const slot = button.querySelector('.thumb');
    if (thumb && slot.firstChild !== thumb) slot.replaceChildren(thumb);
    button.querySelector('.photo-name').textContent = im.name;
    button.querySelector('.photo-count').textContent = plural(im.boxes.length, 'box', 'boxes');
    button.title = `${i + 1}. ${im.name} (${im.width} × ${im.height} px): ${plural(im.boxes.length, 'box', 'boxes')}`;
    if (im.id === ds.current) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
    return button;
  });
  if (buttons.length !== list.children.length || buttons.some((b, i) => list.children[i] !== b)) list.replaceChildren(...buttons);
  // The current photo scrolled into the strip's view (scrollIntoView would scroll the page too).
  const current = list.querySelector('[aria-current]');
  if (!current) return;
  const r = current.getBoundingClientRect();
  const view = list.getBoundingClientRect();
  if (r.left < view.left) list.scrollLeft += r.left - view.left;
  else if (r.right > view.right) list.scrollLeft += r.right - view.right;
}

/**
 * The classes: a pick button per class (key 1-9, colour, name, box count; the active class
 * pressed), a rename button that edits the name in place and a delete button.
 * on: {pick(id), rename(id, name), remove(id)}.
 */
export function renderClasses(list, ds, counts, on) {
  list.replaceChildren(
    ...ds.classes.map((c, i) => {
      const pick = el(
        'button',
        { type: 'button', className: 'class-pick', title: `New boxes (and the selected box) get "${c.name}"${i < 9 ? ` — key ${i + 1}` : ''}` },
        el('kbd', { textContent: i < 9 ? String(i + 1) : '' }),
        el('span', { className: 'swatch', style: `background:${colourOf(c.id)}` }),
        el('span', { className: 'class-name', textContent: c.name }),
        el('span', { className: 'class-count', textContent: String(counts.get(c.id) ?? 0) }),
      );
      pick.setAttribute('aria-pressed', String(c.id === ds.activeClass));
      pick.addEventListener('click', () => on.pick(c.id));
      const rename = el('button', { type: 'button', className: 'class-rename', textContent: 'Rename', title: `Rename "${c.name}"` });
      rename.addEventListener('click', () => editName(pick, c.name, (text) => on.rename(c.id, text)));
      const remove = el('button', { type: 'button', className: 'class-delete', textContent: '✕', title: `Delete "${c.name}"` });
      remove.setAttribute('aria-label', `Delete class ${c.name}`);
      remove.addEventListener('click', () => on.remove(c.id));
      const item = el('li', {}, pick, rename, remove);
      item.dataset.classId = c.id;
      item.dataset.className = c.name;
      return item;
    }),
  );
}

/** Replaces `shown` (the class's button) by a text field: Enter (or leaving it) calls done(text), Escape cancels. */
function editName(shown, current, done) {
  const input = el('input', { type: 'text', className: 'class-rename-input', value: current, maxLength: 60 });
  input.setAttribute('aria-label', `New name for ${current}`);
  let finished = false;
  const finish = (save) => {
    if (finished) return;
    finished = true;
    input.replaceWith(shown);
    if (save && input.value.trim() !== current) done(input.value);
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') finish(true);
    else if (e.key === 'Escape') finish(false);
    else return;
    e.preventDefault();
  });
  input.addEventListener('blur', () => finish(true));
  shown.replaceWith(input);
  input.focus();
  input.select();
}

/** What is selected: "Box 2 of 5: cat, 40 × 30 px at (10, 20)", or how to start. */
export function renderSelection(target, image, box, className) {
  if (!image) target.textContent = '';
  else if (!box) target.textContent = image.boxes.length ? `${plural(image.boxes.length, 'box', 'boxes')} on this photo. Click one to select it, or drag on the photo to draw a new one.` : 'Drag on the photo to draw a box around each object.';
  else {
    const [x1, y1, x2, y2] = box.bbox.map((v) => Math.round(v * 10) / 10);
    const index = image.boxes.indexOf(box) + 1;
    target.textContent = `Box ${index} of ${image.boxes.length}: ${className}, ${Math.round((x2 - x1) * 10) / 10} × ${Math.round((y2 - y1) * 10) / 10} px at (${x1}, ${y1}).`;
  }
}
