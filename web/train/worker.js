// Module worker that owns a fine-tuning session (the wasm WebTrainer). The page sends it the
// photos, then asks for one step at a time: pausing is not asking for the next step, and the
// teaching views' requests are answered between steps, on the model as trained so far.
//
// Requests (main -> worker), each with an `id` (replies, progress and panics: ../worker-host.js):
//   {type: 'create', backend: 'webgpu' | 'cpu', kernels: 'auto' | 'fused' | 'reference', modelBytes: ArrayBuffer, options}
//       -> info {classes, input_size, train_images, held_out_images, step, steps, backend, kernels: {active, text},
//          runs_on: how the CPU path runs (threads), null on WebGPU};
//       options: FineTuneOptions (crate/finetune.rs) as an object
//   {type: 'addPhoto', rgba, width, height, name, boxes: [[x1, y1, x2, y2, class index]], heldOut}
//       -> the warnings (clipped or refused boxes) as strings
//   {type: 'step'}     -> {step, steps, lr, losses: {rpn_cls, rpn_reg, rcnn_cls, rcnn_reg, total}, skipped, reg_errors}
//   {type: 'evaluate'} -> {ap, ap50, ap75, per_class_ap50, images}, or null without held-out photos
//   {type: 'export', half} -> the model as a .lrc checkpoint (ArrayBuffer)
//   {type: 'sampling' | 'pyramid' | 'attention', ...} -> as in ../worker.js, on the model being trained
import { cpuRunsOn, cpuThreads, loadWasm, serve } from '../worker-host.js';

let trainer = null;

function session() {
  if (!trainer) throw new Error('no training session in this worker');
  return trainer;
}

async function create({ backend, kernels = 'auto', modelBytes, options }) {
  if (trainer) throw new Error('this worker already holds a training session');
  const cpu = backend === 'cpu' ? await cpuThreads() : null;
  const wasm = await loadWasm(cpu);
  trainer = await wasm.WebTrainer.create(new Uint8Array(modelBytes), backend, kernels, JSON.stringify(options));
  return { ...JSON.parse(trainer.info()), runs_on: cpu && cpuRunsOn(cpu) };
}

const addPhoto = ({ rgba, width, height, name, boxes, heldOut }) =>
  JSON.parse(session().add_photo(new Uint8Array(rgba), width, height, name, JSON.stringify(boxes), heldOut));
const step = async () => JSON.parse(await session().step());
const evaluate = async () => JSON.parse(await session().evaluate());
const exportModel = async ({ half }) => (await session().export(half)).buffer;
const sampling = async ({ rgba, width, height, boxes, seed }) =>
  JSON.parse(await session().sampling_view(new Uint8Array(rgba), width, height, JSON.stringify(boxes), seed));
const pyramid = async ({ rgba, width, height, channel }) => JSON.parse(await session().pyramid_view(new Uint8Array(rgba), width, height, channel));
const attention = async ({ rgba, width, height, x, y }) => JSON.parse(await session().attention_map(new Uint8Array(rgba), width, height, x, y));

serve({ create, addPhoto, step, evaluate, export: exportModel, sampling, pyramid, attention });
