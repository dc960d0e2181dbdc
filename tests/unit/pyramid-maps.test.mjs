// The feature pyramid view's data (web/teach/pyramid-maps.js): the viridis colours, photo pixels
// to map cells and back through a hand-computed letterbox, and the rows of the view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VIRIDIS, cellPhotoPixel, cellToPhoto, channelOptions, inputToPhoto, mapKey, mapLabel, mapRgba, overlayRgba, photoPixel, photoRegion, photoToCell, photoToInput, rowsOf, stageMaps, viridis, viridisCss } from '../../web/teach/pyramid-maps.js';

// A 640x480 photo letterboxed into a 320 input: scale 0.5, 320x240 of it, 40 px above and below.
const LB = { scale: 0.5, pad_x: 0, pad_y: 40 };
const P4 = { stride: 16, width: 20, height: 20 };

const map = (name, stage, stride, size) => ({ name, stage, stride, width: size, height: size, values: new Array(size * size).fill(0), min: 0, max: 1 });
const FPN = ['P2', 'P3', 'P4', 'P5', 'P6'].map((n, k) => map(n, 'fpn', 4 * 2 ** k, 80 / 2 ** k));
const VIEW = {
  input_size: 320, channels: 64, channel: null, refine_level: 2, refine: 'non_local', letterbox: LB,
  maps: [...FPN, map('integrated', 'bfp', 16, 20), map('refined', 'bfp', 16, 20), ...FPN.map((m) => ({ ...m, stage: 'balanced' }))],
};

test('viridis: dark blue at 0, yellow at 1, clamped outside, NaN as 0, between two stops in the middle', () => {
  assert.deepEqual(viridis(0), [68, 1, 84]);
  assert.deepEqual(viridis(1), [253, 231, 37]);
  assert.deepEqual(viridis(-3), viridis(0));
  assert.deepEqual(viridis(7), viridis(1));
  assert.deepEqual(viridis(NaN), viridis(0));
  assert.deepEqual(viridis(0.5), VIRIDIS[4]);
  assert.deepEqual(viridis(1 / 16), [70, 23, 104]); // halfway between the first two stops
  const light = (v) => viridis(v).reduce((a, b) => a + b, 0);
  for (let k = 1; k <= 10; k++) assert.ok(light(k / 10) > light((k - 1) / 10), `brighter at ${k / 10}`);
  assert.match(viridisCss(), /^linear-gradient\(to right, rgb\(68, 1, 84\) 0%, .* rgb\(253, 231, 37\) 100%\)$/);
});

test('maps become opaque RGBA cells; attention becomes an overlay whose alpha rises with the weight', () => {
  const rgba = mapRgba([0, 1]);
  assert.deepEqual([...rgba], [68, 1, 84, 255, 253, 231, 37, 255]);
  const over = overlayRgba([0, 0.1, 0.2], 0.2, 0.8);
  assert.equal(over.length, 12);
  assert.deepEqual([over[3], over[7], over[11]], [0, 102, 204]);
  assert.deepEqual([...over.slice(8, 11)], viridis(1));
  assert.deepEqual([...overlayRgba([0.5], 0)], [...viridis(0), 0], 'no weight: transparent');
});

test('photo pixels to input pixels and cells through the letterbox (640x480 into 320, stride 16)', () => {
  assert.deepEqual(photoToInput(LB, 100, 100), [50, 90]);
  assert.deepEqual(inputToPhoto(LB, 50, 90), [100, 100]);
  assert.deepEqual(photoToCell(LB, P4, 100, 100), [3, 5]);
  assert.deepEqual(photoToCell(LB, P4, 0, 0), [0, 2]); // input (0, 40): below the padding rows
  assert.deepEqual(photoToCell(LB, P4, 639, 479), [19, 17]); // input (319.5, 279.5)
  assert.deepEqual(photoToCell(LB, P4, 5000, -50), [19, 0], 'clamped to the map');
  assert.deepEqual(photoToCell(LB, { stride: 4, width: 80, height: 80 }, 100, 100), [12, 22]);
});

test('cells back to photo rectangles and pixels, onto the photo from the padding', () => {
  assert.deepEqual(cellToPhoto(LB, 16, 3, 5), [96, 80, 128, 112]);
  assert.deepEqual(cellPhotoPixel(LB, 16, 3, 5, 640, 480), [112, 96]);
  assert.deepEqual(photoToCell(LB, P4, ...cellPhotoPixel(LB, 16, 3, 5, 640, 480)), [3, 5], 'round trip');
  assert.deepEqual(cellPhotoPixel(LB, 16, 0, 0, 640, 480), [16, 0], 'a padding cell: the nearest photo row');
  assert.deepEqual(cellPhotoPixel(LB, 16, 19, 19, 640, 480), [624, 479]);
  assert.deepEqual(photoPixel(-0.5, 479.9, 640, 480), [0, 479]);
  assert.deepEqual(photoRegion(LB, 640, 480), [0, 40, 320, 240]);
});

test('rows: FPN, BFP and balanced maps in order; the FPN alone without a BFP', () => {
  const rows = rowsOf(VIEW);
  assert.deepEqual(rows.map((r) => r.stage), ['fpn', 'bfp', 'balanced']);
  assert.deepEqual(rows.map((r) => r.maps.map(mapKey)), [
    ['fpn/P2', 'fpn/P3', 'fpn/P4', 'fpn/P5', 'fpn/P6'],
    ['bfp/integrated', 'bfp/refined'],
    ['balanced/P2', 'balanced/P3', 'balanced/P4', 'balanced/P5', 'balanced/P6'],
  ]);
  assert.deepEqual(stageMaps(VIEW, 'bfp').map((m) => m.width), [20, 20]);
  assert.deepEqual(rowsOf({ ...VIEW, refine: 'off', maps: FPN }).map((r) => r.stage), ['fpn']);
  assert.equal(mapLabel(FPN[0]), 'P2 · 80×80 · stride 4');
  assert.equal(mapLabel(FPN[4]), 'P6 · 5×5 · stride 64');
});

test('channel options: energy first, then every channel', () => {
  const options = channelOptions(3);
  assert.deepEqual(options.map((o) => o.value), [-1, 0, 1, 2]);
  assert.equal(options[0].label, 'Energy (all channels)');
  assert.equal(options[3].label, 'Channel 2');
});
