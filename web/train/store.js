// Training runs kept in IndexedDB, database 'libra-rcnn-runs' (apart from the dataset's and the
// model cache's): store 'runs' (key: run id; value: ./storage.js's runRecord), 'steps' (key
// [run id, step]: stepRecord), 'models' (key [run id, step]: the model copy's .lrc bytes) and
// 'copies' (same keys: {size}, read at load instead of the bytes). Writes are queued and made
// one transaction at a time: a run's record with its new steps, then each new model copy with
// the record and the older copies the budget drops (./storage.js). A failed transaction (a full
// storage) changes nothing, so what was saved before stays as it was.
import { openDatabase, request } from '../idb.js';
import { copiesToDrop, MODEL_BUDGET_BYTES, runRecord, stepRecord } from './storage.js';

const DB_NAME = 'libra-rcnn-runs';
const STORES = ['runs', 'steps', 'models', 'copies'];

const ofRun = (id) => IDBKeyRange.bound([id, -Infinity], [id, Infinity]);

/** Runs `work(tx)` in a readwrite transaction over `stores`; resolves once committed. If `work` throws, nothing is written. */
function transact(db, stores, work) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, 'readwrite');
    tx.oncomplete = () => resolve();
    tx.onerror = (e) => reject(e.target.error ?? tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    try {
      work(tx);
    } catch (e) {
      reject(e);
      tx.abort();
    }
  });
}

/**
 * For tests: `?runs-quota=MB` in the page's address makes the store act as if the browser's
 * storage held only MB megabytes of model copies: a copy that would bring them above it fails as
 * a full storage does (QuotaExceededError, its transaction aborted). Null without it.
 */
export function quotaFromUrl(search) {
  const mb = new URLSearchParams(search).get('runs-quota')?.trim();
  return mb && Number(mb) >= 0 ? Number(mb) * 1e6 : null;
}

export class RunStore {
  /** Opens the database; rejects where IndexedDB is unavailable (private mode, blocked storage). */
  static async open({ budget = MODEL_BUDGET_BYTES, quota = null } = {}) {
    const db = await openDatabase(DB_NAME, STORES);
    db.onversionchange = () => db.close();
    return new RunStore(db, budget, quota);
  }

  /** (error, {run, copyStep}) for a write that failed: `copyStep` null for a run's record and steps. */
  onError = () => {};
  /** Called when the model copies kept changed. */
  onCopies = () => {};

  #db;
  #budget;
  #quota;
  #copies = []; // the copies kept: {run, step, size}
  #saved = new Map(); // run id -> {step, evals}: the last step and the number of evals committed
  #pending = new Map(); // run id -> {run, copies: [{step, bytes}]}
  #writing = null; // the drain in flight

  constructor(db, budget, quota) {
    this.#db = db;
    this.#budget = budget;
    this.#quota = quota;
  }

  get budget() {
    return this.#budget;
  }

  /** Bytes of the model copies kept. */
  get bytes() {
    return this.#copies.reduce((a, c) => a + c.size, 0);
  }

  /** Bytes of the model copies kept for runs `ids`. */
  bytesOf(ids) {
    return this.#copies.filter((c) => ids.includes(c.run)).reduce((a, c) => a + c.size, 0);
  }

  get copies() {
    return this.#copies.length;
  }

  /** The steps of run `id`'s kept model copies, in order. */
  copySteps(id) {
    return this.#copies.filter((c) => c.run === id).map((c) => c.step).sort((a, b) => a - b);
  }

  /** What is committed of run `id`: {step, evals, copies: [steps]}, or null if nothing. */
  saved(id) {
    const s = this.#saved.get(id);
    return s ? { ...s, copies: this.copySteps(id) } : null;
  }

  /** The saved runs, oldest first: [{record, steps, copySteps}]. */
  async load() {
    const tx = this.#db.transaction(['runs', 'steps', 'copies'], 'readonly');
    const [records, stepKeys, steps, copyKeys, copies] = await Promise.all([
      request(tx.objectStore('runs').getAll()),
      request(tx.objectStore('steps').getAllKeys()),
      request(tx.objectStore('steps').getAll()),
      request(tx.objectStore('copies').getAllKeys()),
      request(tx.objectStore('copies').getAll()),
    ]);
    this.#copies = copyKeys.map(([run, step], i) => ({ run, step, size: copies[i].size }));
    const stepsOf = new Map(records.map((r) => [r.id, []]));
    stepKeys.forEach(([run], i) => stepsOf.get(run)?.push(steps[i])); // in key order: by step
    for (const r of records) this.#saved.set(r.id, { step: stepsOf.get(r.id).at(-1)?.step ?? 0, evals: r.evals.length });
    return records.sort((a, b) => a.id - b.id).map((record) => ({ record, steps: stepsOf.get(record.id), copySteps: this.copySteps(record.id) }));
  }

  /** Queues saving `run` (its record and the steps not saved yet) and `copy`, a new model copy {step, bytes}, if given. */
  save(run, copy = null) {
    const p = this.#pending.get(run.id) ?? { run, copies: [] };
    if (copy) p.copies.push(copy);
    this.#pending.set(run.id, p);
    this.#writing ??= this.#drain();
  }

  /** Resolves once everything queued is committed (or has failed). */
  async flush() {
    while (this.#writing) await this.#writing;
  }

  /** The model copy of run `id` at `step` (ArrayBuffer), or null if it is not kept. */
  async model(id, step) {
    const tx = this.#db.transaction('models', 'readonly');
    return (await request(tx.objectStore('models').get([id, step]))) ?? null;
  }

  /** Deletes runs `ids` with their steps and model copies. */
  async delete(ids) {
    for (const id of ids) this.#pending.delete(id);
    await this.flush();
    await transact(this.#db, STORES, (tx) => {
      for (const id of ids) {
        tx.objectStore('runs').delete(id);
        for (const name of ['steps', 'models', 'copies']) tx.objectStore(name).delete(ofRun(id));
      }
    });
    for (const id of ids) this.#saved.delete(id);
    this.#copies = this.#copies.filter((c) => !ids.includes(c.run));
    this.onCopies();
  }

  async #drain() {
    while (this.#pending.size) {
      const batch = [...this.#pending.values()];
      this.#pending.clear();
      for (const { run, copies } of batch) {
        await this.#attempt(run, null, () => this.#writeCurves(run));
        for (const copy of copies) await this.#attempt(run, copy.step, () => this.#writeCopy(run, copy));
      }
    }
    this.#writing = null;
  }

  async #attempt(run, copyStep, write) {
    try {
      await write();
    } catch (e) {
      this.onError(e, { run: run.id, copyStep });
    }
  }

  async #writeCurves(run) {
    const saved = this.#saved.get(run.id) ?? { step: 0, evals: 0 };
    let from = run.steps.length;
    while (from > 0 && run.steps[from - 1].step > saved.step) from--;
    const fresh = run.steps.slice(from);
    const evals = run.evals.length;
    await transact(this.#db, ['runs', 'steps'], (tx) => {
      tx.objectStore('runs').put(runRecord(run), run.id);
      for (const s of fresh) tx.objectStore('steps').put(stepRecord(s), [run.id, s.step]);
    });
    this.#saved.set(run.id, { step: fresh.at(-1)?.step ?? saved.step, evals });
  }

  async #writeCopy(run, { step, bytes }) {
    const copy = { run: run.id, step, size: bytes.byteLength };
    const all = [...this.#copies.filter((c) => c.run !== run.id || c.step !== step), copy];
    const drop = copiesToDrop(all, this.#budget);
    const kept = all.filter((c) => !drop.includes(c));
    const evals = run.evals.length;
    await transact(this.#db, ['runs', 'models', 'copies'], (tx) => {
      tx.objectStore('runs').put(runRecord(run), run.id); // a copy is never kept without its run
      for (const c of drop) {
        tx.objectStore('models').delete([c.run, c.step]);
        tx.objectStore('copies').delete([c.run, c.step]);
      }
      if (!drop.includes(copy)) {
        tx.objectStore('models').put(bytes, [run.id, step]);
        tx.objectStore('copies').put({ size: copy.size }, [run.id, step]);
      }
      const total = kept.reduce((a, c) => a + c.size, 0);
      if (this.#quota !== null && total > this.#quota) throw new DOMException(`the model copies would take ${total} bytes, over the ${this.#quota} of ?runs-quota`, 'QuotaExceededError');
    });
    this.#copies = kept;
    this.#saved.set(run.id, { step: this.#saved.get(run.id)?.step ?? 0, evals });
    this.onCopies();
  }
}
