// The native CLI (target/debug/libra) for comparisons, and the paths the harness shares:
// the repository, the cargo target (binaries), the default model and the bundled samples.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileAsync, requireBinary } from './exec.mjs';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const TARGET = process.env.CARGO_TARGET_DIR || join(ROOT, 'target'); // as tests/run.sh
export const LIBRA = join(TARGET, 'debug', 'libra');
/** The page's build-and-serve tool (crate/page), built by `cargo serve`. */
export const LIBRA_PAGE = join(TARGET, 'debug', 'libra-page');
export const DEFAULT_MODEL = join(ROOT, 'web/models/default.lrc');
export const SAMPLES = join(ROOT, 'web/samples');
export const SAMPLE = 'scene_0000.png';

/** Detections of the native CLI for one image, everything >= 0.05: [{bbox, score, label, class}]. */
export async function nativeDetect(model = DEFAULT_MODEL, image = join(SAMPLES, SAMPLE)) {
  requireBinary(LIBRA);
  const args = ['detect', '--model', model, '--score', '0.05', image];
  const { stdout } = await execFileAsync(LIBRA, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 5 * 60_000 });
  let parsed;
  try {
    parsed = JSON.parse(stdout);
  } catch (e) {
    throw new Error(`libra ${args.join(' ')} printed no JSON: ${stdout.slice(0, 500)}`);
  }
  if (!Array.isArray(parsed) || !Array.isArray(parsed[0]?.detections)) throw new Error(`unexpected output of libra detect: ${stdout.slice(0, 500)}`);
  return parsed[0].detections;
}

/** Runs the native CLI with `args` and parses the JSON it prints. */
async function nativeJson(args) {
  requireBinary(LIBRA);
  const { stdout } = await execFileAsync(LIBRA, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 5 * 60_000 });
  try {
    return JSON.parse(stdout);
  } catch (e) {
    throw new Error(`libra ${args.join(' ')} printed no JSON: ${stdout.slice(0, 500)}`);
  }
}


/**
 * The native CLI's sampling view (`libra sampling`) of `image` (a path) with GT `boxes`
 * ([[x1, y1, x2, y2], ...] in its pixels) and `seed`: the JSON the page's sampling view shows.
 */
export function nativeSampling(image, boxes, seed, model = DEFAULT_MODEL) {
  return nativeJson(['sampling', '--model', model, image, '--boxes', JSON.stringify(boxes), '--seed', String(seed)]);
}


/**
 * The native CLI's feature pyramid view (`libra pyramid`) of `image` (a path) for `channel`
 * (< 0: the channel energy, the CLI's default): the JSON the page's view shows.
 */
export function nativePyramid(image, channel, model = DEFAULT_MODEL) {
  return nativeJson(['pyramid', '--model', model, image, ...(channel < 0 ? [] : ['--channel', String(channel)])]);
}

/** The native CLI's non-local attention (`libra attention`) of pixel (x, y) of `image` (a path): the JSON the page's view shows. */
export function nativeAttention(image, x, y, model = DEFAULT_MODEL) {
  return nativeJson(['attention', '--model', model, image, '--x', String(x), '--y', String(y)]);
}

/** Runs the native CLI with `args`; resolves with what it printed. */
export async function libra(args, timeout = 5 * 60_000) {
  requireBinary(LIBRA);
  const { stdout } = await execFileAsync(LIBRA, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, timeout });
  return stdout;
}

/** `libra export --model <model> --out <out> [--half]`: rewrites a checkpoint (`.safetensors` by extension). */
export async function exportModel(model, out, { half = false } = {}) {
  requireBinary(LIBRA);
  const args = ['export', '--model', model, '--out', out, ...(half ? ['--half'] : [])];
  await execFileAsync(LIBRA, args, { cwd: ROOT, encoding: 'utf8', timeout: 5 * 60_000 });
}
