// The two IndexedDB steps every store of the page repeats: a request as a promise, and opening a
// database (version 1) with its object stores.

/** `req` (an IDBRequest) as a promise of its result. */
export function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Opens database `name`, creating `stores` (object store names, out-of-line keys) on first use. */
export function openDatabase(name, stores) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      for (const store of stores) req.result.createObjectStore(store);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this page'));
  });
}
