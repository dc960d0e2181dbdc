// The training card's two Chart.js charts: the losses per step (the four parts of the run being
// watched, and every run's total, smoothed, to compare runs) and the held-out AP50 per run.
import { chartClass } from '../teach/chart.js';

const PART_COLOURS = { rpn_cls: '#2456c9', rpn_reg: '#7aa2f7', rcnn_cls: '#d9480f', rcnn_reg: '#f59f00' };
const PART_LABELS = { rpn_cls: 'RPN classification', rpn_reg: 'RPN box regression', rcnn_cls: 'R-CNN classification', rcnn_reg: 'R-CNN box regression' };
const RUN_COLOURS = ['#111827', '#7c3aed', '#0f766e', '#be123c', '#a16207', '#4b5563'];

export const runColour = (i) => RUN_COLOURS[i % RUN_COLOURS.length];

/** Exponential moving average (weight `k` on the new value), so noisy step losses read as a trend. */
export function smooth(values, k = 0.1) {
  let m = null;
  return values.map((v) => (m = m === null ? v : m + k * (v - m)));
}

/** The loss chart's series: the four parts of `watched` and each run's smoothed total. */
export function lossSeries(runs, watched) {
  const parts = watched
    ? Object.keys(PART_COLOURS).map((key) => ({
        label: `${PART_LABELS[key]} (run ${watched.id})`,
        data: watched.steps.map((s) => ({ x: s.step, y: s.losses[key] })),
        borderColor: PART_COLOURS[key],
        borderWidth: 1.5,
      }))
    : [];
  const totals = runs.map((r, i) => ({
    label: `Total, smoothed (run ${r.id})`,
    data: smooth(r.steps.map((s) => s.losses.total)).map((y, j) => ({ x: r.steps[j].step, y })),
    borderColor: runColour(i),
    borderWidth: 2.5,
    borderDash: r === watched ? [] : [6, 3],
  }));
  return [...parts, ...totals];
}

/** The AP chart's series: held-out AP50 per evaluation, a line per run. */
export function apSeries(runs) {
  return runs.map((r, i) => ({
    label: `Run ${r.id}: ${r.label}`,
    data: r.evals.filter((e) => e.ap50 !== null).map((e) => ({ x: e.step, y: e.ap50 })),
    borderColor: runColour(i),
    backgroundColor: runColour(i),
    borderWidth: 2,
    pointRadius: 3,
  }));
}

async function draw(canvas, datasets, yTitle, yMax) {
  const Chart = await chartClass();
  const existing = Chart.getChart(canvas);
  if (existing) {
    existing.data.datasets = datasets;
    existing.update();
    return existing;
  }
  return new Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      elements: { point: { radius: 0 }, line: { tension: 0 } },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'Step' }, ticks: { precision: 0 } },
        y: { beginAtZero: true, max: yMax, title: { display: true, text: yTitle } },
      },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 18 } } },
    },
  });
}

export const drawLosses = (canvas, runs, watched) => draw(canvas, lossSeries(runs, watched), 'Loss');
export const drawAp = (canvas, runs) => draw(canvas, apSeries(runs), 'AP50 on the held-out photos', 1);
