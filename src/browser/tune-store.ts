// The browser's stand-in for src/gpu/tune-store.ts: kernel choices in IndexedDB (database
// 'deeplab-webgpu', store 'tuning', one record per adapter). Without IndexedDB (a private
// window that refuses it) nothing is kept and every page load starts from the defaults.
export interface TuneStore {
  load(id: string): Promise<unknown>;
  save(id: string, record: unknown): Promise<void>;
  where(id: string): string;
}

/** What the page may know of the CPU behind a software adapter. */
export function hostDescription(): string {
  const cores = typeof navigator === 'undefined' ? 0 : navigator.hardwareConcurrency ?? 0;
  return `browser host x${cores}`;
}

const DB = 'deeplab-webgpu';
const STORE = 'tuning';

function openDb(): Promise<IDBDatabase | null> {
  if (typeof indexedDB === 'undefined') return Promise.resolve(null);
  return new Promise((resolve) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
  });
}

function request<T>(db: IDBDatabase, mode: IDBTransactionMode, run: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = run(db.transaction(STORE, mode).objectStore(STORE));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`deeplab: IndexedDB ${STORE}: ${req.error?.message ?? 'request failed'}`));
  });
}

export function openTuneStore(): TuneStore {
  const db = openDb();
  return {
    where: (id) => `IndexedDB ${DB}/${STORE}/${id}`,
    async load(id) {
      const d = await db;
      return d ? request(d, 'readonly', (s) => s.get(id)) : undefined;
    },
    async save(id, record) {
      const d = await db;
      if (d) await request(d, 'readwrite', (s) => s.put(record, id));
    },
  };
}
