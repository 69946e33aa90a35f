// Run by mmseg-config-text.test.ts in a process of its own (node --expose-gc): loads refused in
// turn (a missing file, a sliding window over the device's storage-binding limit, a memory budget
// under the weights' need), then a valid load segments the mmseg fixture image. Prints one JSON
// line: the refusals' messages and the labels. V8 collects garbage while the valid load compiles
// its kernels, since that is when a refusal's leftovers once broke the next load
// (src/gpu/context.ts, dawnInstance).
import { loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { sharedPath } from '../shared.js';

const [valid, tooBig, missing] = process.argv.slice(2);
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('refused-load-child: run with node --expose-gc');

const refusals: string[] = [];
const refuse = async (load: () => Promise<unknown>): Promise<void> => {
  try {
    await load();
    refusals.push('(loaded)');
  } catch (e) {
    refusals.push((e as Error).message);
  }
};
await refuse(() => loadModel(missing));
await refuse(() => loadModel(tooBig));
await refuse(() => loadModel(valid, { memoryBudget: 1e6 }));

let collecting = false;
const model = await loadModel(valid, {
  onProgress: () => {
    if (collecting) return;
    collecting = true;
    for (const ms of [0, 20, 100, 300]) setTimeout(collect, ms);
  },
});
try {
  const t = readNpy(sharedPath('fixtures', 'mmseg', 'input_97x129_uint8.npy'));
  const { classes } = await model.segment({ width: 129, height: 97, data: Uint8Array.from(t.data) });
  console.log(JSON.stringify({ refusals, labels: Buffer.from(classes).toString('base64') }));
} finally {
  model.dispose();
}
