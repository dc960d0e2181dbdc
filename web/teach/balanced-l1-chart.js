// The Balanced L1 view's two Chart.js line charts (loss and gradient against the regression
// error x), each with Balanced L1 and smooth L1 and a dashed vertical marker at x = beta, where
// inliers end and outliers begin.
import { COLOURS, X_MAX, fmt } from './balanced-l1-curves.js';
import { chartClass } from './chart.js';

/** Draws a dashed line at x = options.x over the plot, "inliers" left of it and "outliers" right. */
const markerPlugin = {
  id: 'l1Marker',
  afterDatasetsDraw(chart, _args, options) {
    const x = options?.x;
    const scale = chart.scales.x;
    if (!Number.isFinite(x) || !scale || x < scale.min || x > scale.max) return;
    const { top, bottom } = chart.chartArea;
    const px = scale.getPixelForValue(x);
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = COLOURS.marker;
    ctx.lineWidth = 1;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(px, top);
    ctx.lineTo(px, bottom);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'bottom'; // at the foot of the plot
    // Each label on a light plate, so a curve passing behind does not hide it.
    const label = (text, right) => {
      const w = ctx.measureText(text).width;
      const x0 = right ? px - 5 - w : px + 5;
      ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
      ctx.fillRect(x0 - 2, bottom - 19, w + 4, 16);
      ctx.fillStyle = COLOURS.marker;
      ctx.fillText(text, x0, bottom - 4);
    };
    ctx.textAlign = 'left';
    label('inliers', true);
    label(`outliers (x ≥ β = ${fmt(x)})`, false);
    ctx.restore();
  },
};

/**
 * Draws (or redraws) `series` ([{label, colour, data}], chartSeries()'s loss or gradient) over
 * `xs` on `canvas`, with the marker at `beta`, and `batch` ({label, points: [{x, y}]}, a training
 * batch's errors) as dots when given; `yTitle` names the y axis. The chart is kept on the canvas.
 */
export async function drawCurves(canvas, xs, series, { beta, yTitle, batch = null }) {
  const Chart = await chartClass();
  const dots = batch ? [{ type: 'scatter', label: batch.label, data: batch.points, backgroundColor: COLOURS.batch, borderColor: COLOURS.batch, pointRadius: 2.5, showLine: false }] : [];
  const datasets = dots.concat(series.map((s) => ({
    label: s.label,
    data: s.data,
    borderColor: s.colour,
    backgroundColor: s.colour,
    borderWidth: s.key === 'balanced' ? 2.5 : 2,
    borderDash: s.key === 'smooth' ? [6, 3] : [],
    pointRadius: 0,
    pointHitRadius: 4,
  })));
  const existing = Chart.getChart(canvas);
  if (existing) {
    existing.data.labels = xs;
    existing.data.datasets = datasets;
    existing.options.plugins.l1Marker.x = beta;
    existing.update();
    return existing;
  }
  return new Chart(canvas, {
    type: 'line',
    data: { labels: xs, datasets },
    plugins: [markerPlugin],
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { type: 'linear', min: 0, max: X_MAX, title: { display: true, text: 'Regression error x = |prediction − target|' }, ticks: { stepSize: 0.5 } },
        y: { beginAtZero: true, grace: '5%', title: { display: true, text: yTitle } }, // the top curve off the frame
      },
      plugins: {
        l1Marker: { x: beta },
        legend: { position: 'bottom', labels: { usePointStyle: true, pointStyle: 'line', pointStyleWidth: 32 } },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? `x = ${items[0].parsed.x.toFixed(2)}` : ''),
            label: (c) => `${c.dataset.label}: ${c.parsed.y.toFixed(3)}`,
          },
        },
      },
    },
  });
}
