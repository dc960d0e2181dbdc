// The three teaching cards under the dataset: what the sampler picks (./sampling.js) and what the
// feature pyramid sees (./pyramid.js) on the current photo, and Balanced L1 (./balanced-l1.js, no
// photo needed). They follow the dataset's changes, and the model being trained: its checkpoints
// and its batches' regression errors.
import { BalancedL1View } from './balanced-l1.js';
import { PyramidView } from './pyramid.js';
import { SamplingView } from './sampling.js';

export class TeachingCards {
  /** `host`: {photo() -> {image, blob} of the current photo or null, say(text) for #message}. */
  constructor(host) {
    const $ = (id) => document.getElementById(id);
    this.sampling = new SamplingView($('sampling'), host);
    this.pyramid = new PyramidView($('pyramid'), host);
    this.balancedL1 = new BalancedL1View($('balanced-l1'), host); // needs no photo
  }

  /** After every change of the dataset. */
  refresh() {
    this.sampling.refresh();
    this.pyramid.refresh();
  }

  /** Shown views follow the model being trained: computed again on it at each of its checkpoints. */
  checkpointed() {
    if (this.sampling.result && !this.sampling.running && !this.sampling.reason()) this.sampling.show();
    if (this.pyramid.result && !this.pyramid.running && !this.pyramid.reason()) this.pyramid.show();
  }

  /** A training step of `run`: its batch's regression errors on the Balanced L1 card. */
  stepped(run, step) {
    this.balancedL1.showBatch(step.reg_errors, run.id, step.step);
  }
}
