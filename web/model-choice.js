// Choosing the detector's model: a file from #model-input (or opened or dropped as a picture
// would be), one trained in the page, or the default again (#model-reset). The model controls
// wait while a model loads in the DetectorEngine (./detector-engine.js).

export class ModelChoice {
  #engine;
  #input;
  #reset;

  /** `engine`: the DetectorEngine; `input`, `reset`: #model-input and #model-reset. */
  constructor(engine, { input, reset }) {
    this.#engine = engine;
    this.#input = input;
    this.#reset = reset;
    input.addEventListener('change', () => {
      const file = input.files[0];
      input.value = '';
      if (file) this.loadFile(file);
    });
    reset.addEventListener('click', () => this.reset());
  }

  /** Loads a model file (.lrc or .safetensors). */
  loadFile(file) {
    return this.#change(() => this.#engine.loadFile(file));
  }

  /** Makes `bytes` (a model trained in this page) the live detector, cached for the next visit. */
  loadBytes(bytes, name) {
    return this.#change(() => this.#engine.loadBytes(bytes, name));
  }

  /** Back to the default model; the cached one is forgotten. */
  reset() {
    return this.#change(() => this.#engine.reset());
  }

  /** Loads a model file or the default one; the model controls wait meanwhile. */
  async #change(load) {
    this.#input.disabled = this.#reset.disabled = true;
    try {
      await load();
    } finally {
      this.#input.disabled = this.#reset.disabled = false;
    }
  }
}
