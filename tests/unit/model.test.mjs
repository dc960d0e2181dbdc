// The dataset state (web/dataset/model.js): box and class edits, undo/redo, photos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as M from '../../web/dataset/model.js';

function withPhoto() {
  return M.addImages(M.emptyDataset(), [{ name: 'a.jpg', width: 100, height: 80 }]).ds;
}

test('undo and redo walk the command stack; a new edit drops the redo side', () => {
  let ds = withPhoto();
  let h = M.emptyHistory();
  const add = M.newBox(ds, 1, [10, 20, 50, 60], 1);
  ({ ds, history: h } = M.perform(ds, h, add));
  const box = ds.images[0].boxes[0];
  assert.deepEqual(box, { id: 1, bbox: [10, 20, 50, 60], classId: 1 });
  ({ ds, history: h } = M.perform(ds, h, { type: 'changeBox', imageId: 1, before: box, after: { ...box, bbox: [12, 20, 52, 60] } }));
  ({ ds, history: h } = M.perform(ds, h, M.deleteBox(ds, 1, 1)));
  assert.deepEqual(ds.images[0].boxes, []);

  let r = M.undo(ds, h); // the delete
  assert.deepEqual(r.ds.images[0].boxes[0].bbox, [12, 20, 52, 60]);
  r = M.undo(r.ds, r.history); // the move
  assert.deepEqual(r.ds.images[0].boxes[0].bbox, [10, 20, 50, 60]);
  r = M.undo(r.ds, r.history); // the add
  assert.deepEqual(r.ds.images[0].boxes, []);
  assert.equal(M.undo(r.ds, r.history), null);

  r = M.redo(r.ds, r.history);
  r = M.redo(r.ds, r.history);
  assert.deepEqual(r.ds.images[0].boxes[0].bbox, [12, 20, 52, 60]);
  const after = M.perform(r.ds, r.history, M.newBox(r.ds, 1, [0, 0, 5, 5], 1));
  assert.equal(after.history.undone.length, 0, 'a new edit clears redo');
  assert.equal(M.redo(after.ds, after.history), null);
  assert.deepEqual(after.ds.images[0].boxes.map((b) => b.id), [1, 2], 'ids are not reused after undo');
});

test('nudges of one box join into one undo step', () => {
  let ds = withPhoto();
  let h = M.emptyHistory();
  ({ ds, history: h } = M.perform(ds, h, M.newBox(ds, 1, [10, 10, 20, 20], 1)));
  for (let i = 0; i < 3; i++) {
    const b = ds.images[0].boxes[0];
    ({ ds, history: h } = M.perform(ds, h, { type: 'changeBox', imageId: 1, before: b, after: { ...b, bbox: b.bbox.map((v) => v + 1) }, merge: 'nudge' }));
  }
  assert.deepEqual(ds.images[0].boxes[0].bbox, [13, 13, 23, 23]);
  assert.equal(h.done.length, 2);
  assert.deepEqual(M.undo(ds, h).ds.images[0].boxes[0].bbox, [10, 10, 20, 20]);
});

test('classes: add, rename (boxes keep pointing to it), delete, undo', () => {
  let ds = withPhoto();
  let h = M.emptyHistory();
  const add = M.newClass(ds, '  cat ');
  assert.deepEqual(add.cls, { id: 2, name: 'cat' });
  assert.equal(M.newClass(ds, 'object'), null, 'names are unique');
  assert.equal(M.newClass(ds, '   '), null);
  ({ ds, history: h } = M.perform(ds, h, add));
  ({ ds, history: h } = M.perform(ds, h, M.newBox(ds, 1, [1, 1, 9, 9], 2)));
  ({ ds, history: h } = M.perform(ds, h, { type: 'renameClass', id: 2, from: 'cat', to: 'kitten' }));
  assert.equal(M.classOf(ds, ds.images[0].boxes[0].classId).name, 'kitten');
  assert.equal(M.boxesOfClass(ds, 2), 1);
  ds = { ...ds, activeClass: 2 };
  const del = M.perform(ds, h, M.deleteClass(ds, 2)); // the caller checks boxesOfClass first
  assert.deepEqual(del.ds.classes.map((c) => c.name), ['object']);
  assert.equal(del.ds.activeClass, 1, 'the active class falls back to the first');
  assert.deepEqual(M.undo(del.ds, del.history).ds.classes, [{ id: 1, name: 'object' }, { id: 2, name: 'kitten' }]);
});

test('photos: adding makes the first current, stepping stops at the ends, removing moves on', () => {
  const { ds, ids } = M.addImages(M.emptyDataset(), [{ name: 'a', width: 1, height: 1 }, { name: 'b', width: 1, height: 1 }, { name: 'c', width: 1, height: 1 }]);
  assert.deepEqual(ids, [1, 2, 3]);
  assert.equal(ds.current, 1);
  assert.equal(M.step(ds, -1).current, 1);
  assert.equal(M.step(M.step(ds, 1), 5).current, 3);
  assert.equal(M.removeImage(ds, 1).current, 2);
  assert.equal(M.removeImage({ ...ds, current: 3 }, 3).current, 2);
  const classes = M.ensureClasses(ds, ['object', 'dog']);
  assert.deepEqual([...classes.ids], [['object', 1], ['dog', 2]]);
  assert.deepEqual(M.forgetImage({ done: [{ imageId: 1 }, { type: 'addClass' }], undone: [{ imageId: 2 }] }, 1), { done: [{ type: 'addClass' }], undone: [{ imageId: 2 }] });
});
