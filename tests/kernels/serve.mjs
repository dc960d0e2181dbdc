// Node only: a tiny static HTTP server of the repository root on 127.0.0.1 (a secure context for
// WebGPU) for the kernel tests and the benchmark. /kernels.html is an empty page to run them in.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TYPES = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wgsl': 'text/plain', '.html': 'text/html', '.json': 'application/json' };
const PAGE = '<!doctype html><meta charset="utf-8"><title>WGSL kernels</title><body>kernels</body>';

/** Serves ROOT on 127.0.0.1:<free port>; resolves to {url (of /kernels.html), close()}. */
export async function serveRoot() {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/kernels.html') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (path === '/favicon.ico') return res.writeHead(204).end();
    const file = resolve(join(ROOT, path));
    if (!file.startsWith(ROOT + sep)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404).end(`not found: ${path}`);
    }
  });
  await new Promise((ok, fail) => server.listen(0, '127.0.0.1', ok).on('error', fail));
  return {
    url: `http://127.0.0.1:${server.address().port}/kernels.html`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}
