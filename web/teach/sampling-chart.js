// The sampling view's IoU histograms as a Chart.js bar chart: all negative candidates, the
// random sample and the IoU-balanced sample over the same bins, as shares so they compare.
import { chartClass } from './chart.js';
import { histogramLabels, histogramSeries } from './sampling-layers.js';

const SERIES_COLOURS = { all: '#9ca3af', random: '#f97316', balanced: '#2456c9' };

const percent = (v) => `${(v * 100).toFixed(v > 0 && v < 0.01 ? 1 : 0)}%`;

/** Draws (or redraws) the histograms of `view` on `canvas`; the chart is kept on the canvas. */
export async function drawHistograms(canvas, view) {
  const Chart = await chartClass();
  const datasets = histogramSeries(view).map((s) => ({
    label: `${s.label} (${s.count})`,
    data: s.shares,
    backgroundColor: SERIES_COLOURS[s.key],
  }));
  const existing = Chart.getChart(canvas);
  if (existing) {
    existing.data.datasets = datasets;
    existing.update();
    return;
  }
  new Chart(canvas, {
    type: 'bar',
    data: { labels: histogramLabels(), datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: { title: { display: true, text: 'IoU with the nearest object' } },
        y: { beginAtZero: true, title: { display: true, text: 'Share of the negatives' }, ticks: { callback: (v) => percent(v) } },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${percent(c.parsed.y)}` } },
      },
    },
  });
}
