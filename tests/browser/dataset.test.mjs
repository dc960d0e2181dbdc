// The dataset editor ("Your dataset"): photos added, boxes drawn, moved, clipped and refused with
// the mouse, classes created, assigned and renamed, everything kept across a reload, COCO export,
// clear, and the export imported again with its photos; broken files give messages.
// The page contract used: the #dataset-* ids, #message and window.libraDataset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startServer, launch, onNewPage, reload, waitForMessage, clearMessage, datasetPoint, dragOnDataset, SAMPLES, TEST_TIMEOUT,
} from './harness.mjs';

// 320 x 320 each; as buffers, since Playwright does not mix file paths with buffers in one call.
const PHOTOS = ['scene_0000.png', 'scene_0001.png'].map((name) => ({ name, mimeType: 'image/png', buffer: readFileSync(join(SAMPLES, name)) }));
const NEAR_PX = 2; // mouse positions land within this many image pixels

let server;
let browser;
before(async () => { server = await startServer(); browser = await launch({ webgpu: false }); });
after(async () => { await browser?.close(); server?.stop(); });

const dataset = (page) => page.evaluate(() => ({ images: window.libraDataset.images, classes: window.libraDataset.classes, current: window.libraDataset.current, activeClass: window.libraDataset.activeClass }));

async function waitFor(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: 30_000, polling: 100 });
  } catch (e) {
    throw new Error(`${what} did not happen within 30 s; dataset: ${JSON.stringify(await dataset(page))}`);
  }
}

/** Waits until the dataset section has loaded IndexedDB and the current photo (if any) is on the canvas. */
async function waitForDataset(page) {
  await page.waitForSelector('#dataset[data-dataset-ready="1"]', { timeout: 60_000 });
  await waitFor(page, 'the current photo showing', () => window.libraDataset.current === null || window.libraDataset.pictureReady);
}

async function click(page, point) {
  await page.mouse.click(...(await datasetPoint(page, point)));
}

async function boxesOf(page) {
  const d = await dataset(page);
  return d.images.find((i) => i.id === d.current).boxes;
}

function assertNear(actual, expected, label) {
  assert.ok(actual.length === 4 && actual.every((v, i) => Math.abs(v - expected[i]) <= NEAR_PX), `${label}: expected about [${expected}], got [${actual}]`);
}

/** The boxes as comparable rows: photo name, class name, box, sorted. */
function rows(d) {
  const name = new Map(d.classes.map((c) => [c.id, c.name]));
  return d.images.flatMap((im) => im.boxes.map((b) => `${im.name} ${name.get(b.classId)} [${b.bbox.join(', ')}]`)).sort();
}

test('dataset editor: draw, classes, reload, COCO export, clear and import, clipping, refusals', { timeout: TEST_TIMEOUT }, async () => {
  // Its own context: reloads keep its IndexedDB.
  // Drawing does not depend on the detector: the CPU backend keeps the machine free.
  await onNewPage(browser, `${server.url}?backend=cpu`, 'dataset', async (page) => {
    page.on('dialog', (d) => d.accept()); // "Clear dataset" asks first
    await waitForDataset(page);
    assert.equal((await dataset(page)).images.length, 0, 'a fresh profile starts with an empty dataset');

    // Photos, one of them not a picture: it is named and skipped.
    await page.setInputFiles('#dataset-add', [...PHOTOS, { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture\n') }]);
    await waitFor(page, 'two photos added', () => window.libraDataset.images.length === 2);
    assert.match(await waitForMessage(page, /notes\.txt/), /notes\.txt.*skipped/);
    await waitForDataset(page);
    let d = await dataset(page);
    assert.deepEqual(d.images.map((i) => [i.name, i.width, i.height]), [['scene_0000.png', 320, 320], ['scene_0001.png', 320, 320]]);
    assert.equal(d.current, d.images[0].id);

    // Two boxes on the first photo, in the starting class.
    await dragOnDataset(page, [40, 50], [120, 140]);
    await dragOnDataset(page, [150, 160], [260, 300]);
    let boxes = await boxesOf(page);
    assert.equal(boxes.length, 2, `two boxes drawn, got ${JSON.stringify(boxes)}`);
    assertNear(boxes[0].bbox, [40, 50, 120, 140], 'first box');
    assertNear(boxes[1].bbox, [150, 160, 260, 300], 'second box');
    const object = d.classes[0];
    assert.ok(boxes.every((b) => b.classId === object.id), 'new boxes get the active class');

    // A new class becomes active; key 2 gives it to the selected (clicked) box.
    await page.fill('#dataset-class-name', 'cat');
    await page.click('#dataset-class-add');
    d = await dataset(page);
    const cat = d.classes.find((c) => c.name === 'cat');
    assert.ok(cat, `class cat created: ${JSON.stringify(d.classes)}`);
    assert.equal(d.activeClass, cat.id);
    await click(page, [205, 230]);
    assert.equal(await page.evaluate(() => window.libraDataset.selected), boxes[1].id, 'a click selects the box');
    await page.keyboard.press('2');
    boxes = await boxesOf(page);
    assert.equal(boxes[1].classId, cat.id, 'key 2 gives the selected box the second class');
    assert.equal(boxes[0].classId, object.id);

    // Arrow nudges and undo / redo.
    const placed = boxes[1].bbox;
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Shift+ArrowDown');
    assert.deepEqual((await boxesOf(page))[1].bbox, [placed[0] + 1, placed[1] + 10, placed[2] + 1, placed[3] + 10]);
    await page.keyboard.press('Control+z');
    assert.deepEqual((await boxesOf(page))[1].bbox, placed, 'Ctrl+Z undoes the nudges');
    await page.keyboard.press('Control+Shift+z');
    assert.deepEqual((await boxesOf(page))[1].bbox, [placed[0] + 1, placed[1] + 10, placed[2] + 1, placed[3] + 10], 'Ctrl+Shift+Z redoes them');
    await page.keyboard.press('Control+z');

    // Renaming keeps the boxes on the class.
    await page.click('#dataset-classes li[data-class-name="cat"] .class-rename');
    await page.fill('.class-rename-input', 'kitten');
    await page.keyboard.press('Enter');
    d = await dataset(page);
    assert.equal(d.classes.find((c) => c.id === cat.id)?.name, 'kitten', `renamed: ${JSON.stringify(d.classes)}`);
    assert.equal((await boxesOf(page))[1].classId, cat.id);
    // A class in use is not deleted.
    await clearMessage(page);
    await page.click('#dataset-classes li[data-class-name="kitten"] .class-delete');
    assert.match(await waitForMessage(page, /kitten/), /used by 1 box/);
    assert.ok((await dataset(page)).classes.some((c) => c.id === cat.id));

    // Second photo (key N): a box drawn past the right edge and a box moved past it are clipped.
    await page.locator('#dataset-canvas').focus();
    await page.keyboard.press('n');
    await waitFor(page, 'the second photo showing', (id) => window.libraDataset.current === id && window.libraDataset.pictureReady, d.images[1].id);
    await page.click('#dataset-classes li[data-class-name="object"] .class-pick');
    await dragOnDataset(page, [200, 200], [345, 280]);
    await dragOnDataset(page, [10, 10], [100, 60]);
    await dragOnDataset(page, [55, 35], [305, 35]); // moves the second box 250 px right: 30 px past the edge
    boxes = await boxesOf(page);
    assert.equal(boxes.length, 2, `two boxes on the second photo, got ${JSON.stringify(boxes)}`);
    assertNear(boxes[0].bbox, [200, 200, 320, 280], 'box drawn past the edge');
    assert.equal(boxes[0].bbox[2], 320, 'clipped exactly at the edge');
    assertNear(boxes[1].bbox, [260, 10, 320, 60], 'box moved past the edge');
    assert.equal(boxes[1].bbox[2], 320);

    // A 1-px-wide box is refused with a message.
    await clearMessage(page);
    await dragOnDataset(page, [100, 120], [101, 180]);
    assert.match(await waitForMessage(page, /2 px/), /No box was added/);
    assert.equal((await boxesOf(page)).length, 2, 'the 1-px box must not be added');

    // Everything survives a reload.
    await page.evaluate(() => window.libraDataset.flush());
    const saved = await dataset(page);
    await reload(page);
    await waitForDataset(page);
    assert.deepEqual(await dataset(page), saved, 'the dataset after a reload');
    assert.equal(await page.getAttribute('#dataset-photos [aria-current="true"]', 'data-image-id'), String(saved.current));

    // COCO export: [x, y, w, h] of the boxes.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dataset-export-coco')]);
    const exported = readFileSync(await download.path(), 'utf8');
    const coco = JSON.parse(exported);
    assert.deepEqual(coco.images.map((i) => i.file_name), ['scene_0000.png', 'scene_0001.png']);
    assert.equal(coco.annotations.length, 4);
    const first = saved.images[0].boxes[0].bbox;
    assert.deepEqual(coco.annotations[0].bbox, [first[0], first[1], first[2] - first[0], first[3] - first[1]]);
    assert.deepEqual(coco.categories.map((c) => c.name), ['object', 'kitten']);

    // Clear, then import the export with its photos: the same boxes come back.
    await page.click('#dataset-clear');
    await waitFor(page, 'the dataset cleared', () => window.libraDataset.images.length === 0);
    await clearMessage(page);
    await page.setInputFiles('#dataset-import', [{ name: 'annotations.json', mimeType: 'application/json', buffer: Buffer.from(exported) }, ...PHOTOS]);
    await waitFor(page, 'two photos imported', () => window.libraDataset.images.length === 2);
    assert.deepEqual(rows(await dataset(page)), rows(saved), 'the imported boxes');
    assert.equal(await page.textContent('#message'), '', 'a clean import leaves no message');

    // Broken JSON: the message names the file and the problem; nothing changes.
    await page.setInputFiles('#dataset-import', { name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"images": [') });
    assert.match(await waitForMessage(page, /broken\.json/), /broken\.json is not valid JSON: .+/);
    assert.equal((await dataset(page)).images.length, 2);
    // The JSON without its photos: named as missing.
    await clearMessage(page);
    await page.setInputFiles('#dataset-import', { name: 'annotations.json', mimeType: 'application/json', buffer: Buffer.from(exported) });
    assert.match(await waitForMessage(page, /not provided/), /scene_0000\.png/);
  }, { acceptDownloads: true });
});
