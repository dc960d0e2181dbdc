// The entry of the "Your dataset" section (index.html loads it): the dataset editor
// (./section.js), the teaching cards about its current photo (../teach/cards.js) and the training
// card (../train/wiring.js), made and kept in step; window.libraDataset for tests.
import { TeachingCards } from '../teach/cards.js';
import { wireTraining } from '../train/wiring.js';
import * as M from './model.js';
import { DatasetSection } from './section.js';

function say(text) {
  document.getElementById('message').textContent = text;
}

const section = new DatasetSection(say, () => {
  cards.refresh();
  training.refresh();
});
const { session } = section;
const cards = new TeachingCards({ photo: () => session.photo(), say });
const training = wireTraining(session, cards, say);

window.libraDataset = {
  get images() { return M.snapshot(session.ds).images; },
  get classes() { return M.snapshot(session.ds).classes; },
  get current() { return session.ds.current; },
  get activeClass() { return session.ds.activeClass; },
  get selected() { return session.selected; },
  /** True once the current photo's picture is decoded and on the canvas (the mouse works from then on). */
  get pictureReady() { return Boolean(session.pictures.bitmaps.get(session.ds.current)); },
  /** The sampling view's last result and what it draws (../teach/sampling.js). */
  get samplingView() { return cards.sampling.state; },
  /** The feature pyramid view's last result, attention and what it draws (../teach/pyramid.js). */
  get pyramidView() { return cards.pyramid.state; },
  /** The Balanced L1 view's values, last curves and what it draws (../teach/balanced-l1.js). */
  get balancedL1View() { return cards.balancedL1.state; },
  /** Sets the Balanced L1 view's {alpha, gamma} as its sliders do (any numbers); resolves once drawn, refused or superseded. */
  setBalancedL1: (params) => cards.balancedL1.set(params),
  /** Resolves once every change is written to IndexedDB. */
  flush: () => session.flush(),
};

section.open();
