// Run by mmseg-config-text.test.ts in a process of its own (node --expose-gc): loads refused in
// turn (a missing file, a sliding window over the device's storage-binding limit, a memory budget
// under the weights' need; the window again on a context of the caller's), then a valid load on
// that context segments the mmseg fixture image. Prints one JSON
// line: the refusals' messages, the context's buffers before and after its refusal, and the labels. V8 collects garbage while the valid load compiles
// its kernels, since that is when a refusal's leftovers once broke the next load
// (src/gpu/context.ts, dawnInstance).
import { GpuContext } from '../../src/gpu/context.js';
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
// On a caller's context: the refusal gives back every buffer it made, and the context serves the valid load.
const ctx = await GpuContext.create();
const buffers = ctx.liveBufferCount;
await refuse(() => loadModel(tooBig, { ctx }));
const buffersAfter = ctx.liveBufferCount;

let collecting = false;
const model = await loadModel(valid, {
  ctx,
  onProgress: () => {
    if (collecting) return;
    collecting = true;
    for (const ms of [0, 20, 100, 300]) setTimeout(collect, ms);
  },
});
try {
  const t = readNpy(sharedPath('fixtures', 'mmseg', 'input_97x129_uint8.npy'));
  const { classes } = await model.segment({ width: 129, height: 97, data: Uint8Array.from(t.data) });
  console.log(JSON.stringify({ refusals, buffers, buffersAfter, labels: Buffer.from(classes).toString('base64') }));
} finally {
  model.dispose();
  ctx.destroy();
}
