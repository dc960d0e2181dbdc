// The dataset as plain data and pure functions: photos (their pixels live in store.js) with their
// boxes, the classes, the current photo, and an undo/redo history of box and class edits.
//
// A dataset: {images: [{id, name, width, height, boxes: [{id, bbox: [x1, y1, x2, y2], classId}]}],
// classes: [{id, name}], current: image id or null, activeClass: class id for new boxes,
// next: {image, box, class} (the next free ids)}. Functions return new objects and never
// change their arguments.

const HISTORY_LIMIT = 500;

/** An empty dataset with one class to start with. */
export function emptyDataset() {
  return { images: [], classes: [{ id: 1, name: 'object' }], current: null, activeClass: 1, next: { image: 1, box: 1, class: 2 } };
}

export const imageOf = (ds, id) => ds.images.find((im) => im.id === id) ?? null;
export const currentImage = (ds) => imageOf(ds, ds.current);
export const classOf = (ds, id) => ds.classes.find((c) => c.id === id) ?? null;

/** How many boxes use class `classId`. */
export function boxesOfClass(ds, classId) {
  return ds.images.reduce((n, im) => n + im.boxes.filter((b) => b.classId === classId).length, 0);
}

/** Adds photos [{name, width, height, boxes: [{bbox, classId}]}]; returns {ds, ids}. The first added becomes current. */
export function addImages(ds, photos) {
  let { image, box } = ds.next;
  const added = photos.map((p) => ({
    id: image++,
    name: p.name,
    width: p.width,
    height: p.height,
    boxes: (p.boxes ?? []).map((b) => ({ id: box++, bbox: b.bbox, classId: b.classId })),
  }));
  const current = added.length ? added[0].id : ds.current;
  return { ds: { ...ds, images: [...ds.images, ...added], current, next: { ...ds.next, image, box } }, ids: added.map((im) => im.id) };
}

/** Removes a photo; the next one (or the previous, at the end) becomes current. */
export function removeImage(ds, id) {
  const index = ds.images.findIndex((im) => im.id === id);
  if (index < 0) return ds;
  const images = ds.images.filter((im) => im.id !== id);
  const current = ds.current === id ? (images[Math.min(index, images.length - 1)]?.id ?? null) : ds.current;
  return { ...ds, images, current };
}

/** The photo `delta` steps from the current one (stops at the ends). */
export function step(ds, delta) {
  if (!ds.images.length) return ds;
  const index = ds.images.findIndex((im) => im.id === ds.current);
  const next = ds.images[Math.min(ds.images.length - 1, Math.max(0, index + delta))];
  return { ...ds, current: next.id };
}

/** The ids of the classes named `names`, adding the missing ones; returns {ds, ids: Map name -> id}. */
export function ensureClasses(ds, names) {
  const classes = [...ds.classes];
  let next = ds.next.class;
  const ids = new Map();
  for (const name of names) {
    let c = classes.find((k) => k.name === name);
    if (!c) classes.push((c = { id: next++, name }));
    ids.set(name, c.id);
  }
  return { ds: { ...ds, classes, next: { ...ds.next, class: next } }, ids };
}

// --- edits: commands that can be undone ------------------------------------------------------
//
// {type: 'addBox', imageId, box, index?}      {type: 'deleteBox', imageId, box, index}
// {type: 'changeBox', imageId, before, after, merge?} (before and after are the same box, by id)
// {type: 'addClass', cls, index?}             {type: 'deleteClass', cls, index}
// {type: 'renameClass', id, from, to}

/** A command adding a box of class `classId`, with the dataset's next box id. */
export function newBox(ds, imageId, bbox, classId) {
  return { type: 'addBox', imageId, box: { id: ds.next.box, bbox, classId } };
}

/** A command adding a class named `name` (trimmed); null if the name is empty or taken. */
export function newClass(ds, name) {
  const trimmed = name.trim();
  if (!trimmed || ds.classes.some((c) => c.name === trimmed)) return null;
  return { type: 'addClass', cls: { id: ds.next.class, name: trimmed } };
}

/** A command deleting box `boxId` of photo `imageId`. */
export function deleteBox(ds, imageId, boxId) {
  const boxes = imageOf(ds, imageId).boxes;
  const index = boxes.findIndex((b) => b.id === boxId);
  return { type: 'deleteBox', imageId, box: boxes[index], index };
}

/** A command deleting class `id`; the caller checks that no box uses it. */
export function deleteClass(ds, id) {
  const index = ds.classes.findIndex((c) => c.id === id);
  return { type: 'deleteClass', cls: ds.classes[index], index };
}

function insertAt(list, index, item) {
  const at = index ?? list.length;
  return [...list.slice(0, at), item, ...list.slice(at)];
}

function withBoxes(ds, imageId, change) {
  return { ...ds, images: ds.images.map((im) => (im.id === imageId ? { ...im, boxes: change(im.boxes) } : im)) };
}

/** The dataset after `cmd`. */
export function apply(ds, cmd) {
  switch (cmd.type) {
    case 'addBox': {
      const next = { ...ds.next, box: Math.max(ds.next.box, cmd.box.id + 1) };
      return { ...withBoxes(ds, cmd.imageId, (boxes) => insertAt(boxes, cmd.index, cmd.box)), next };
    }
    case 'deleteBox':
      return withBoxes(ds, cmd.imageId, (boxes) => boxes.filter((b) => b.id !== cmd.box.id));
    case 'changeBox':
      return withBoxes(ds, cmd.imageId, (boxes) => boxes.map((b) => (b.id === cmd.after.id ? cmd.after : b)));
    case 'addClass': {
      const next = { ...ds.next, class: Math.max(ds.next.class, cmd.cls.id + 1) };
      return { ...ds, classes: insertAt(ds.classes, cmd.index, cmd.cls), next };
    }
    case 'deleteClass': {
      const classes = ds.classes.filter((c) => c.id !== cmd.cls.id);
      const activeClass = ds.activeClass === cmd.cls.id ? (classes[0]?.id ?? null) : ds.activeClass;
      return { ...ds, classes, activeClass };
    }
    case 'renameClass':
      return { ...ds, classes: ds.classes.map((c) => (c.id === cmd.id ? { ...c, name: cmd.to } : c)) };
    default:
      throw new Error(`unknown dataset command ${cmd.type}`);
  }
}

/** The command that undoes `cmd`. */
export function inverse(cmd) {
  switch (cmd.type) {
    case 'addBox':
      return { type: 'deleteBox', imageId: cmd.imageId, box: cmd.box, index: cmd.index };
    case 'deleteBox':
      return { type: 'addBox', imageId: cmd.imageId, box: cmd.box, index: cmd.index };
    case 'changeBox':
      return { type: 'changeBox', imageId: cmd.imageId, before: cmd.after, after: cmd.before };
    case 'addClass':
      return { type: 'deleteClass', cls: cmd.cls, index: cmd.index };
    case 'deleteClass':
      return { type: 'addClass', cls: cmd.cls, index: cmd.index };
    case 'renameClass':
      return { type: 'renameClass', id: cmd.id, from: cmd.to, to: cmd.from };
    default:
      throw new Error(`unknown dataset command ${cmd.type}`);
  }
}

// --- history ---------------------------------------------------------------------------------

export const emptyHistory = () => ({ done: [], undone: [] });

/**
 * Runs `cmd` and records it: returns {ds, history}. A changeBox with a `merge` tag (say 'nudge')
 * right after one with the same tag and box joins it, so a run of arrow-key nudges undoes at once.
 */
export function perform(ds, history, cmd) {
  const last = history.done.at(-1);
  const joins = cmd.type === 'changeBox' && cmd.merge && last?.type === 'changeBox' && last.merge === cmd.merge && last.after.id === cmd.after.id && last.imageId === cmd.imageId;
  const entry = joins ? { ...cmd, before: last.before } : cmd;
  const done = [...(joins ? history.done.slice(0, -1) : history.done), entry].slice(-HISTORY_LIMIT);
  return { ds: apply(ds, cmd), history: { done, undone: [] } };
}

/** Undoes the last command: {ds, history, cmd} (cmd: the one undone), or null if there is none. */
export function undo(ds, history) {
  const cmd = history.done.at(-1);
  if (!cmd) return null;
  return { ds: apply(ds, inverse(cmd)), history: { done: history.done.slice(0, -1), undone: [...history.undone, cmd] }, cmd };
}

/** Redoes the last undone command: {ds, history, cmd}, or null if there is none. */
export function redo(ds, history) {
  const cmd = history.undone.at(-1);
  if (!cmd) return null;
  return { ds: apply(ds, cmd), history: { done: [...history.done, cmd], undone: history.undone.slice(0, -1) }, cmd };
}

/** The history without the commands of photo `imageId` (after it was removed). */
export function forgetImage(history, imageId) {
  const keep = (cmd) => cmd.imageId !== imageId;
  return { done: history.done.filter(keep), undone: history.undone.filter(keep) };
}

/** A copy for tests and the console: photos with their boxes, classes, current photo and active class. */
export function snapshot(ds) {
  return {
    images: ds.images.map((im) => ({ id: im.id, name: im.name, width: im.width, height: im.height, boxes: im.boxes.map((b) => ({ id: b.id, bbox: [...b.bbox], classId: b.classId })) })),
    classes: ds.classes.map((c) => ({ id: c.id, name: c.name })),
    current: ds.current,
    activeClass: ds.activeClass,
  };
}
