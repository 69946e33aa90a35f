// A model of smp's (loaded from an smp folder, or fine-tuned from one) written back as the folder
// `model.save_pretrained(dir)` writes, which `smp.from_pretrained(dir)` loads: config.json (the
// constructor's arguments, keys sorted, 2-space indent, no final newline) and model.safetensors
// (no metadata; the I64 counters first, then the F32 tensors, each group by name in byte order, as
// safetensors' save_model orders them), with the tensors the file held that no graph reads
// (num_batches_tracked, an encoder's unused layers) written back as they were. The files' contents
// are smp-folder-files.ts's, which the page shares.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HostParams } from '../../graph/params.js';
import type { LoadedWeights } from '../loading/loaded-weights.js';
import { writeFileAtomic } from '../../util/write-atomic.js';
import { writeSafetensors } from './import/safetensors.js';
import { smpConfigJson, smpRefusal, smpStateDict } from './smp-folder-files.js';

export { smpConfigObject, smpRefusal, smpStateDict } from './smp-folder-files.js';

/** Writes the folder (created if needed; each file atomically). */
export function writeSmpFolder(dir: string, w: LoadedWeights, params: HostParams = w.params): void {
  const why = smpRefusal(w);
  if (why) throw new Error(why);
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'config.json'), smpConfigJson(w));
  writeSafetensors(join(dir, 'model.safetensors'), smpStateDict(w, params));
}
