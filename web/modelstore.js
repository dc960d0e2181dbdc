// The user's model, kept in IndexedDB (database 'libra-rcnn', store 'models', key 'user-model',
// value {name, bytes, savedAt}). Where IndexedDB is unavailable (private mode, blocked storage)
// these calls warn on the console and behave as if nothing is cached.
import { openDatabase } from './idb.js';

const DB_NAME = 'libra-rcnn';
const STORE = 'models';
const KEY = 'user-model';

/** Runs `op(store)` in a transaction and resolves with its request's result once committed. */
async function transact(mode, op) {
  const db = await openDatabase(DB_NAME, [STORE]);
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = op(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    });
  } finally {
    db.close();
  }
}

/** The cached model {name, bytes: ArrayBuffer, savedAt}, or null. */
export async function loadUserModel() {
  try {
    const value = await transact('readonly', (s) => s.get(KEY));
    return value?.bytes instanceof ArrayBuffer ? value : null;
  } catch (e) {
    console.warn('No model cache (IndexedDB unavailable):', e);
    return null;
  }
}

/** Caches a model that loaded successfully; resolves false if it could not be stored. */
export async function saveUserModel(name, bytes) {
  try {
    await transact('readwrite', (s) => s.put({ name, bytes, savedAt: Date.now() }, KEY));
    return true;
  } catch (e) {
    console.warn('The model could not be cached (IndexedDB unavailable):', e);
    return false;
  }
}

export async function deleteUserModel() {
  try {
    await transact('readwrite', (s) => s.delete(KEY));
  } catch (e) {
    console.warn('The model cache could not be cleared:', e);
  }
}
