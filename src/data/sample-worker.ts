// Worker-thread entry of the sample pool: makes the samples it is sent and transfers them back.
import { parentPort } from 'node:worker_threads';
import { type SampleSpec, makeSample } from './sample.js';

parentPort!.on('message', async ({ id, spec }: { id: number; spec: SampleSpec }) => {
  try {
    const s = await makeSample(spec);
    parentPort!.postMessage({ id, sample: s }, [s.image.buffer as ArrayBuffer, s.label.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id, error: (e as Error).message });
  }
});
