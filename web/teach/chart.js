// Chart.js for the teaching views: web/vendor/chart.umd.js, a UMD build that sets
// globalThis.Chart, loaded on first use so a failure only loses the charts.

let loading = null;

/** Chart.js's Chart class, loaded once. */
export function chartClass() {
  loading ??= import('../vendor/chart.umd.js').then(() => {
    if (typeof globalThis.Chart !== 'function') throw new Error('Chart.js did not load');
    return globalThis.Chart;
  });
  return loading;
}
