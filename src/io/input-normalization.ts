// The networks' input normalisations, one record each: what a backbone's reference weights
// expect of an RGB image. A config names one (DeepLabConfig['normalization'], defaulted by its
// backbone's record in src/model/backbones/), and a model's input policy says which one its input
// takes (src/model/input-policies/: mmseg's pipeline normalises on 0..255); every place that
// prepares an input (the model's CPU path, the frame kernel's table, training samples,
// fine-tuning, ONNX metadata) looks that name up here, so a new normalisation is one entry.
import { normalizeFusedF32, normalizeHalfFused, normalizeRescaleF32 } from './hub-input.js';
import { normalizeMeanStd255 } from './mmseg-input.js';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeImagenet, normalizeToMinusOneOne, normalizeToUnit } from './resize-cpu.js';
import type { RgbImage } from './rgb-image.js';

export type InputNormalizationName = 'imagenet' | 'imagenet_255' | 'minus_one_one' | 'unit' | 'unit_f32' | 'minus_one_one_f32' | 'imagenet_f32';

export interface InputNormalization {
  name: InputNormalizationName;
  /** NHWC float32 of an RGB image, bit-identical to the reference pipeline's input. */
  normalize(img: RgbImage): Float32Array;
  /** Per-channel (RGB) mean and std on pixels scaled to [0,1]: (x - mean) / std. */
  mean: [number, number, number];
  std: [number, number, number];
  /** The formula in words, for file metadata. */
  formula: string;
}

/**
 * `normalize` looked up in a table of its 3 x 256 results: each normalisation is a function of a
 * byte's value and its channel alone, so the table (made once, by the function itself) gives
 * its results bit for bit, about ten times faster than the arithmetic (a float division and
 * rounding a byte: 11 ms of a 513x513 segment() on the H100's host).
 */
function byTable(normalize: (img: RgbImage) => Float32Array): (img: RgbImage) => Float32Array {
  let table: Float32Array | undefined;
  return (img) => {
    const { width, height } = img;
    const wellFormed = Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1 && img.data.length === width * height * 3;
    if (!wellFormed) return normalize(img); // which names what is wrong
    // Byte value v of channel c is pixel v's channel c of a 256 x 1 ramp.
    table ??= normalize({ width: 256, height: 1, data: Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3)) });
    const out = new Float32Array(img.data.length);
    const data = img.data;
    for (let i = 0; i < out.length; i += 3) {
      out[i] = table[3 * data[i]];
      out[i + 1] = table[3 * data[i + 1] + 1];
      out[i + 2] = table[3 * data[i + 2] + 2];
    }
    return out;
  };
}

export const INPUT_NORMALIZATIONS: Record<InputNormalizationName, InputNormalization> = {
  imagenet: {
    name: 'imagenet',
    normalize: byTable(normalizeImagenet),
    mean: [...IMAGENET_MEAN],
    std: [...IMAGENET_STD],
    formula: '(x / 255 - mean) / std per channel',
  },
  // mmseg's data preprocessor: ImageNet's mean and std times 255, subtracted and divided on
  // 0..255 values (its float32 results differ from 'imagenet's in the last bit here and there).
  imagenet_255: {
    name: 'imagenet_255',
    normalize: byTable(normalizeMeanStd255),
    mean: [...IMAGENET_MEAN],
    std: [...IMAGENET_STD],
    formula: '(x - 255 mean) / (255 std) per channel on 0..255 values',
  },
  // TF's x / 127.5 - 1, i.e. mean = std = 0.5 on [0,1].
  minus_one_one: {
    name: 'minus_one_one',
    normalize: byTable(normalizeToMinusOneOne),
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    formula: 'x / 127.5 - 1 (the same as mean = std = 0.5 below)',
  },
  // transformers' MobileViT processor: rescale by 1/255 and nothing else (its BGR channel flip is
  // folded into the stem's weights when a hub folder loads, so every input path stays RGB).
  unit: {
    name: 'unit',
    normalize: byTable(normalizeToUnit),
    mean: [0, 0, 0],
    std: [1, 1, 1],
    formula: 'x / 255',
  },
  // A hub processor's pipeline (src/io/hub-input.ts): 'unit', 'minus_one_one' and 'imagenet' as
  // transformers computes them on float32 tensors (the last bit differs for half the byte values).
  unit_f32: {
    name: 'unit_f32',
    normalize: byTable(normalizeRescaleF32),
    mean: [0, 0, 0],
    std: [1, 1, 1],
    formula: 'x * float32(1 / 255) in float32',
  },
  minus_one_one_f32: {
    name: 'minus_one_one_f32',
    normalize: byTable(normalizeHalfFused),
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    formula: '(x - 127.5) / 127.5 on 0..255 values in float32',
  },
  // SegFormer's and UperNet's processors: ImageNet's statistics fused with the rescale.
  imagenet_f32: {
    name: 'imagenet_f32',
    normalize: byTable(normalizeFusedF32(IMAGENET_MEAN, IMAGENET_STD)),
    mean: [...IMAGENET_MEAN],
    std: [...IMAGENET_STD],
    formula: '(x - mean * float32(255)) / (std * float32(255)) per channel on 0..255 values in float32',
  },
};

export const INPUT_NORMALIZATION_NAMES = Object.keys(INPUT_NORMALIZATIONS) as InputNormalizationName[];

/** The normalisation of a name; an unknown name is an error naming the known ones. */
export function inputNormalization(name: string, what = 'input normalization'): InputNormalization {
  if (!Object.hasOwn(INPUT_NORMALIZATIONS, name)) {
    throw new Error(`${what}: normalization must be ${INPUT_NORMALIZATION_NAMES.map((n) => `'${n}'`).join(' or ')}, got '${String(name)}'`);
  }
  return INPUT_NORMALIZATIONS[name as InputNormalizationName];
}
