// The tensors of a folder of .npy files, through a FileSet. Node only: the .npy reader's module
// also reads paths (node:fs), so the page bundles a stand-in of this module
// (src/browser/npy-folder.ts) that refuses.
import { excerpt } from '../../../io/reader-rules.js';
import { parseNpy } from '../../weights/import/npy.js';
import type { TensorMap } from '../../weights/import/tensor-map.js';
import type { FileSet } from './format.js';

/** Every *.npy of the folder, keyed by file name without the extension, sorted by name. */
export function npyFolderTensors(files: FileSet): TensorMap {
  const names = files.names.filter((f) => f.endsWith('.npy')).sort();
  if (names.length === 0) {
    const held = files.names.slice(0, 5).map((n) => excerpt(n, 40)).join(', ');
    const weights = files.names.some((n) => n === 'model.safetensors' || n === 'pytorch_model.bin');
    throw new Error(`${files.what}: no .npy files in the folder${held ? ` (it holds ${held}${files.names.length > 5 ? ', ...' : ''})` : ' (it is empty)'}${weights ? '; an smp or hub folder needs its config.json' : ''}`);
  }
  return new Map(names.map((f) => [f.slice(0, -'.npy'.length), parseNpy(files.read(f), `${files.what}/${f}`)]));
}
