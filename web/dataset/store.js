// The dataset kept in IndexedDB, database 'libra-rcnn-dataset' (apart from modelstore.js's
// 'libra-rcnn'): store 'photos' (key: image id, value: the photo's Blob) and store 'state'
// (key 'dataset': the dataset of model.js, which holds no pixels). Every change is written at
// once; writes queued meanwhile are joined into the next transaction, in order.
import { openDatabase, request } from '../idb.js';

const DB_NAME = 'libra-rcnn-dataset';
const PHOTOS = 'photos';
const STATE = 'state';
const KEY = 'dataset';

export class DatasetStore {
  /** Opens the database; rejects where IndexedDB is unavailable (private mode, blocked storage). */
  static async open() {
    const store = new DatasetStore();
    store.db = await openDatabase(DB_NAME, [PHOTOS, STATE]);
    store.db.onversionchange = () => store.db.close();
    return store;
  }

  constructor() {
    this.db = null;
    this.pending = null; // {ds, put: Map id -> Blob, del: Set id, clear}
    this.writing = null; // the promise of the transaction in flight
    this.onError = () => {};
  }

  /** The saved dataset and its photos: {ds (null if none), blobs: Map id -> Blob}. */
  async load() {
    const tx = this.db.transaction([PHOTOS, STATE], 'readonly');
    const [ds, keys, values] = await Promise.all([
      request(tx.objectStore(STATE).get(KEY)),
      request(tx.objectStore(PHOTOS).getAllKeys()),
      request(tx.objectStore(PHOTOS).getAll()),
    ]);
    return { ds: ds ?? null, blobs: new Map(keys.map((k, i) => [k, values[i]])) };
  }

  /** Queues writing `ds` with photos to add (`put`: [[id, blob]]) and ids to delete; `clear` empties the photos first. */
  save(ds, { put = [], del = [], clear = false } = {}) {
    const p = (this.pending ??= { ds, put: new Map(), del: new Set(), clear: false });
    p.ds = ds;
    if (clear) {
      p.clear = true;
      p.put.clear();
      p.del.clear();
    }
    for (const id of del) {
      p.put.delete(id);
      p.del.add(id);
    }
    for (const [id, blob] of put) p.put.set(id, blob);
    if (!this.writing) this.writing = this.drain();
    return this.flush();
  }

  /** Resolves once everything queued is committed. */
  async flush() {
    while (this.writing) await this.writing;
  }

  async drain() {
    while (this.pending) {
      const p = this.pending;
      this.pending = null;
      try {
        await new Promise((resolve, reject) => {
          const tx = this.db.transaction([PHOTOS, STATE], 'readwrite');
          const photos = tx.objectStore(PHOTOS);
          if (p.clear) photos.clear();
          for (const id of p.del) photos.delete(id);
          for (const [id, blob] of p.put) photos.put(blob, id);
          tx.objectStore(STATE).put(p.ds, KEY);
          tx.oncomplete = resolve;
          tx.onerror = tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
        });
      } catch (e) {
        this.onError(e);
      }
    }
    this.writing = null;
  }
}
