// What a tensor must be to become a parameter of our networks, checked where weights meet the
// model (the TF, torchvision, mmseg and checkpoint mappings call these): a float parameter stored
// as an integer type is refused naming the tensor and both dtypes (TensorFlow, too, refuses to
// restore a variable whose dtype differs); weights are finite; a batch norm's epsilon is
// positive and its variance not negative. Float16, bfloat16 and float64 are accepted and become
// float32 (f16 and bf16 exactly, f64 rounded once): checkpoints legitimately store weights so.
// Integer tensors are accepted only where they are not weights: counters (torch's
// num_batches_tracked) and graph constants (a TFLite resize's size), which no parameter takes.
import { checkFinite } from '../../io/reader-rules.js';
import type { SourceDType } from './import/tensor-map.js';

const DTYPE_NAMES: Readonly<Record<SourceDType, string>> = {
  f32: 'float32',
  f16: 'float16',
  bf16: 'bfloat16',
  f64: 'float64',
  i64: 'int64',
  i32: 'int32',
  u8: 'uint8',
  i8: 'int8',
  bool: 'bool',
};

/** A tensor as the weight readers give it (a missing dtype is float32: built in memory). */
export interface WeightTensor {
  readonly data: Float32Array;
  readonly sourceDType?: SourceDType;
}

/** Whether a stored dtype is a float type (missing: float32). */
export function isFloatDType(dtype: SourceDType | undefined): boolean {
  return dtype === undefined || dtype === 'f32' || dtype === 'f16' || dtype === 'bf16' || dtype === 'f64';
}

/** A float parameter of the network: stored as a float type, every value finite. */
export function checkFloatWeight(name: string, t: WeightTensor, what: string): void {
  if (!isFloatDType(t.sourceDType)) {
    throw new Error(`${what}: tensor '${name}' is stored as ${DTYPE_NAMES[t.sourceDType!]}, but the network needs it as float32 (a float weight in an integer type: a wrong conversion or a damaged file)`);
  }
  checkFinite(name, t.data, what);
}

/** A batch norm's epsilon (`scope` names the batch norm): a positive finite number. */
export function checkBatchNormEpsilon(scope: string, eps: number, what: string): void {
  if (!Number.isFinite(eps) || eps <= 0) throw new Error(`${what}: batch norm '${scope}' has epsilon ${eps}; it must be a positive number`);
}

/** A batch norm's variance: no channel negative. */
export function checkVariance(name: string, data: ArrayLike<number>, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0) throw new Error(`${what}: tensor '${name}' (a batch-norm variance) is ${data[i]} at channel ${i}; a variance cannot be negative`);
  }
}

/** Whether a state-dict entry is a counter, not a weight (torch's BN step count). */
export function isCounter(name: string): boolean {
  return name.endsWith('.num_batches_tracked');
}

/**
 * Every weight of a PyTorch-named state dict (torchvision, mmseg, our checkpoints): float and
 * finite, `*.running_var` not negative; counters are left alone (their loaders drop them).
 */
export function checkStateDictValues(state: ReadonlyMap<string, WeightTensor>, what: string): void {
  for (const [name, t] of state) {
    if (isCounter(name)) continue;
    checkFloatWeight(name, t, what);
    if (name.endsWith('.running_var')) checkVariance(name, t.data, what);
  }
}
