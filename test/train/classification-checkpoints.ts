// torchvision's ImageNet classification state dicts as the tests write them: the exact keys, in
// torchvision's order, with torchvision's shapes (written here from the structure of
// torchvision/models/resnet.py and mobilenetv3.py, and checked by the tests against the state
// dicts torchvision itself wrote in ../shared/fixtures/torchvision), holding random values.
// Written as torch.save's zip .pth (the pickle built opcode by opcode) or as safetensors.
import { writeFileSync } from 'node:fs';
import { writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { RUN_SEED, makeRng } from '../helpers.js';
import { P, ascii, buildZip, concat } from '../import/builders.js';

export interface TensorSpec {
  key: string;
  shape: number[];
  /** torchvision's BatchNorm step counters are int64 scalars. */
  dtype: 'f32' | 'i64';
}

const f32 = (key: string, shape: number[]): TensorSpec => ({ key, shape, dtype: 'f32' });

/** BatchNorm2d's state dict: weight, bias, running_mean, running_var, num_batches_tracked. */
function batchNorm(prefix: string, channels: number): TensorSpec[] {
  return [
    ...['weight', 'bias', 'running_mean', 'running_var'].map((p) => f32(`${prefix}.${p}`, [channels])),
    { key: `${prefix}.num_batches_tracked`, shape: [], dtype: 'i64' },
  ];
}

/** torchvision's resnet50 / resnet101 (Bottleneck, expansion 4, stride on conv2) with a 1000-class fc. */
export function resnetSpec(depth: 50 | 101): TensorSpec[] {
  const blocks = depth === 50 ? [3, 4, 6, 3] : [3, 4, 23, 3];
  const spec: TensorSpec[] = [f32('conv1.weight', [64, 3, 7, 7]), ...batchNorm('bn1', 64)];
  let inplanes = 64;
  blocks.forEach((count, s) => {
    const planes = 64 * 2 ** s;
    for (let b = 0; b < count; b++) {
      const p = `layer${s + 1}.${b}`;
      spec.push(
        f32(`${p}.conv1.weight`, [planes, inplanes, 1, 1]), ...batchNorm(`${p}.bn1`, planes),
        f32(`${p}.conv2.weight`, [planes, planes, 3, 3]), ...batchNorm(`${p}.bn2`, planes),
        f32(`${p}.conv3.weight`, [planes * 4, planes, 1, 1]), ...batchNorm(`${p}.bn3`, planes * 4),
      );
      // The first block of every stage changes the channels (and layers 2-4 the stride).
      if (b === 0) spec.push(f32(`${p}.downsample.0.weight`, [planes * 4, inplanes, 1, 1]), ...batchNorm(`${p}.downsample.1`, planes * 4));
      inplanes = planes * 4;
    }
  });
  spec.push(f32('fc.weight', [1000, 2048]), f32('fc.bias', [1000]));
  return spec;
}

/** torchvision's _make_divisible (SE squeeze channels). */
function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** mobilenet_v3_large's inverted residuals: input, kernel, expanded, output channels, squeeze-excite. */
const MV3_LARGE_BLOCKS: readonly [number, number, number, number, boolean][] = [
  [16, 3, 16, 16, false], [16, 3, 64, 24, false], [24, 3, 72, 24, false], [24, 5, 72, 40, true], [40, 5, 120, 40, true],
  [40, 5, 120, 40, true], [40, 3, 240, 80, false], [80, 3, 200, 80, false], [80, 3, 184, 80, false], [80, 3, 184, 80, false],
  [80, 3, 480, 112, true], [112, 3, 672, 112, true], [112, 5, 672, 160, true], [160, 5, 960, 160, true], [160, 5, 960, 160, true],
];

/** torchvision's mobilenet_v3_large: features.0 .. features.16, then classifier.0 (960->1280) and classifier.3 (1280->1000). */
export function mobileNetV3LargeSpec(): TensorSpec[] {
  const spec: TensorSpec[] = [f32('features.0.0.weight', [16, 3, 3, 3]), ...batchNorm('features.0.1', 16)];
  MV3_LARGE_BLOCKS.forEach(([cin, k, exp, cout, se], i) => {
    const p = `features.${i + 1}.block`;
    let j = 0;
    if (exp !== cin) {
      spec.push(f32(`${p}.${j}.0.weight`, [exp, cin, 1, 1]), ...batchNorm(`${p}.${j}.1`, exp));
      j++;
    }
    spec.push(f32(`${p}.${j}.0.weight`, [exp, 1, k, k]), ...batchNorm(`${p}.${j}.1`, exp));
    j++;
    if (se) {
      const squeeze = makeDivisible(Math.floor(exp / 4));
      spec.push(f32(`${p}.${j}.fc1.weight`, [squeeze, exp, 1, 1]), f32(`${p}.${j}.fc1.bias`, [squeeze]));
      spec.push(f32(`${p}.${j}.fc2.weight`, [exp, squeeze, 1, 1]), f32(`${p}.${j}.fc2.bias`, [exp]));
      j++;
    }
    spec.push(f32(`${p}.${j}.0.weight`, [cout, exp, 1, 1]), ...batchNorm(`${p}.${j}.1`, cout));
  });
  spec.push(f32('features.16.0.weight', [960, 160, 1, 1]), ...batchNorm('features.16.1', 960));
  spec.push(f32('classifier.0.weight', [1280, 960]), f32('classifier.0.bias', [1280]));
  spec.push(f32('classifier.3.weight', [1000, 1280]), f32('classifier.3.bias', [1000]));
  return spec;
}

/**
 * Random values of the right kinds: weights uniform within sqrt(6 / fan_in) (activations stay
 * near unit scale through the network), biases and BN shifts and means small, BN scales and
 * variances around 1, step counters whole numbers.
 */
export function randomState(spec: readonly TensorSpec[], seed: number): TensorMap {
  const r = makeRng(RUN_SEED ^ seed);
  const uniform = (n: number, lo: number, hi: number): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
  const state: TensorMap = new Map();
  for (const { key, shape, dtype } of spec) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (dtype === 'i64') data = Float32Array.of(Math.floor(r() * 1e5));
    else if (/running_var$/.test(key)) data = uniform(n, 0.5, 1.5);
    else if (shape.length >= 2) {
      const bound = Math.sqrt(6 / (n / shape[0]));
      data = uniform(n, -bound, bound);
    } else if (/\.weight$/.test(key) && !/^(fc|classifier)\./.test(key)) data = uniform(n, 0.5, 1.5); // BN scale
    else data = uniform(n, -0.1, 0.1);
    state.set(key, { shape: [...shape], data, sourceDType: dtype });
  }
  return state;
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** A state dict as torch.save writes it: archive/data.pkl (an OrderedDict of _rebuild_tensor_v2), archive/data/<n>. */
export function writePth(path: string, state: TensorMap): void {
  const ops: number[][] = [P.proto(2), P.global('collections', 'OrderedDict'), P.emptyTuple, P.reduce, P.mark];
  const storages: { name: string; data: Uint8Array; pad: number }[] = [];
  [...state].forEach(([key, t], i) => {
    const long = t.sourceDType === 'i64';
    const bytes = long ? new Uint8Array(BigInt64Array.from(t.data, (v) => BigInt(v)).buffer) : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    storages.push({ name: `archive/data/${i}`, data: bytes, pad: 40 });
    ops.push(
      P.str(key), P.global('torch._utils', '_rebuild_tensor_v2'), P.mark,
      P.mark, P.str('storage'), P.global('torch', long ? 'LongStorage' : 'FloatStorage'), P.str(String(i)), P.str('cpu'), P.int(t.data.length), P.tuple, P.binPersId,
      P.int(0), P.mark, ...t.shape.map(P.int), P.tuple, P.mark, ...contiguousStrides(t.shape).map(P.int), P.tuple,
      P.newFalse, P.global('collections', 'OrderedDict'), P.emptyTuple, P.reduce,
      P.tuple, P.reduce,
    );
  });
  ops.push(P.setItems, P.stop);
  const zip = buildZip([
    { name: 'archive/data.pkl', data: concat(ops), deflate: true },
    { name: 'archive/byteorder', data: ascii('little') },
    ...storages,
    { name: 'archive/version', data: ascii('3\n') },
  ]);
  writeFileSync(path, zip);
}

/** The same state dict as `safetensors.torch.save_file` writes it. */
export function writeStateSafetensors(path: string, state: TensorMap): void {
  writeSafetensors(path, state, { format: 'pt' });
}
