// The browser's stand-in for src/model/loading/load-weights.ts, Node's loader by registry name or
// file path (the weights store, the download cache, folders of .npy files) and its saving to a
// path. A page loads from a URL, a File or bytes with loadModel (load.ts) and saves with
// checkpointBytes; what needs no file system is the same module as in Node.
export type { LoadedWeights } from '../model/loading/weights-from-bytes.js';
export { scaledRates } from '../model/loading/weights-from-bytes.js';
export { checkpointContents } from '../model/loading/checkpoint-contents.js';

export async function loadWeights(nameOrPath: string): Promise<never> {
  throw new Error(`deeplab: ${nameOrPath}: a page loads weights from a URL, a File or bytes with loadModel(), not by registry name or path`);
}

export function saveCheckpoint(path: string): never {
  throw new Error(`deeplab: cannot save ${path}: a page has no file system; take the bytes (checkpointBytes) and download or store them`);
}
