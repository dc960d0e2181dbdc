// A big photo (a bundled 320 px scene blown up 12x by pixel repetition: 3840 x 3840, 14.7
// megapixels, as a phone's) is scaled down in the page to the model's input before it goes to the
// worker: the worker's memory does not grow past what the 320 px scene took, and the boxes come
// back in the big photo's pixels where the scene's own boxes are, times 12. The sampling view does
// the same for the dataset's photo.
// The page contract used: #image-input, #dataset-add, #sampling*, window.libraApp.lastResult
// ({detections, raw, sent, memory_bytes}), window.libraDataset.samplingView.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, onNewPage, onPage, waitForState, detectSample, waitForResult, lastSeq, dragOnDataset, assertGroundTruth,
  bestMatch, fmt, MIN_SCORE, SAMPLE, LOAD_MS, DETECT_MS, TEST_TIMEOUT,
} from './harness.mjs';

const K = 12; // the blow-up factor
const INPUT = 320; // the default model's input side
// scene_0000's two objects (web/samples/annotations.json), in its own 320 px pixels.
const GT = [[88, 71, 272, 213], [195, 187, 261, 255]];
const MiB = 1 << 20;

let server;
let browser;
before(async () => { server = await startServer(); browser = await launch({ webgpu: false }); });
after(async () => { await browser?.close(); server?.stop(); });

/** The bundled sample blown up K times by pixel repetition, as PNG bytes (made by the page's canvas). */
async function bigPhoto(page) {
  const b64 = await page.evaluate(async ([file, k]) => {
    const bitmap = await createImageBitmap(await (await fetch(`web/samples/${file}`)).blob());
    const canvas = new OffscreenCanvas(bitmap.width * k, bitmap.height * k);
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, [SAMPLE, K]);
  return Buffer.from(b64, 'base64');
}

test('a 14.7-megapixel photo goes to the detector at its input size; boxes come back in the photo\'s pixels', { timeout: TEST_TIMEOUT }, async () => {
  await onPage(browser, `${server.url}?backend=cpu`, 'big-photo', async (page) => {
    await waitForState(page, 'ready');
    const small = await detectSample(page);
    assert.deepEqual(small.sent, { width: INPUT, height: INPUT, sx: 1, sy: 1 }, 'the 320 px scene goes as it is');
    const png = await bigPhoto(page);
    console.log(`big photo: ${INPUT * K} x ${INPUT * K} px, ${(png.length / MiB).toFixed(1)} MiB as PNG; wasm memory after the 320 px scene: ${(small.memory_bytes / MiB).toFixed(1)} MiB`);

    const seq = await lastSeq(page);
    await page.setInputFiles('#image-input', { name: 'big.png', mimeType: 'image/png', buffer: png });
    const big = await waitForResult(page, seq, 'file:big.png', DETECT_MS);
    assert.deepEqual([big.width, big.height], [INPUT * K, INPUT * K], 'the result is for the photo at its own size');
    assert.deepEqual([big.sent.width, big.sent.height], [INPUT, INPUT], 'the worker got the photo at the model\'s input size');
    // The worker's memory stays where the 320 px scene left it: the whole photo would be 56 MiB of
    // RGBA, and 169 MiB more as the f32 tensor the detector letterboxes from.
    const grown = big.memory_bytes - small.memory_bytes;
    console.log(`wasm memory after the big photo: ${(big.memory_bytes / MiB).toFixed(1)} MiB (grew ${(grown / MiB).toFixed(1)} MiB)`);
    assert.ok(grown <= 8 * MiB, `the worker's memory grew by ${(grown / MiB).toFixed(1)} MiB for the big photo`);

    // Boxes: the worker's, in its 320 px pixels, divided by the scale, in the photo's pixels.
    big.detections.forEach((d, i) => d.bbox.forEach((v, k) => assert.ok(Math.abs(v * big.sent.sx - big.raw[i].bbox[k]) < 1e-3, `detection ${i} maps back by the scale`)));
    // And where the scene's own detections are, times K, within one of the scene's pixels: every
    // confident detection of either has its twin in the other (less confident ones come and go
    // with the resampling).
    const CONFIDENT = 0.5;
    const times = (dets, k) => dets.map((d) => ({ ...d, bbox: d.bbox.map((v) => v * k) }));
    const pairs = [[big.detections, times(small.detections, K), 'big', `scene x ${K}`], [times(small.detections, K), big.detections, `scene x ${K}`, 'big']];
    let compared = 0;
    for (const [from, to, a, b] of pairs) {
      for (const d of from.filter((d) => d.score >= CONFIDENT)) {
        const m = bestMatch(d, to);
        const off = m ? Math.max(...d.bbox.map((v, k) => Math.abs(v - m.det.bbox[k]))) : Infinity;
        console.log(`${a} ${fmt(d)} -> ${b}: ${m ? fmt(m.det) : 'none'}, corners within ${off.toFixed(1)} px`);
        assert.ok(off <= K, `${a} ${fmt(d)}: its corners are ${off.toFixed(1)} px from the ${b} detection (one scene pixel is ${K} px)`);
        compared++;
      }
    }
    assert.ok(compared >= 2, 'confident detections to compare');
    assertGroundTruth(assert, big.detections.map((d) => ({ ...d, bbox: d.bbox.map((v) => v / K) })), small.detections, SAMPLE, 'big photo / 12');
  });
});

test('the sampling view of a big photo: boxes go down to the input size and come back', { timeout: TEST_TIMEOUT }, async () => {
  await onNewPage(browser, `${server.url}?backend=cpu`, 'big-photo-sampling', async (page) => {
    await page.waitForSelector('#dataset[data-dataset-ready="1"]', { timeout: 60_000 });
    await waitForState(page, 'ready');
    await page.setInputFiles('#dataset-add', { name: 'big.png', mimeType: 'image/png', buffer: await bigPhoto(page) });
    await page.waitForFunction(() => window.libraDataset.images.length === 1 && window.libraDataset.pictureReady, null, { timeout: 60_000 });
    for (const [x1, y1, x2, y2] of GT) await dragOnDataset(page, [x1 * K, y1 * K], [x2 * K, y2 * K], { shift: true });
    await page.click('#sampling-show');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('sampling').dataset.samplingState), null, { timeout: LOAD_MS + DETECT_MS, polling: 250 });
    const { boxes, view } = await page.evaluate(() => window.libraDataset.samplingView);
    assert.ok(view, `the sampling view failed: ${await page.textContent('#message')}`);
    assert.equal(view.num_gt, 2);
    // The GT boxes come back as drawn (in the big photo's pixels), through the 1/12 scale and back.
    view.candidates.slice(0, 2).forEach((c, i) => c.forEach((v, k) => assert.ok(Math.abs(v - boxes[i][k]) < 0.01, `GT ${i}: [${c}] vs drawn [${boxes[i]}]`)));
    // The proposals are in the big photo's pixels too: spread over it, not over its first 320 px.
    const proposals = view.candidates.slice(2);
    const right = Math.max(...proposals.map((c) => c[2]));
    console.log(`${proposals.length} proposals, the rightmost edge at x = ${right.toFixed(0)}`);
    assert.ok(proposals.every((c) => c[0] >= -1 && c[2] <= INPUT * K + 1 && c[1] >= -1 && c[3] <= INPUT * K + 1), 'proposals inside the photo');
    assert.ok(right > 2 * INPUT, `proposals reach beyond ${2 * INPUT} px (the rightmost at ${right})`);
  });
});
