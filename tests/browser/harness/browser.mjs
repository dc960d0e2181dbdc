// Headless Chromium through playwright-core: launching it, opening pages that log their console,
// running a test body on a page (state and console on failure, a screenshot in tests/artifacts).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './native.mjs';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'tests/artifacts');

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
 * args: more Chromium flags (tests/kernels/profile-page.mjs: its DevTools port).
 */
export async function launch({ webgpu = true, camera = null, cameraPrompt = 'accept', args: extra = [] } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium: apt-get install -y chromium`);
  const { chromium } = await playwright();
  const args = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  if (camera) args.push('--use-fake-device-for-media-stream');
  if (typeof camera === 'string') args.push(`--use-file-for-fake-video-capture=${camera}`);
  if (camera && cameraPrompt === 'accept') args.push('--use-fake-ui-for-media-stream');
  if (cameraPrompt === 'deny') args.push('--deny-permission-prompts');
  args.push(...extra);
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
