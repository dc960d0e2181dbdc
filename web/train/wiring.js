// The training card (./card.js) connected to the page: it trains on the dataset being edited
// (../dataset/session.js) from the running detector's model, and makes a run's model the
// detector on request (window.libraApp, web/app.js); from a run's start the teaching views ask
// its model (window.libraApp.trainer) and follow its checkpoints and batches (../teach/cards.js).
// Also window.libraTraining for tests.
import { TrainCard } from './card.js';

/** Makes the card for `session` and the teaching `cards`; `say(text)` puts a message in #message. */
export function wireTraining(session, cards, say) {
  const training = new TrainCard(document.getElementById('train'), {
    dataset: () => ({ ds: session.ds, blobs: session.blobs }),
    say,
    detector: () => window.libraApp?.detectorModel() ?? null,
    useModel: (bytes, name) => window.libraApp.useModel(bytes, name),
    started(run) {
      window.libraApp.trainer = run; // the views ask the model being trained from now on
    },
    stepped: (run, step) => cards.stepped(run, step),
    checkpointed: () => cards.checkpointed(),
  });
  window.addEventListener('libra:detector', () => training.refresh());

  window.libraTraining = {
    /** {state, split, runs: [{id, label, state, options, steps, evals, modelStep, error, warnings, saved}], storage}. */
    get state() { return training.state; },
    pause: () => training.current?.pause(),
    resume: () => training.current?.resume(),
    stop: () => training.current?.stop(),
    /** The saved model of run `id` (base64 of its .lrc bytes), or null. */
    modelBase64(id) {
      const bytes = training.runs.find((r) => r.id === id)?.model?.bytes;
      if (!bytes) return null;
      const u8 = new Uint8Array(bytes);
      let text = '';
      for (let i = 0; i < u8.length; i += 0x8000) text += String.fromCharCode(...u8.subarray(i, i + 0x8000));
      return btoa(text);
    },
  };
  return training;
}
