// The dataset editor's box geometry (web/dataset/geometry.js): clipping, the 2-px rule, handles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clip, clipAll, dragBox, fitBox, hitTest, nudgeBox, toImagePoint, tooSmall } from '../../web/dataset/geometry.js';

test('a box dragged partly outside the image is clipped to it', () => {
  assert.deepEqual(clip([-10, 20, 50, 130], 100, 80), [0, 20, 50, 80]);
  assert.deepEqual(fitBox([90.4, 70.6, 130, -5], 100, 80), { bbox: [90, 0, 100, 71], clipped: true });
  assert.deepEqual(fitBox([10.2, 20.7, 50.5, 60.1], 100, 80), { bbox: [10, 21, 51, 60], clipped: false });
});

test('boxes under 2 px on a side are too small', () => {
  assert.equal(tooSmall([10, 10, 11, 40]), true); // 1 px wide
  assert.equal(tooSmall([10, 10, 40, 11.5]), true);
  assert.equal(tooSmall([10, 10, 12, 12]), false); // exactly 2 px
  // Entirely outside: clipping leaves nothing.
  assert.equal(tooSmall(fitBox([120, 10, 150, 40], 100, 80).bbox), true);
});

test('imported boxes: clipped ones and empty ones are counted', () => {
  const r = clipAll([{ bbox: [5, 5, 20, 20] }, { bbox: [90, 70, 110, 90] }, { bbox: [200, 0, 210, 10] }], 100, 80);
  assert.deepEqual(r.boxes.map((b) => b.bbox), [[5, 5, 20, 20], [90, 70, 100, 80]]);
  assert.equal(r.clipped, 1);
  assert.equal(r.dropped, 1);
});

test('hit-testing: the selected box has handles; otherwise the smallest box under the point moves', () => {
  const boxes = [{ id: 1, bbox: [10, 10, 90, 90] }, { id: 2, bbox: [40, 40, 60, 60] }];
  assert.deepEqual(hitTest(boxes, 11, 89, 1, 3), { id: 1, part: 'sw' });
  assert.deepEqual(hitTest(boxes, 50, 11, 1, 3), { id: 1, part: 'n' });
  assert.deepEqual(hitTest(boxes, 89, 50, 1, 3), { id: 1, part: 'e' });
  assert.deepEqual(hitTest(boxes, 11, 89, null, 3), { id: 1, part: 'move' }); // unselected: no handles
  assert.deepEqual(hitTest(boxes, 50, 50, 1, 3), { id: 2, part: 'move' }); // the inner box wins
  assert.deepEqual(hitTest(boxes, 20, 20, 2, 3), { id: 1, part: 'move' });
  assert.equal(hitTest(boxes, 95, 50, null, 3), null);
});

test('dragging handles moves their edges; moving shifts the box; nudges stop at the edges', () => {
  assert.deepEqual(dragBox([10, 20, 50, 60], 'se', 5, -5), [10, 20, 55, 55]);
  assert.deepEqual(dragBox([10, 20, 50, 60], 'w', -3, 100), [7, 20, 50, 60]);
  assert.deepEqual(dragBox([10, 20, 50, 60], 'move', 5, 6), [15, 26, 55, 66]);
  assert.deepEqual(nudgeBox([10, 20, 50, 60], 10, -30, 55, 80), [15, 0, 55, 40]);
});

test('client coordinates become image pixels', () => {
  assert.deepEqual(toImagePoint(150, 75, { left: 100, top: 50, width: 200, height: 100 }, 400, 200), [100, 50]);
});
