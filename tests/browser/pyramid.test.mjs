// "What the feature pyramid sees" (the dataset section's Balanced Feature Pyramid view): the maps
// of a photo computed in the page's detector (CPU backend) and compared with the native CLI for
// the channel energy and for one channel; the non-local block's attention at a clicked photo
// pixel and at a clicked cell of the refined map, against the native CLI; no photo gives a
// message and no request; a failing detector gives a message and the card stays usable; a model
// without a non-local block gets the reason in the card.
// The page contract used: #dataset-add, #pyramid*, #message, window.libraApp and
// window.libraDataset (pyramidView).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, onNewPage, waitForMessage, clearMessage, nativePyramid, nativeAttention, ARTIFACTS, SAMPLES, LOAD_MS, DETECT_MS, TEST_TIMEOUT } from './harness.mjs';

const PHOTO = 'scene_0000.png';
const CHANNEL = 5;
// Inside its first object (web/samples/annotations.json: [88, 71, 272, 213] as x1, y1, x2, y2).
const CLICK = [150, 120];
// The default model (browser preset): 320 px input, P2..P6 at strides 4..64, the BFP at P4.
const INPUT = 320;
const LEVELS = ['P2', 'P3', 'P4', 'P5', 'P6'];
const STRIDES = [4, 8, 16, 32, 64];
const REFINE_LEVEL = 2;

let server;
let browser;
before(async () => { server = await startServer(); browser = await launch({ webgpu: false }); });
after(async () => { await browser?.close(); server?.stop(); });

const pyramidState = (page) => page.evaluate(() => window.libraDataset.pyramidView);
const calls = (page) => page.evaluate(() => ({ ...window.pyramidCalls }));
const key = (m) => `${m.stage}/${m.name}`;

/** Waits until the card has finished its work (state done or error) and returns window.libraDataset.pyramidView. */
async function settled(page) {
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('pyramid').dataset.pyramidState), null, { timeout: LOAD_MS + DETECT_MS, polling: 250 });
  return pyramidState(page);
}

/** Asserts the maps' names, order, strides and sizes for the default model, and values in [0, 1]. */
function assertLayout(view, channel) {
  assert.equal(view.input_size, INPUT);
  assert.equal(view.channel, channel < 0 ? null : channel);
  assert.equal(view.refine, 'non_local', 'the default model refines the BFP with a non-local block');
  assert.equal(view.refine_level, REFINE_LEVEL);
  assert.ok(view.channels > CHANNEL, `${view.channels} channels`);
  const size = (k) => INPUT / STRIDES[k];
  const expected = [
    ...LEVELS.map((name, k) => ['fpn', name, STRIDES[k], size(k)]),
    ['bfp', 'integrated', STRIDES[REFINE_LEVEL], size(REFINE_LEVEL)],
    ['bfp', 'refined', STRIDES[REFINE_LEVEL], size(REFINE_LEVEL)],
    ...LEVELS.map((name, k) => ['balanced', name, STRIDES[k], size(k)]),
  ];
  assert.deepEqual(view.maps.map((m) => [m.stage, m.name, m.stride, m.width]), expected, 'maps: stage, name, stride, width');
  for (const m of view.maps) {
    assert.equal(m.height, m.width, `${key(m)}: square`);
    assert.equal(m.values.length, m.width * m.height, `${key(m)}: one value per cell`);
    const bad = m.values.findIndex((v) => !(v >= 0 && v <= 1));
    assert.equal(bad, -1, `${key(m)}: value ${bad} = ${m.values[bad]} is outside [0, 1]`);
    assert.ok(m.min <= m.max, `${key(m)}: min ${m.min} > max ${m.max}`);
  }
}

/** Asserts page and native views are the same: fields, maps in order, values within 1e-3, min/max within 1e-3 of the map's magnitude. */
function assertSameView(view, native, label) {
  for (const field of ['input_size', 'channels', 'channel', 'refine_level', 'refine']) assert.equal(view[field], native[field], `${label}: ${field}`);
  for (const field of ['scale', 'pad_x', 'pad_y']) assert.ok(Math.abs(view.letterbox[field] - native.letterbox[field]) <= 1e-6, `${label}: letterbox.${field}`);
  assert.deepEqual(view.maps.map(key), native.maps.map(key), `${label}: maps`);
  view.maps.forEach((m, i) => {
    const n = native.maps[i];
    assert.deepEqual([m.stride, m.width, m.height], [n.stride, n.width, n.height], `${label} ${key(m)}: stride and size`);
    const bad = m.values.findIndex((v, k) => !(Math.abs(v - n.values[k]) <= 1e-3));
    assert.equal(bad, -1, `${label} ${key(m)}: value ${bad} page ${m.values[bad]}, native ${n.values[bad]}`);
    const tol = 1e-3 * Math.max(Math.abs(n.min), Math.abs(n.max));
    assert.ok(Math.abs(m.min - n.min) <= tol && Math.abs(m.max - n.max) <= tol, `${label} ${key(m)}: min/max page ${m.min}/${m.max}, native ${n.min}/${n.max}`);
  });
}

/** Asserts the page's attention JSON is the native one (same grid and cell, weights within 1e-4) and sums to 1. */
function assertSameAttention(att, native, label) {
  assert.deepEqual([att.stride, att.width, att.height], [native.stride, native.width, native.height], `${label}: grid`);
  assert.deepEqual(att.cell, native.cell, `${label}: cell`);
  assert.equal(att.values.length, att.width * att.height, `${label}: one weight per cell`);
  const bad = att.values.findIndex((v, k) => !(Math.abs(v - native.values[k]) <= 1e-4));
  assert.equal(bad, -1, `${label}: weight ${bad} page ${att.values[bad]}, native ${native.values[bad]}`);
  const sum = att.values.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) <= 1e-3, `${label}: the weights sum to ${sum}`);
  assert.ok(Math.abs(att.max - Math.max(...att.values)) <= 1e-6, `${label}: max ${att.max}`);
}

/** Client coordinates of the centre of photo pixel (x, y) on #pyramid-photo (the network input square). */
async function photoToClient(page, view, [x, y]) {
  await page.locator('#pyramid-photo').scrollIntoViewIfNeeded();
  const r = await page.evaluate(() => document.getElementById('pyramid-photo').getBoundingClientRect().toJSON());
  const { scale, pad_x: px, pad_y: py } = view.letterbox;
  return [r.left + (((x + 0.5) * scale + px) * r.width) / view.input_size, r.top + (((y + 0.5) * scale + py) * r.height) / view.input_size];
}

/** Client coordinates of the centre of cell (cx, cy) on the map canvas `mapKey`. */
async function cellToClient(page, mapKey, m, [cx, cy]) {
  const canvas = page.locator(`#pyramid canvas[data-map="${mapKey}"]`);
  await canvas.scrollIntoViewIfNeeded();
  const r = await canvas.evaluate((c) => c.getBoundingClientRect().toJSON());
  return [r.left + ((cx + 0.5) * r.width) / m.width, r.top + ((cy + 0.5) * r.height) / m.height];
}

const photoPixels = (page) => page.evaluate(() => document.getElementById('pyramid-photo').toDataURL());

test('pyramid view: page = native CLI (energy, channel 5, attention); no photo, failures and no non-local block: messages', { timeout: TEST_TIMEOUT }, async () => {
  await onNewPage(browser, `${server.url}?backend=cpu`, 'pyramid', async (page) => {
    await page.waitForSelector('#dataset[data-dataset-ready="1"]', { timeout: 60_000 });
    // Count the requests to the detector.
    await page.evaluate(() => {
      const app = window.libraApp;
      window.pyramidCalls = { pyramid: 0, attention: 0 };
      for (const [name, field] of [['pyramidView', 'pyramid'], ['attentionMap', 'attention']]) {
        const run = app[name];
        app[name] = (...args) => {
          window.pyramidCalls[field]++;
          return run(...args);
        };
      }
    });
    assert.equal(await page.getAttribute('#pyramid', 'data-pyramid-state'), 'idle');

    // No photo: the button is disabled and Enter in the channel picker gets a message, no request.
    assert.ok(await page.isDisabled('#pyramid-show'), 'no photo: the button is disabled');
    assert.match(await page.textContent('#pyramid-status'), /Add a photo/);
    await clearMessage(page);
    await page.locator('#pyramid-channel').press('Enter');
    assert.match(await waitForMessage(page, /photo/), /Add a photo/);
    assert.deepEqual(await calls(page), { pyramid: 0, attention: 0 }, 'no request without a photo');
    assert.equal(await page.getAttribute('#pyramid', 'data-pyramid-state'), 'idle');

    // A photo (no boxes needed): the energy maps.
    await page.setInputFiles('#dataset-add', { name: PHOTO, mimeType: 'image/png', buffer: readFileSync(join(SAMPLES, PHOTO)) });
    await page.waitForFunction(() => window.libraDataset.images.length === 1 && window.libraDataset.pictureReady, null, { timeout: 30_000 });
    assert.ok(!(await page.isDisabled('#pyramid-show')), 'a photo: the button is enabled');
    await clearMessage(page);
    await page.click('#pyramid-show');
    let state = await settled(page);
    assert.equal(state.state, 'done', `the pyramid view failed: ${await page.textContent('#message')}`);
    assert.deepEqual(await calls(page), { pyramid: 1, attention: 0 });
    assert.doesNotMatch(await page.textContent('#message'), /feature pyramid/, 'no failure message after a good run');
    assert.equal(state.imageId, await page.evaluate(() => window.libraDataset.current));
    assert.equal(state.channel, -1);
    assert.equal(state.attention, null);
    const energy = state.view;
    assertLayout(energy, -1);
    assert.deepEqual(state.drawn.maps, energy.maps.map(key), 'every map drawn, in order');
    assert.deepEqual(await page.$$eval('#pyramid-rows canvas', (cs) => cs.map((c) => c.dataset.map)), energy.maps.map(key), 'the canvases, row by row');
    assert.equal(await page.$$eval('#pyramid-rows h3', (hs) => hs.length), 3, 'three labelled rows');
    assert.deepEqual(await page.$$eval('#pyramid-rows figcaption', (fs) => fs.slice(0, 2).map((f) => f.textContent)), ['P2 · 80×80 · stride 4', 'P3 · 40×40 · stride 8']);
    assert.ok(!(await page.isHidden('#pyramid-photo')), 'the photo is shown');
    const options = await page.$$eval('#pyramid-channel option', (os) => os.map((o) => o.value));
    assert.equal(options.length, energy.channels + 1, 'energy and every channel can be picked');
    await page.locator('#pyramid').screenshot({ path: join(ARTIFACTS, 'pyramid-view.png') });
    assertSameView(energy, await nativePyramid(join(SAMPLES, PHOTO), -1), 'energy');

    // Channel 5: recomputed on change, different maps, the native channel 5.
    await page.selectOption('#pyramid-channel', String(CHANNEL));
    state = await settled(page);
    assert.equal(state.state, 'done', `channel ${CHANNEL} failed: ${await page.textContent('#message')}`);
    assert.deepEqual(await calls(page), { pyramid: 2, attention: 0 }, 'a new channel recomputes');
    assert.equal(state.channel, CHANNEL);
    const one = state.view;
    assertLayout(one, CHANNEL);
    assert.ok(one.maps.some((m, i) => m.values.some((v, k) => Math.abs(v - energy.maps[i].values[k]) > 1e-3)), 'one channel gives other maps than the energy');
    assertSameView(one, await nativePyramid(join(SAMPLES, PHOTO), CHANNEL), `channel ${CHANNEL}`);

    // A click on the photo over the first object: the attention there, as native, drawn over the photo.
    const before = await photoPixels(page);
    await page.mouse.click(...(await photoToClient(page, one, CLICK)));
    state = await settled(page);
    assert.equal(state.state, 'done', `the attention failed: ${await page.textContent('#message')}`);
    assert.deepEqual(await calls(page), { pyramid: 2, attention: 1 });
    assert.ok(state.attention, 'an attention map');
    assert.ok(state.point.every((v, k) => Math.abs(v - CLICK[k]) <= 1), `clicked photo pixel ${state.point}, expected about ${CLICK}`);
    const { scale, pad_x: px, pad_y: py } = one.letterbox;
    const stride = STRIDES[REFINE_LEVEL];
    assert.deepEqual(state.attention.cell, [Math.floor((state.point[0] * scale + px) / stride), Math.floor((state.point[1] * scale + py) / stride)], 'the cell of the clicked pixel');
    assertSameAttention(state.attention, await nativeAttention(join(SAMPLES, PHOTO), ...state.point), `attention at (${state.point})`);
    assert.notEqual(await photoPixels(page), before, 'the attention is drawn over the photo');
    assert.match(await page.textContent('#pyramid-attention'), /gathers information from/);
    assert.deepEqual(state.view, one, 'a click keeps the maps');
    await page.locator('#pyramid').screenshot({ path: join(ARTIFACTS, 'pyramid-attention.png') });

    // A click on a cell of the refined map: the attention of that cell.
    const refined = one.maps.find((m) => key(m) === 'bfp/refined');
    const cell = [3, 14];
    await page.mouse.click(...(await cellToClient(page, 'bfp/refined', refined, cell)));
    state = await settled(page);
    assert.equal(state.state, 'done', `the attention of a map cell failed: ${await page.textContent('#message')}`);
    assert.deepEqual(await calls(page), { pyramid: 2, attention: 2 });
    assert.deepEqual(state.attention.cell, cell, 'the clicked cell of the refined map');
    assertSameAttention(state.attention, await nativeAttention(join(SAMPLES, PHOTO), ...state.point), `attention at cell (${cell})`);

    // A failing detector: a message, the maps stay, the card stays usable.
    await page.evaluate(() => {
      const app = window.libraApp;
      window.realPyramidView = app.pyramidView;
      app.pyramidView = () => Promise.reject(new Error('simulated failure'));
    });
    await clearMessage(page);
    await page.selectOption('#pyramid-channel', '-1');
    state = await settled(page);
    assert.equal(state.state, 'error');
    assert.match(await waitForMessage(page, /simulated failure/), /feature pyramid.*could not be shown for scene_0000\.png/);
    assert.equal(state.channel, CHANNEL, 'the last result stays');
    assert.equal(await page.inputValue('#pyramid-channel'), String(CHANNEL), 'the picker names the maps shown');
    assert.ok(!(await page.isDisabled('#pyramid-show')) && !(await page.isDisabled('#pyramid-channel')), 'the card stays usable');

    // A model whose BFP is not refined by a non-local block: the attention's refusal is said in the card.
    await page.evaluate(() => {
      const app = window.libraApp;
      const run = window.realPyramidView;
      app.pyramidView = async (...args) => ({ ...(await run(...args)), refine: 'conv' });
      app.attentionMap = () => Promise.reject(new Error('the BFP of this model is refined by a convolution, not a non-local block'));
    });
    await clearMessage(page);
    await page.selectOption('#pyramid-channel', '-1');
    state = await settled(page);
    assert.equal(state.state, 'done', `the view failed: ${await page.textContent('#message')}`);
    assert.equal(state.channel, -1);
    assert.match(await page.textContent('#pyramid-attention'), /has no non-local block/);
    await page.mouse.click(...(await photoToClient(page, state.view, CLICK)));
    state = await settled(page);
    assert.equal(state.state, 'done', 'no attention is not a failure of the page');
    assert.equal(state.attention, null);
    assert.match(await page.textContent('#pyramid-attention'), /No attention to show for .*refined by a convolution, not a non-local block/);
    assert.equal((await page.textContent('#message')).trim(), '', 'no page message');
  });
});
