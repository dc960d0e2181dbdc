// Where the page's CPU path spends its time: V8's sampling profiler in every worker (the detector's
// or the trainer's, and the CPU threads') while /bench.html?backend=cpu runs (`detect`: RUNS
// detections at SIZE px) or while the page fine-tunes the default model (`train`: RUNS steps of
// two generated photos at SIZE px, as tests/kernels/bench-train.mjs), then the functions with the
// most self time over all of them. Function names need the page's wasm built with its name section:
//   LIBRA_WASM_NAMES=1 cargo serve --build-only && node --experimental-websocket tests/kernels/profile-page.mjs [detect|train] [runs] [size]
// (Node 22 has WebSocket without the flag.) A developer's tool, not a test.
import { startServer, launch, openPage, waitForState, timedFineTune } from '../browser/harness.mjs';

const [mode = 'detect', runs = '10', size = '320'] = process.argv.slice(2);
if (!['detect', 'train'].includes(mode)) throw new Error(`the first argument is detect or train, not ${mode}`);
const PORT = 9333;
// Time in these is a thread waiting for work, not doing it.
const WAITING = /^\((idle|program)\)$|Condvar>::wait|wait_until_cold|Sleep>::sleep/;

/** The browser's CDP endpoint, with flat sessions: `send(method, params, sessionId)`. */
async function cdp(url) {
  const ws = new WebSocket(url);
  await new Promise((ok, fail) => { ws.addEventListener('open', ok); ws.addEventListener('error', fail); });
  let next = 1;
  const replies = new Map();
  const listeners = [];
  ws.addEventListener('message', (e) => {
    const m = JSON.parse(e.data);
    if (m.id && replies.has(m.id)) {
      replies.get(m.id)(m);
      replies.delete(m.id);
    } else if (m.method) {
      listeners.forEach((f) => f(m));
    }
  });
  const send = (method, params = {}, sessionId = undefined) => new Promise((ok, fail) => {
    const id = next++;
    replies.set(id, (m) => (m.error ? fail(new Error(`${method}: ${m.error.message}`)) : ok(m.result)));
    ws.send(JSON.stringify({ id, method, params, sessionId }));
  });
  return { send, on: (f) => listeners.push(f), close: () => ws.close() };
}

if (typeof WebSocket === 'undefined') throw new Error('this Node has no WebSocket: run it with --experimental-websocket (Node 20) or on Node 22');
const server = await startServer();
const browser = await launch({ webgpu: false, args: [`--remote-debugging-port=${PORT}`] });
try {
  const { webSocketDebuggerUrl } = await (await fetch(`http://127.0.0.1:${PORT}/json/version`)).json();
  const c = await cdp(webSocketDebuggerUrl);
  const workers = [];
  // Every new target (the page, its workers, their workers) is attached paused, so a worker's
  // profiler starts before its first line runs.
  c.on(async ({ method, params }) => {
    if (method !== 'Target.attachedToTarget') return;
    const { sessionId, targetInfo } = params;
    if (targetInfo.type === 'worker') {
      workers.push({ sessionId, url: targetInfo.url });
      await c.send('Profiler.enable', {}, sessionId);
      await c.send('Profiler.setSamplingInterval', { interval: 500 }, sessionId); // µs
      await c.send('Profiler.start', {}, sessionId);
    }
    await c.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, sessionId);
    await c.send('Runtime.runIfWaitingForDebugger', {}, sessionId);
  });
  await c.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true });
  if (mode === 'detect') {
    const page = await openPage(browser, `${server.url}bench.html?backend=cpu&runs=${runs}&warmup=1&size=${size}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 30 * 60_000, polling: 1000 });
    const r = await page.evaluate(() => window.benchResult);
    if (r.error) throw new Error(`the benchmark failed: ${r.error}`);
    console.log(`${size} px, CPU (${r.backend.runsOn}): median ${r.median.total_ms.toFixed(1)} ms per detection over ${runs} runs, sgemm ${r.sgemm.gflops.toFixed(1)} GFLOP/s`);
  } else {
    const page = await openPage(browser, `${server.url}?backend=cpu`);
    await waitForState(page, 'ready');
    const { batch, msPerStep } = await timedFineTune(page, { steps: runs, size });
    console.log(`${size} px, CPU: median ${msPerStep.toFixed(1)} ms per training step of ${batch} photos over ${runs} steps`);
  }
  const self = new Map(); // function -> µs of self time, over all workers
  let busy = 0;
  for (const { sessionId, url } of workers) {
    const { profile } = await c.send('Profiler.stop', {}, sessionId);
    const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName || '(anonymous)']));
    let mine = 0;
    profile.samples.forEach((id, i) => {
      const name = nodes.get(id);
      if (WAITING.test(name)) return;
      const us = profile.timeDeltas[i] ?? 0;
      self.set(name, (self.get(name) ?? 0) + us);
      mine += us;
    });
    busy += mine;
    console.log(`worker ${url.split('/').pop()}: busy ${(mine / 1000).toFixed(0)} ms`);
  }
  console.log(`self ms   share  function (the whole run: ${mode === 'detect' ? 'warm-up, runs, sgemm' : 'the model\'s start, detections, steps, evaluations'})`);
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
    console.log(`${(us / 1000).toFixed(0).padStart(7)} ${(100 * us / busy).toFixed(1).padStart(6)}%  ${name.slice(0, 160)}`);
  }
  c.close();
} finally {
  await browser.close();
  server.stop();
}
