// Shared helpers of the browser tests: the page's server (`libra-page serve`), Chromium through playwright-core,
// page state and results, boxes, ground truth and the native CLI for comparisons.
// Only the page contract is used: DOM ids, window.libraApp, body data-state and URL parameters.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const TARGET = process.env.CARGO_TARGET_DIR || join(ROOT, 'target'); // as tests/run.sh
export const LIBRA = join(TARGET, 'debug', 'libra');
/** The page's build-and-serve tool (crate/page), built by `cargo serve`. */
export const LIBRA_PAGE = join(TARGET, 'debug', 'libra-page');
export const CHROMIUM = '/usr/bin/chromium';
export const DEFAULT_MODEL = join(ROOT, 'web/models/default.lrc');
export const SAMPLES = join(ROOT, 'web/samples');
export const SAMPLE = 'scene_0000.png';
export const ARTIFACTS = join(ROOT, 'tests/artifacts');
/** WebGPU here is SwiftShader (CPU emulation): model load + warm-up take minutes, one detection up to ~60 s. */
export const LOAD_MS = 6 * 60_000;
export const DETECT_MS = 3 * 60_000;
/** node:test per-test timeout. */
export const TEST_TIMEOUT = 10 * 60_000;
/** Detections at or above this score are compared (with the native CLI and the ground truth). */
export const MIN_SCORE = 0.3;

// --- the native CLI and the server -----------------------------------------------------------

function requireBinary(binary = LIBRA) {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`bash tests/run.sh\` (it builds the libra CLI, the page tool and the page's wasm)`);
}

/**
 * Waits until the server process `proc` prints its address (`urlOf(stdout so far)` returns it);
 * resolves to {url, stop}. `name` and `hint` go into the errors.
 */
async function serverOf(proc, name, urlOf, timeoutMs, hint = '') {
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} printed no address within ${timeoutMs / 1000} s\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
    proc.stdout.on('data', (d) => {
      out += d;
      const found = urlOf(out);
      if (found) { clearTimeout(timer); ok(found); }
    });
    proc.on('error', (e) => { clearTimeout(timer); fail(new Error(`${name} could not start${hint}: ${e.message}`)); });
    proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`${name} exited (${code}) before serving\nstdout: ${out}\nstderr: ${err}`)); });
  });
  proc.stdout.resume();
  return { url, stop: () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill(); } };
}

/**
 * Starts `libra-page serve --no-build --port 0`; resolves to {url, stop}. With
 * `LIBRA_PAGE_SERVER=bundle` in the environment the page is the static bundle instead, served
 * below the root of Python's plain `http.server` (tests/run.sh runs some tests both ways).
 */
export async function startServer() {
  if (process.env.LIBRA_PAGE_SERVER === 'bundle') {
    const dir = mkdtempSync(join(tmpdir(), 'libra-bundle-'));
    const server = await startStaticBundle(dir, 'detector');
    return { url: `${server.url}detector/`, stop: () => { server.stop(); rmSync(dir, { recursive: true, force: true }); } };
  }
  requireBinary(LIBRA_PAGE);
  const proc = spawn(LIBRA_PAGE, ['serve', '--no-build', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, CARGO_TARGET_DIR: TARGET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return serverOf(proc, 'libra-page serve', (out) => out.match(/Serving the Libra R-CNN page at (http:\/\/127\.0\.0\.1:\d+\/)/)?.[1], 60_000);
}

const execFileAsync = promisify(execFile);

/**
 * Writes the page's static bundle (`libra-page bundle --no-build`) into `dir/sub` and serves
 * `dir` with Python's plain `http.server` (no special headers, no compression); resolves to
 * {url, stop} with `url` the server's root.
 */
export async function startStaticBundle(dir, sub = '') {
  requireBinary(LIBRA_PAGE);
  await execFileAsync(LIBRA_PAGE, ['bundle', '--no-build', '--out', join(dir, sub)], { cwd: ROOT, env: { ...process.env, CARGO_TARGET_DIR: TARGET } });
  const proc = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const urlOf = (out) => { const port = out.match(/port (\d+)/)?.[1]; return port && `http://127.0.0.1:${port}/`; };
  return serverOf(proc, 'python3 -m http.server', urlOf, 30_000, ' (Debian: apt-get install -y python3)');
}

/** Detections of the native CLI for one image, everything >= 0.05: [{bbox, score, label, class}]. */
export async function nativeDetect(model = DEFAULT_MODEL, image = join(SAMPLES, SAMPLE)) {
  requireBinary();
  const args = ['detect', '--model', model, '--score', '0.05', image];
  const { stdout } = await execFileAsync(LIBRA, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 5 * 60_000 });
  let parsed;
  try {
    parsed = JSON.parse(stdout);
  } catch (e) {
    throw new Error(`libra ${args.join(' ')} printed no JSON: ${stdout.slice(0, 500)}`);
  }
  if (!Array.isArray(parsed) || !Array.isArray(parsed[0]?.detections)) throw new Error(`unexpected output of libra detect: ${stdout.slice(0, 500)}`);
  return parsed[0].detections;
}

/** Runs the native CLI with `args` and parses the JSON it prints. */
async function nativeJson(args) {
  requireBinary();
  const { stdout } = await execFileAsync(LIBRA, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 5 * 60_000 });
  try {
    return JSON.parse(stdout);
  } catch (e) {
    throw new Error(`libra ${args.join(' ')} printed no JSON: ${stdout.slice(0, 500)}`);
  }
}

/**
 * The native CLI's sampling view (`libra sampling`) of `image` (a path) with GT `boxes`
 * ([[x1, y1, x2, y2], ...] in its pixels) and `seed`: the JSON the page's sampling view shows.
 */
export function nativeSampling(image, boxes, seed, model = DEFAULT_MODEL) {
  return nativeJson(['sampling', '--model', model, image, '--boxes', JSON.stringify(boxes), '--seed', String(seed)]);
}

/**
 * The picture the page sends a model of input `side` for the photo `buffer` (PNG/JPEG bytes):
 * scaled down by the page's own `pixelsAtMost` (web/sources.js). Returns {png (its pixels as
 * PNG bytes, lossless), sx, sy}, to give the native CLI the very pixels the page's worker got.
 */
export async function sentPicture(page, buffer, side) {
  const { b64, sx, sy } = await page.evaluate(async ([photo, side]) => {
    const { pixelsAtMost } = await import(new URL('web/sources.js', location.href).href);
    const blob = new Blob([Uint8Array.from(atob(photo), (c) => c.charCodeAt(0))]);
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const { pixels, sx, sy } = pixelsAtMost(bitmap, bitmap.width, bitmap.height, side);
    const canvas = new OffscreenCanvas(pixels.width, pixels.height);
    canvas.getContext('2d').putImageData(pixels, 0, 0);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { b64: btoa(s), sx, sy };
  }, [buffer.toString('base64'), side]);
  return { png: Buffer.from(b64, 'base64'), sx, sy };
}

/**
 * The native CLI's sampling view of the picture the page sends (`sentPicture`) for the photo
 * `buffer` and a model of input `side`, with its candidates mapped back to the photo's pixels as
 * the page maps its own: what the page's sampling view must equal. `path`: where the picture goes.
 */
export async function nativeSamplingAsSent(page, buffer, side, path, boxes, seed, model) {
  const { png, sx, sy } = await sentPicture(page, buffer, side);
  writeFileSync(path, png);
  const sent = boxes.map(([x1, y1, x2, y2]) => [x1 * sx, y1 * sy, x2 * sx, y2 * sy]);
  const native = await nativeSampling(path, sent, seed, model);
  return { ...native, candidates: native.candidates.map(([x1, y1, x2, y2]) => [x1 / sx, y1 / sy, x2 / sx, y2 / sy]) };
}

/**
 * The native CLI's feature pyramid view (`libra pyramid`) of `image` (a path) for `channel`
 * (< 0: the channel energy, the CLI's default): the JSON the page's view shows.
 */
export function nativePyramid(image, channel, model = DEFAULT_MODEL) {
  return nativeJson(['pyramid', '--model', model, image, ...(channel < 0 ? [] : ['--channel', String(channel)])]);
}

/** The native CLI's non-local attention (`libra attention`) of pixel (x, y) of `image` (a path): the JSON the page's view shows. */
export function nativeAttention(image, x, y, model = DEFAULT_MODEL) {
  return nativeJson(['attention', '--model', model, image, '--x', String(x), '--y', String(y)]);
}

/** Runs the native CLI with `args`; resolves with what it printed. */
export async function libra(args, timeout = 5 * 60_000) {
  requireBinary();
  const { stdout } = await execFileAsync(LIBRA, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, timeout });
  return stdout;
}

/** `libra export --model <model> --out <out> [--half]`: rewrites a checkpoint (`.safetensors` by extension). */
export async function exportModel(model, out, { half = false } = {}) {
  requireBinary();
  const args = ['export', '--model', model, '--out', out, ...(half ? ['--half'] : [])];
  await execFileAsync(LIBRA, args, { cwd: ROOT, encoding: 'utf8', timeout: 5 * 60_000 });
}

// --- the browser -------------------------------------------------------------------------------

async function playwright() {
  try {
    return await import('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is missing: run \`npm ci\` in ${ROOT} (${e.message})`);
  }
}

/**
 * Launches headless Chromium (a fresh temporary profile each time).
 * webgpu: adds --enable-unsafe-webgpu (without it, the page must fall back to the CPU by itself).
 * camera: null (no fake camera), true (Chromium's generated fake camera) or an absolute .y4m path it plays.
 * cameraPrompt: 'accept' (--use-fake-ui-for-media-stream) or 'deny' (--deny-permission-prompts).
 */
export async function launch({ webgpu = true, camera = null, cameraPrompt = 'accept' } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium: apt-get install -y chromium`);
  const { chromium } = await playwright();
  const args = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  if (camera) args.push('--use-fake-device-for-media-stream');
  if (typeof camera === 'string') args.push(`--use-file-for-fake-video-capture=${camera}`);
  if (camera && cameraPrompt === 'accept') args.push('--use-fake-ui-for-media-stream');
  if (cameraPrompt === 'deny') args.push('--deny-permission-prompts');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** A new page (in `target`, a browser or a context) that records console lines and page errors; `page.log()` returns them. */
export async function openPage(target, url) {
  const page = await target.newPage({ viewport: { width: 1280, height: 860 } });
  const lines = [];
  page.on('console', (m) => lines.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.stack || e.message}`));
  page.on('crash', () => lines.push('page crashed'));
  // Network: failures are logged; requests still open are listed on failure (a stalled server shows there).
  const open = new Map();
  page.on('request', (r) => open.set(r, Date.now()));
  page.on('requestfinished', (r) => open.delete(r));
  page.on('requestfailed', (r) => { open.delete(r); lines.push(`request failed: ${r.url()} (${r.failure()?.errorText})`); });
  page.log = () => {
    const con = lines.length ? `--- page console (last 60 of ${lines.length}) ---\n${lines.slice(-60).join('\n')}` : '--- page console: empty ---';
    const now = Date.now();
    const pending = [...open].map(([r, t]) => `${r.method()} ${r.url()} (open for ${((now - t) / 1000).toFixed(0)} s)`);
    return pending.length ? `${con}\n--- requests not finished ---\n${pending.join('\n')}` : con;
  };
  // 'commit': the page's own readiness is body[data-state], waited for by the tests.
  await page.goto(url, { waitUntil: 'commit', timeout: 120_000 });
  return page;
}

/**
 * Opens `url` in `target`, runs `body(page)`; a failure gets the page's state, message and console
 * appended; the final page is saved as tests/artifacts/<name>.png and the page is closed.
 */
export async function onPage(target, url, name, body) {
  const page = await openPage(target, url);
  try {
    return await body(page);
  } catch (e) {
    e.message = `${e.message}\n--- page: ${JSON.stringify(await describe(page))}\n${page.log()}`;
    throw e;
  } finally {
    await screenshot(page, name);
    await page.close().catch(() => {});
  }
}

/**
 * `onPage` in a new context of `browser` (made with `contextOptions`; its own storage, kept across
 * reloads), closed afterwards.
 */
export async function onNewPage(browser, url, name, body, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  try {
    return await onPage(context, url, name, body);
  } finally {
    await context.close();
  }
}

export async function reload(page) {
  await page.reload({ waitUntil: 'commit', timeout: 120_000 });
}

/** The page's state, message, backend and model text (for failure messages). */
export async function describe(page) {
  return page.evaluate(() => ({
    state: document.body?.dataset.state,
    stateText: document.getElementById('state-text')?.textContent ?? null, // not in the contract: diagnostics only
    message: document.getElementById('message')?.textContent ?? null,
    backend: document.getElementById('backend')?.textContent ?? null,
    modelName: document.getElementById('model-name')?.textContent ?? null,
  })).catch((e) => ({ error: String(e) }));
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) }).catch((e) => console.log(`screenshot ${name} failed: ${e.message}`));
}

// --- page state and results -------------------------------------------------------------------

export async function waitForState(page, state, ms = LOAD_MS) {
  try {
    await page.waitForFunction((s) => document.body?.dataset.state === s, state, { timeout: ms, polling: 250 });
  } catch (e) {
    throw new Error(`the page never reached state '${state}' within ${ms} ms (${e.message.split('\n')[0]})`);
  }
}

/** Samples the page for `ms`: the states body[data-state] went through and lastResult.seq before and after. */
export function watchIdle(page, ms) {
  return page.evaluate((ms) => new Promise((done) => {
    const seqBefore = window.libraApp?.lastResult?.seq ?? -1;
    const states = new Set([document.body.dataset.state]);
    const timer = setInterval(() => states.add(document.body.dataset.state), 50);
    setTimeout(() => {
      clearInterval(timer);
      done({ states: [...states], seqBefore, seqAfter: window.libraApp?.lastResult?.seq ?? -1 });
    }, ms);
  }), ms);
}

export const backendOf = (page) => page.evaluate(() => window.libraApp?.backend ?? null);
export const lastResult = (page) => page.evaluate(() => window.libraApp?.lastResult ?? null);
export const lastSeq = (page) => page.evaluate(() => window.libraApp?.lastResult?.seq ?? -1);
export const modelName = async (page) => ((await page.textContent('#model-name')) ?? '').trim();

/** Polls window.libraApp.lastResult until one from `source` with seq > afterSeq appears; returns it. */
export async function waitForResult(page, afterSeq, source, ms = DETECT_MS) {
  try {
    await page.waitForFunction(([seq, src]) => {
      const r = window.libraApp?.lastResult;
      return !!r && r.seq > seq && r.source === src;
    }, [afterSeq, source], { timeout: ms, polling: 250 });
  } catch (e) {
    const last = await lastResult(page).catch(() => null);
    throw new Error(`no result from '${source}' with seq > ${afterSeq} within ${ms} ms; last result: ${last ? `${last.source} #${last.seq}` : 'none'}`);
  }
  return lastResult(page);
}

/** Clicks a bundled sample's button and returns the page's result for it. */
export async function detectSample(page, file = SAMPLE, ms = DETECT_MS) {
  const afterSeq = await lastSeq(page);
  await page.click(`button.sample[data-file="${file}"]`);
  return waitForResult(page, afterSeq, `sample:${file}`, ms);
}

/** Image pixels of the dataset section's current photo as client (CSS) coordinates over #dataset-canvas. */
export async function datasetPoint(page, [x, y]) {
  await page.locator('#dataset-canvas').scrollIntoViewIfNeeded();
  const { rect, width, height } = await page.evaluate(() => {
    const r = document.getElementById('dataset-canvas').getBoundingClientRect();
    const d = window.libraDataset;
    const im = d.images.find((i) => i.id === d.current);
    return { rect: { left: r.left, top: r.top, width: r.width, height: r.height }, width: im.width, height: im.height };
  });
  return [rect.left + (x * rect.width) / width, rect.top + (y * rect.height) / height];
}

/** Drags the mouse over the current photo from image point `from` to `to` (holding Shift if asked). */
export async function dragOnDataset(page, from, to, { shift = false } = {}) {
  const [a, b] = [await datasetPoint(page, from), await datasetPoint(page, to)];
  if (shift) await page.keyboard.down('Shift');
  await page.mouse.move(...a);
  await page.mouse.down();
  await page.mouse.move(...b, { steps: 8 });
  await page.mouse.up();
  if (shift) await page.keyboard.up('Shift');
}

/** Drops a file (name, mimeType, buffer) on the page as a user dragging it from their files would. */
export async function dropFile(page, { name, mimeType, buffer }) {
  await page.evaluate(([name, type, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, { type }));
    document.body.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, [name, mimeType, buffer.toString('base64')]);
}

/** Waits until #model-name shows `name` and the page is ready again. */
export async function waitForModel(page, name, ms = LOAD_MS) {
  try {
    await page.waitForFunction((n) => (document.getElementById('model-name')?.textContent ?? '').includes(n), name, { timeout: ms, polling: 250 });
  } catch (e) {
    throw new Error(`#model-name never showed ${name} within ${ms} ms (it shows "${await modelName(page)}")`);
  }
  await waitForState(page, 'ready', ms);
}

/** Empties #message, so that the next message (even a repeated one) can be told apart. */
export async function clearMessage(page) {
  await page.evaluate(() => { document.getElementById('message').textContent = ''; });
}

/** Waits until #message has text (matching `re` if given); returns it. */
export async function waitForMessage(page, re = null, ms = 60_000) {
  try {
    await page.waitForFunction((src) => {
      const t = document.getElementById('message')?.textContent?.trim() ?? '';
      return t.length > 0 && (src === null || new RegExp(src, 'i').test(t));
    }, re ? re.source : null, { timeout: ms, polling: 250 });
  } catch (e) {
    throw new Error(`#message never showed ${re ?? 'any text'} within ${ms} ms`);
  }
  return (await page.textContent('#message')).trim();
}

/** Asserts the four stage timings of a result are numbers >= 0. */
export function checkTimings(assert, r) {
  for (const k of ['backbone_neck_ms', 'rpn_ms', 'roi_head_ms', 'postprocess_ms']) {
    const v = r.timings?.[k];
    assert.ok(typeof v === 'number' && Number.isFinite(v) && v >= 0, `timings.${k} must be a number >= 0, got ${JSON.stringify(r.timings)}`);
  }
}

// --- training in the page ----------------------------------------------------------------------

/** The training card's state (window.libraTraining.state). */
export const training = (page) => page.evaluate(() => window.libraTraining.state);

/** Waits for `fn(arg)` in the page; the error says `what` did not happen and shows the runs. */
export async function waitTraining(page, what, fn, arg, ms = LOAD_MS) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 100 });
  } catch (e) {
    const s = await training(page);
    throw new Error(`${what} did not happen within ${ms / 1000} s; training: ${JSON.stringify({ ...s, runs: s.runs.map((r) => ({ ...r, steps: r.steps.length })) })}`);
  }
}

// --- boxes, ground truth and comparisons -------------------------------------------------------

/** IoU of two [x1, y1, x2, y2] boxes. */
export function iou(a, b) {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const area = (r) => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Ground-truth boxes of a bundled sample (web/samples/annotations.json, COCO): [{class, bbox: [x1,y1,x2,y2]}]. */
export function gtBoxes(file = SAMPLE) {
  const coco = JSON.parse(readFileSync(join(SAMPLES, 'annotations.json'), 'utf8'));
  const image = coco.images.find((i) => i.file_name === file);
  if (!image) throw new Error(`${file} is not in web/samples/annotations.json`);
  const names = Object.fromEntries(coco.categories.map((c) => [c.id, c.name]));
  const boxes = coco.annotations.filter((a) => a.image_id === image.id).map((a) => {
    const [x, y, w, h] = a.bbox;
    return { class: names[a.category_id], bbox: [x, y, x + w, y + h] };
  });
  if (!boxes.length) throw new Error(`${file} has no ground-truth boxes in web/samples/annotations.json`);
  return boxes;
}

/** The same-class detection of `pool` (score >= minScore) with the highest IoU against `box`: {det, iou} or null. */
export function bestMatch(box, pool, minScore = 0) {
  let best = null;
  for (const d of pool) {
    if (d.class !== box.class || d.score < minScore) continue;
    const v = iou(d.bbox, box.bbox);
    if (!best || v > best.iou) best = { det: d, iou: v };
  }
  return best;
}

export const fmt = (d) => (d ? `${d.class} [${d.bbox.map((v) => v.toFixed(1)).join(', ')}]${d.score !== undefined ? ` ${d.score.toFixed(4)}` : ''}` : 'none');
const fmtMatch = (m) => (m ? `${fmt(m.det)} IoU ${m.iou.toFixed(3)}` : 'none');
const hits = (m) => !!m && m.iou >= 0.5;

/** For every GT box of `file`: its best same-class detection >= MIN_SCORE in each named list of detections, logged. */
export function groundTruthTable(lists, file = SAMPLE, label = '') {
  return gtBoxes(file).map((gt) => {
    const row = { gt };
    for (const [name, dets] of Object.entries(lists)) row[name] = bestMatch(gt, dets, MIN_SCORE);
    console.log(`${label} GT ${fmt(gt)}: ${Object.keys(lists).map((n) => `${n} ${fmtMatch(row[n])} ${hits(row[n]) ? 'FOUND' : 'missed'}`).join('; ')}`);
    return row;
  });
}

/** GT boxes of `file` found (same class, IoU >= 0.5, score >= MIN_SCORE) among `dets`. */
export function foundGroundTruth(dets, file = SAMPLE, label = '') {
  return groundTruthTable({ page: dets }, file, label).filter((r) => hits(r.page));
}

/**
 * Asserts the page finds the ground truth of `file`: every GT box the native CLI finds must be found
 * by the page too (all misses are reported), and at least one GT box must be found. GT boxes the
 * model itself misses (native too) are logged, not failed: the browser tests check the page, not the model.
 */
export function assertGroundTruth(assert, pageDets, nativeDets, file = SAMPLE, label = '') {
  const rows = groundTruthTable({ page: pageDets, native: nativeDets }, file, label);
  const misses = rows.filter((r) => hits(r.native) && !hits(r.page));
  assert.deepEqual(misses.map((r) => `GT ${fmt(r.gt)}: native ${fmtMatch(r.native)}, page ${fmtMatch(r.page)}`), [],
    `${label}: ground-truth boxes of ${file} found natively but not by the page (same class, IoU >= 0.5, score >= ${MIN_SCORE})`);
  const modelMisses = rows.filter((r) => !hits(r.native)).length;
  if (modelMisses) console.log(`${label}: ${modelMisses} of ${rows.length} GT boxes of ${file} are missed by the model itself (native too)`);
  assert.ok(rows.some((r) => hits(r.page)), `${label}: the page finds none of the ${rows.length} ground-truth boxes of ${file}`);
}

/** Differences (strings) between page and native detections >= MIN_SCORE: each must have a same-class twin with IoU >= 0.99 and |Δscore| <= 1e-3. */
export function compareWithNative(pageDets, nativeDets) {
  const problems = [];
  const twin = (d, pool) => {
    const m = bestMatch(d, pool); // any score: a native 0.3001 may be 0.2999 on the page
    return { m, ok: !!m && m.iou >= 0.99 && Math.abs(m.det.score - d.score) <= 1e-3 };
  };
  for (const n of nativeDets.filter((d) => d.score >= MIN_SCORE)) {
    const { m, ok } = twin(n, pageDets);
    if (!ok) problems.push(`native ${fmt(n)} -> best page ${fmtMatch(m)}`);
  }
  for (const p of pageDets.filter((d) => d.score >= MIN_SCORE)) {
    const { m, ok } = twin(p, nativeDets);
    if (!ok) problems.push(`page-only ${fmt(p)} -> best native ${fmtMatch(m)}`);
  }
  return problems;
}

/** Asserts page detections == native detections (>= MIN_SCORE), logging both. */
export function assertSameAsNative(assert, pageDets, nativeDets, label) {
  const list = (dets) => dets.filter((d) => d.score >= MIN_SCORE).map(fmt).join('; ') || 'none';
  console.log(`${label}: native >= ${MIN_SCORE}: ${list(nativeDets)}`);
  console.log(`${label}: page   >= ${MIN_SCORE}: ${list(pageDets)}`);
  assert.ok(nativeDets.some((d) => d.score >= MIN_SCORE), `${label}: the native CLI found nothing >= ${MIN_SCORE} to compare with`);
  const problems = compareWithNative(pageDets, nativeDets);
  assert.deepEqual(problems, [], `${label}: page and native detections differ (IoU >= 0.99, |score diff| <= 1e-3)`);
}

// --- the sampling view: page against native -------------------------------------------------

export function assertClose(actual, expected, tol, label) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  const bad = actual.flat().findIndex((v, i) => !(Math.abs(v - expected.flat()[i]) <= tol));
  assert.equal(bad, -1, `${label}: element ${bad} differs by more than ${tol}: page ${JSON.stringify(actual.flat()[bad])}, native ${JSON.stringify(expected.flat()[bad])}`);
}

/**
 * Asserts the page's and the native candidates are the same boxes (within 1e-2 px) with the same
 * IoU (1e-4), the GT boxes first in both; returns the positions whose boxes are in another order.
 */
export function assertSameCandidates(view, native) {
  assert.equal(view.candidates.length, native.candidates.length, 'number of candidates');
  assertClose(view.candidates.slice(0, view.num_gt), native.candidates.slice(0, native.num_gt), 1e-2, 'GT candidates (px)');
  const near = (a, b) => a.every((v, k) => Math.abs(v - b[k]) <= 1e-2);
  const swapped = [];
  view.candidates.forEach((box, i) => {
    if (near(box, native.candidates[i])) {
      assert.ok(Math.abs(view.max_iou[i] - native.max_iou[i]) <= 1e-4, `candidate ${i}: IoU page ${view.max_iou[i]}, native ${native.max_iou[i]}`);
      return;
    }
    const j = native.candidates.findIndex((b) => near(box, b));
    assert.ok(j >= 0, `candidate ${i} [${box}] of the page is not among the native candidates`);
    assert.ok(Math.abs(view.max_iou[i] - native.max_iou[j]) <= 1e-4, `candidate ${i}: IoU page ${view.max_iou[i]}, native ${native.max_iou[j]}`);
    swapped.push(i);
  });
  assert.ok(swapped.length <= 4, `${swapped.length} candidates are in another order (${swapped}): more than near-ties explain`);
  if (swapped.length) console.log(`candidates in another order than natively (near-equal RPN scores): ${swapped}`);
  return swapped;
}

/** Every IoU-balanced negative's bin is the bin its IoU falls in (the sampler's own edges). */
export function assertBinsFollowIous(view) {
  const { neg, neg_source: sources, bin_edges: edges } = view.balanced.sampled;
  assert.equal(edges.length, 4, 'three IoU bins (the paper\'s K = 3)');
  neg.forEach((i, k) => {
    const bin = sources[k]?.Bin;
    if (bin === undefined) return; // a fill, not a bin draw
    const iou = view.max_iou[i];
    assert.ok(edges[bin] <= iou && iou < edges[bin + 1], `negative ${i} (IoU ${iou}) is said to come from bin ${bin} [${edges[bin]}, ${edges[bin + 1]})`);
  });
  assert.ok(sources.some((s) => s?.Bin !== undefined), 'some negatives come from the bins');
}

/**
 * Asserts the page's sampling view equals the native CLI's for the same photo, boxes and seed:
 * the same candidates (matched by box), bins that follow the IoUs, and the same picks.
 */
export function assertSamplingLikeNative(view, native) {
  assert.equal(view.num_gt, native.num_gt, 'GT boxes');
  assert.equal(view.seed, native.seed, 'seed');
  // wasm and x86 round the RPN's scores differently in the last bits, so two proposals with
  // near-equal scores may come out in either order: candidates are matched by box.
  const swapped = assertSameCandidates(view, native);
  assertBinsFollowIous(view);
  assert.deepEqual(view.histogram, native.histogram, 'histogram of all negatives');
  for (const sampler of ['random', 'balanced']) {
    const [p, n] = [view[sampler], native[sampler]];
    assertClose(p.sampled.bin_edges, n.sampled.bin_edges, 1e-4, `${sampler}: bin_edges`);
    assert.equal(p.sampled.pos.length, n.sampled.pos.length, `${sampler}: number of positives`);
    assert.equal(p.sampled.neg.length, n.sampled.neg.length, `${sampler}: number of negatives`);
    assert.ok(p.sampled.neg.length > 0, `${sampler}: some negatives`);
    if (swapped.length === 0) {
      // Same candidates in the same order: the same seed must give exactly the same picks.
      assert.deepEqual(p.sampled.pos, n.sampled.pos, `${sampler}: positives`);
      assert.deepEqual(p.sampled.neg, n.sampled.neg, `${sampler}: negatives`);
      assert.deepEqual(p.sampled.neg_source, n.sampled.neg_source, `${sampler}: neg_source`);
      assert.deepEqual(p.histogram, n.histogram, `${sampler}: histogram`);
      assert.ok(Math.abs(p.hard_share - n.hard_share) < 1e-6, `${sampler}: hard_share page ${p.hard_share}, native ${n.hard_share}`);
    } else {
      // A swap can move each swapped candidate in or out of a draw.
      const moved = p.sampled.neg.filter((i) => !n.sampled.neg.includes(i)).length;
      assert.ok(moved <= swapped.length, `${sampler}: ${moved} negatives differ, more than the ${swapped.length} swapped candidates`);
      assert.ok(Math.abs(p.hard_share - n.hard_share) <= swapped.length / p.sampled.neg.length + 1e-6, `${sampler}: hard_share page ${p.hard_share}, native ${n.hard_share}`);
    }
  }
}
