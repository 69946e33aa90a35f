// A model (a hub folder loaded here, fine-tuned or not) written back as a Hugging Face hub folder
// that `transformers` and our loader read, each file atomically; what the files hold is
// hub-folder-files.ts's (config.json, preprocessor_config.json, model.safetensors), which the
// page shares.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HostParams } from '../../graph/params.js';
import { writeFileAtomic } from '../../util/write-atomic.js';
import type { LoadedWeights } from '../loading/loaded-weights.js';
import { hubFolderFiles } from './hub-folder-files.js';

export { hubFolderBackbones, hubFolderContents } from './hub-folder-files.js';

/** Writes the hub folder (created if needed; each file written atomically). */
export function writeHubFolder(dir: string, w: LoadedWeights, params: HostParams = w.params): void {
  const files = hubFolderFiles(w, params);
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of files) writeFileAtomic(join(dir, name), bytes);
}
