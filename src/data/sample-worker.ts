// Worker-thread entry of the sample pool (piscina runs it): makes one sample and moves its arrays
// back rather than copying them. A sample that cannot be made (a damaged file) is an answer,
// { error }, not a throw, so the pool tells it apart from a worker that died under it.
// The pool never terminates a thread in the middle of a sample: that can abort the whole process
// (Node asserts when a zlib handle it was setting up is torn down before its init, as pngjs'
// inflate is).
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { type Sample, type SampleSpec, makeSample } from './sample.js';

export type WorkerAnswer = { sample: Sample } | { error: string };

export default async function makeSampleInWorker(spec: SampleSpec): Promise<WorkerAnswer> {
  let sample: Sample;
  try {
    sample = await makeSample(spec);
  } catch (e) {
    return { error: (e as Error).message };
  }
  const answer: WorkerAnswer = { sample };
  return move({ [transferableSymbol]: [sample.image.buffer, sample.label.buffer], [valueSymbol]: answer }) as unknown as WorkerAnswer;
}
