// TF's own TF Lite interpreter, for the TF Lite export tests: scripts/tflite/tflite_run.py --serve
// run by the Python DEEPLAB_TF_PYTHON names (default python3), one process for a whole file (TF's
// import takes seconds, more than most of the runs), on inputs written as .npy files here.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readFlag } from '../../src/util/flags.js';

const RUN = 'scripts/tflite/tflite_run.py';
/** The most of the process's stderr kept, for the tail a failure reports. */
const STDERR_KEPT = 64 << 10;

const DESCR = { f32: '<f4', u8: '|u1', i8: '|i1' } as const;

/** A .npy file of `data` with `shape`. */
export function writeNpy(path: string, data: Float32Array | Uint8Array | Int8Array, shape: readonly number[]): void {
  const descr = data instanceof Float32Array ? DESCR.f32 : data instanceof Uint8Array ? DESCR.u8 : DESCR.i8;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  head.set(new TextEncoder().encode(header), 10);
  writeFileSync(path, Buffer.concat([head, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]));
}

export interface TfRun {
  /** The output as TF gives it (values as float32; an int8 or int32 output's integers). */
  output: Float32Array;
  shape: number[];
  info: { input: { dtype: string; quantization: number[] }; output: { dtype: string; name: string; quantization: number[] }; median_ms?: number };
}

/** One model for tfRuns: the .tflite path and the input it is given, in the model's own shape. */
export interface TfInput {
  model: string;
  input: Float32Array | Uint8Array | Int8Array;
  shape: readonly number[];
}

/** The script's options: interpreter threads (1), XNNPACK (on), timed runs after the first (none). */
export interface TfOptions {
  threads?: number;
  xnnpack?: boolean;
  time?: number;
}

/** TF's interpreter in one Python process: started once, asked for runs, closed once done with. */
export class TfProcess {
  private stderr = '';
  /** Each request's answer to come, in the order asked: a stdout line, or why there is none. */
  private readonly waiting: ((answer: string | Error) => void)[] = [];
  private ended: Error | null = null;
  private readonly closed: Promise<void>;

  private constructor(
    readonly python: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_KEPT);
    });
    createInterface({ input: child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
    // A write after the process ended: its end is reported by 'close', with stderr's tail.
    child.stdin.on('error', () => {});
    this.closed = new Promise((resolve) => {
      const end = (why: Error): void => {
        this.ended ??= why;
        for (const answer of this.waiting.splice(0)) answer(this.ended);
        resolve();
      };
      child.on('error', end);
      child.on('close', (code, signal) => end(new Error(`${python} ${RUN} --serve ended (${signal ?? `exit code ${code}`})`)));
    });
  }

  /** Starts the process and waits for TF's import; where it cannot import TF, says why (the caller skips, saying so). */
  static async start(python = readFlag('DEEPLAB_TF_PYTHON')): Promise<TfProcess | { why: string }> {
    const tf = new TfProcess(python, spawn(python, [RUN, '--serve']));
    const first = await tf.answer();
    if (first instanceof Error) {
      const why = tf.stderr ? tf.stderr.trim().split('\n').pop() : first.message;
      return { why: `${python} cannot import tensorflow (${why}); set DEEPLAB_TF_PYTHON to a Python with tensorflow-cpu` };
    }
    let ready: string | undefined;
    try {
      ready = (JSON.parse(first) as { ready?: string } | null)?.ready;
    } catch {}
    if (ready === undefined) {
      await tf.close();
      throw new Error(`${python} ${RUN} --serve began with ${first}, not its ready line`);
    }
    return tf;
  }

  /** The next stdout line, or why none will come. */
  private answer(): Promise<string | Error> {
    if (this.ended) return Promise.resolve(this.ended);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Runs each [model, input, out] and gives each one's JSON line; a failure says the process's stderr tail. */
  async run(triples: readonly [string, string, string][], options: TfOptions = {}): Promise<TfRun['info'][]> {
    const answer = this.answer();
    this.child.stdin.write(`${JSON.stringify({ runs: triples, ...options })}\n`);
    const line = await answer;
    const reply = line instanceof Error ? { error: line.message } : (JSON.parse(line) as { results?: TfRun['info'][]; error?: string });
    if (reply.results) return reply.results;
    // The traceback went to stderr before the answer to stdout: a turn of the loop reads it.
    await new Promise((resolve) => setImmediate(resolve));
    const tail = this.stderr.split('\n').slice(-12).join('\n');
    throw new Error(`${this.python} ${RUN} --serve, ${triples.map((t) => t.join(' ')).join('; ')}: ${reply.error}\n${tail}`);
  }

  /** Ends the process (its stdin closed; killed if it has not gone in 10 s) and waits for it to go. */
  async close(): Promise<void> {
    this.child.stdin.end();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.closed;
    clearTimeout(kill);
  }
}

/** Runs each model on its input in TF's interpreter (one thread unless `options` say otherwise), in `tf`'s process. */
export async function tfRuns(tf: TfProcess, dir: string, runs: readonly TfInput[], options: TfOptions = {}): Promise<TfRun[]> {
  const paths = runs.map((_, i) => {
    const tag = `${i}-${Math.random().toString(36).slice(2)}`;
    return { input: join(dir, `in-${tag}.npy`), output: join(dir, `out-${tag}.npy`) };
  });
  runs.forEach((r, i) => writeNpy(paths[i].input, r.input, r.shape));
  const infos = await tf.run(runs.map((r, i) => [r.model, paths[i].input, paths[i].output]), options);
  return paths.map((p, i) => {
    const out = readNpy(p.output);
    return { output: Float32Array.from(out.data), shape: out.shape, info: infos[i] };
  });
}
