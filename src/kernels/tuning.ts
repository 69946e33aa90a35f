// Kernel families with choices describe them the same way, so one tuner times them all and one
// rule picks what runs:
//  - a layer's `LayerSpace`: its tuning key (the family's name in the tuning store, the layer's
//    shape key and its precision), its valid candidates for that precision (the adapter class's
//    default first: precision.ts makes them) and a checksum of their names and of the WGSL the
//    space compiles (`sourcesVersion`), so an edited kernel's old choices go unused;
//  - `chosenCandidate`: what a program runs, the candidate measured fastest on this adapter for
//    this key (src/gpu/tuning.ts stores it) if it is still a candidate, else the default;
//  - a `TunableLayer` (what an op definition's `tunable` returns, src/graph/tune.ts times it):
//    the operands to time on and, per candidate, how to prepare its dispatches.
import type { GpuContext } from '../gpu/context.js';
import type { Dispatch } from '../gpu/dispatch.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { loadShader } from '../gpu/shader-source.js';
import { type FloatType, type TuneKey, candidateChecksum, fnv1a } from '../gpu/tuning.js';
import { type Summed, accumulationError } from './precision.js';

export interface Candidate<V> extends Summed<V> {
  /** A short stable name: the tuning store keeps choices by it. */
  name: string;
}

export interface LayerSpace<V> extends TuneKey {
  /** Valid candidates for the key's precision, the adapter class's default first. */
  candidates: Candidate<V>[];
  /** Of the space's version and candidate names: a changed space makes old choices unused, not wrong. */
  checksum: string;
}

const versions = new Map<string, string>();

/**
 * A candidate space's version: a hash of the WGSL its kernels compile (each with its includes
 * expanded), so editing a kernel makes the choices stored for it unused rather than wrong. Worked
 * out once per list of shaders, when first asked. `load` gives a shader's expanded source (tests
 * pass their own; then nothing is kept).
 */
export function sourcesVersion(shaders: readonly string[], load: (name: string) => string = loadShader): string {
  const key = shaders.join('\n');
  let version = load === loadShader ? versions.get(key) : undefined;
  if (version === undefined) {
    const text = shaders.map((name) => `${name}\n${load(name)}`).join('\n');
    version = fnv1a(text) + fnv1a(text, 0x01234567);
    if (load === loadShader) versions.set(key, version);
  }
  return version;
}

/** `key`: the layer's; `version`: the space's `sourcesVersion`; `candidates`: for the key's precision (precision.ts). */
export function layerSpace<V>(key: TuneKey, version: string, candidates: Candidate<V>[]): LayerSpace<V> {
  if (!candidates.length) throw new Error(`${key.kernel}: no candidate can run the layer ${key.shape}`);
  return { kernel: key.kernel, shape: key.shape, precision: key.precision, candidates, checksum: candidateChecksum(version, candidates.map((c) => c.name)) };
}

/** The candidate a layer runs on `ctx`: the one measured fastest for its shape in its precision while it is still a candidate, else the default. */
export function chosenCandidate<V>(ctx: GpuContext, space: LayerSpace<V>): Candidate<V> {
  const name = ctx.tuning.choice(space, space.checksum);
  return (name === undefined ? undefined : space.candidates.find((c) => c.name === name)) ?? space.candidates[0];
}

/** An operand a candidate is timed on: inputs filled with data, outputs and scratch left as they are. */
export interface TuningOperand {
  shape: number[];
  fill: boolean;
  /** Its type: 'f32' unless given (half-precision layers time on f16 tensors). */
  dtype?: FloatType;
}

/** One layer shape with choices in its precision, as the tuner times it. */
export interface TunableLayer extends TuneKey {
  checksum: string;
  operands: TuningOperand[];
  /** The operand the candidates write (what the accuracy check compares). */
  output?: number;
  /**
   * The default first; each prepares its dispatches on tensors of `operands`' shapes, in order.
   * `accuracy`: a candidate that trades accuracy for speed (f16 accumulation) is timed only if
   * its output is within this relative error of the default's on the same operands.
   */
  candidates: { name: string; accuracy?: number; prepare(ctx: GpuContext, tensors: GpuTensor[]): Dispatch[] }[];
}

/**
 * A space's candidates made timeable: `prepare` runs one candidate on the operand tensors. A
 * candidate summing in f16 carries the error it is allowed against the default's output, which
 * the tuner reads from operand `output`: a space that may hold such candidates names it.
 */
export function tunableLayer<V>(
  space: LayerSpace<V>,
  operands: TuningOperand[],
  prepare: (ctx: GpuContext, tensors: GpuTensor[], candidate: Candidate<V>) => Dispatch[],
  output?: number,
): TunableLayer {
  return {
    kernel: space.kernel,
    shape: space.shape,
    precision: space.precision,
    checksum: space.checksum,
    operands,
    ...(output !== undefined ? { output } : {}),
    candidates: space.candidates.map((c) => {
      const accuracy = accumulationError(c.accumulate);
      return { name: c.name, ...(accuracy !== undefined ? { accuracy } : {}), prepare: (ctx: GpuContext, tensors: GpuTensor[]) => prepare(ctx, tensors, c) };
    }),
  };
}
