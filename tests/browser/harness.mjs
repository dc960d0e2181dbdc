// Shared helpers of the browser tests, the one module the tests import: it re-exports the files of
// tests/browser/harness/ (native CLI and paths, server, browser, page state, training, boxes, sampling view).
// Only the page contract is used: DOM ids, window.libraApp, body data-state and URL parameters.
export * from './harness/native.mjs';
export * from './harness/server.mjs';
export * from './harness/browser.mjs';
export * from './harness/page.mjs';
export * from './harness/training.mjs';
export * from './harness/boxes.mjs';
export * from './harness/sampling.mjs';
