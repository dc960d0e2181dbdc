// The page's server: `libra-page serve`, or (LIBRA_PAGE_SERVER=bundle) its static bundle
// under Python's plain http.server.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileAsync, requireBinary } from './exec.mjs';
import { LIBRA_PAGE, ROOT, TARGET } from './native.mjs';

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
