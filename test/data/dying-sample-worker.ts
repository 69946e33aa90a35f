// A sample worker that dies on purpose, for the tests of the sample pool and of training: the
// fault is described in the environment the test sets before the pool starts (worker threads get a
// copy of it), as JSON in TEST_SAMPLE_FAULT:
//   from  the worker dies on every sample at this position of the run or later (SampleSpec.n);
//   how   'exit': the thread calls process.exit(3); 'throw': an error is thrown outside the
//         sample (from a timer), while the sample's promise never settles;
//   once  a file: the worker dies only while it does not exist, and makes it (the sample made
//         again on a new worker then succeeds);
//   log   a file that gets a line per death: the time (Date.now()) and the image.
// Any other sample is made as the real worker makes it.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import type { SampleSpec } from '../../src/data/sample.js';
import makeSampleInWorker, { type WorkerAnswer } from '../../src/data/sample-worker.js';
import { readFlag } from '../../src/util/flags.js';

export interface SampleFault {
  from: number;
  how: 'exit' | 'throw';
  once?: string;
  log?: string;
}

export const FAULT_VARIABLE = 'TEST_SAMPLE_FAULT';
const fault = readFlag(FAULT_VARIABLE) as SampleFault | undefined;

export default async function dyingSampleWorker(spec: SampleSpec): Promise<WorkerAnswer> {
  if (fault && spec.n >= fault.from && !(fault.once && existsSync(fault.once))) {
    if (fault.once) writeFileSync(fault.once, '');
    if (fault.log) appendFileSync(fault.log, `${Date.now()} ${spec.imagePath}\n`);
    if (fault.how === 'exit') process.exit(3);
    setTimeout(() => {
      throw new Error('the decoder crashed outside the sample');
    }, 10);
    return new Promise<never>(() => {});
  }
  return makeSampleInWorker(spec);
}
