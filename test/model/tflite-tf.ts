// TF's own TF Lite interpreter, for the TF Lite export tests: scripts/tflite/tflite_run.py run by
// the Python DEEPLAB_TF_PYTHON names (default python3), on inputs written as .npy files here.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readFlag } from '../../src/util/flags.js';

const RUN = 'scripts/tflite/tflite_run.py';

/** The Python to run TF with, or why there is none (the caller skips, saying so). */
export function tfPython(): { python: string } | { why: string } {
  const python = readFlag('DEEPLAB_TF_PYTHON');
  const probe = spawnSync(python, ['-c', 'import tensorflow'], { encoding: 'utf8' });
  if (probe.status === 0) return { python };
  const why = probe.error?.message ?? probe.stderr.trim().split('\n').pop();
  return { why: `${python} cannot import tensorflow (${why}); set DEEPLAB_TF_PYTHON to a Python with tensorflow-cpu` };
}

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

/**
 * Runs each model on its input in TF's interpreter, one thread, all in one Python process (TF's
 * import takes seconds, more than most of the runs); `extra` adds the script's options.
 */
export function tfRuns(python: string, dir: string, runs: readonly TfInput[], extra: string[] = []): TfRun[] {
  const paths = runs.map((_, i) => {
    const tag = `${i}-${Math.random().toString(36).slice(2)}`;
    return { input: join(dir, `in-${tag}.npy`), output: join(dir, `out-${tag}.npy`) };
  });
  runs.forEach((r, i) => writeNpy(paths[i].input, r.input, r.shape));
  const args = runs.flatMap((r, i) => [r.model, paths[i].input, paths[i].output]);
  const r = spawnSync(python, [RUN, ...args, ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${python} ${RUN} ${runs.map((x) => x.model).join(' ')}: ${r.stdout}\n${r.stderr.split('\n').slice(-12).join('\n')}`);
  // One JSON line per model, in order, after whatever TF printed first.
  const lines = r.stdout.trim().split('\n').slice(-runs.length);
  return paths.map((p, i) => {
    const out = readNpy(p.output);
    return { output: Float32Array.from(out.data), shape: out.shape, info: JSON.parse(lines[i]) as TfRun['info'] };
  });
}
