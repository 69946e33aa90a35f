// Worker-thread entry of the sample pool: makes the samples it is sent and transfers them back.
// On { stop: true } it finishes the samples it owes, then closes its port so the thread ends by
// itself: a thread terminated mid-decode can abort the whole process (Node asserts when a zlib
// handle it was setting up is torn down before its init, as pngjs' inflate is).
import { parentPort } from 'node:worker_threads';
import { type SampleSpec, makeSample } from './sample.js';

let owed = 0;
let stopping = false;

parentPort!.on('message', async (m: { id: number; spec: SampleSpec } | { stop: true }) => {
  if ('stop' in m) {
    stopping = true;
    if (owed === 0) parentPort!.close();
    return;
  }
  owed++;
  try {
    const s = await makeSample(m.spec);
    parentPort!.postMessage({ id: m.id, sample: s }, [s.image.buffer as ArrayBuffer, s.label.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  } finally {
    owed--;
    if (stopping && owed === 0) parentPort!.close();
  }
});
