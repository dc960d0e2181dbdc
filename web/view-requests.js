// The teaching views' requests about a photo (web/teach/): to the model being trained when there
// is one, else the running detector; the photo goes at that model's input size and the answer's
// coordinates come back in the photo's pixels.
import { pixelsAtMost } from './sources.js';

/**
 * A teaching view's request about `bitmap` (an ImageBitmap) plus `fields`, to the model being
 * trained (or just trained) when there is one, else the detector. The photo goes at most at that
 * model's input size (`pixelsAtMost`); `fields(sx, sy)` gives the request's fields in those
 * pixels and `back(view, sx, sy)` brings the JSON's photo coordinates back to the bitmap's.
 */
async function viewRequest({ app, engine, timeoutMs }, type, bitmap, fields, back) {
  const trainer = app.trainer?.canView ? app.trainer : null;
  const client = trainer ? null : await engine.ready();
  const side = trainer ? trainer.options.input_size : app.modelInfo.input_size;
  const { pixels, sx, sy } = pixelsAtMost(bitmap, bitmap.width, bitmap.height, side);
  const rgba = pixels.data.buffer;
  const msg = { type, rgba, width: pixels.width, height: pixels.height, ...fields(sx, sy) };
  const view = await (trainer ? trainer.view(msg, [rgba]) : client.request(msg, timeoutMs, [rgba]));
  return back(view, sx, sy);
}

/** `view` whose letterbox maps the sent pixels to the network input, mapping the photo's instead. */
const photoLetterbox = (view, sx) => ({ ...view, letterbox: { ...view.letterbox, scale: view.letterbox.scale * sx } });

/**
 * Adds the views' entry points to `app` (window.libraApp): `samplingView`, `pyramidView` and
 * `attentionMap`, each taking an ImageBitmap. `engine` runs the detector; `timeoutMs` bounds a
 * request to it.
 */
export function installViewRequests(app, { engine, timeoutMs }) {
  const ask = (type, bitmap, fields, back = (view) => view) => viewRequest({ app, engine, timeoutMs }, type, bitmap, fields, back);
  /** What the R-CNN samplers pick for GT `boxes` ([[x1, y1, x2, y2], ...] in the photo's pixels) from `seed`. */
  app.samplingView = (bitmap, boxes, seed) =>
    ask(
      'sampling',
      bitmap,
      (sx, sy) => ({ boxes: boxes.map(([x1, y1, x2, y2]) => [x1 * sx, y1 * sy, x2 * sx, y2 * sy]), seed }),
      (view, sx, sy) => ({ ...view, candidates: view.candidates.map(([x1, y1, x2, y2]) => [x1 / sx, y1 / sy, x2 / sx, y2 / sy]) }),
    );
  /** The feature pyramid's maps (`channel` < 0: each map's channel energy, else that channel). */
  app.pyramidView = (bitmap, channel) => ask('pyramid', bitmap, () => ({ channel }), photoLetterbox);
  /** The non-local block's attention, over the refine level, of the photo's pixel (x, y). */
  app.attentionMap = (bitmap, x, y) => ask('attention', bitmap, (sx, sy) => ({ x: x * sx, y: y * sy }), photoLetterbox);
}
