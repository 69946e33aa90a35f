// 'tflite': any model whose ops TF Lite's builtins express, as a TF Lite (LiteRT) file for one
// input size (src/model/tflite-export.ts), with the metadata MediaPipe Tasks reads: in float32,
// float16 weights, or full-integer int8 calibrated on the user's images.
import { defaultOnnxSize } from '../onnx-export.js';
import { exportTflite } from '../tflite-export.js';
import type { ExportFormatRecord } from './format.js';

export const TFLITE_EXPORT: ExportFormatRecord<'tflite'> = {
  name: 'tflite',
  extension: '.tflite',
  description: 'a TF Lite (LiteRT) file with MediaPipe metadata, builtin ops only (--precision float32|float16|int8)',
  note:
    "tflite: input 'image' float32 [1,H,W,3] (RGB, normalised as the metadata's NormalizationOptions say), output 'logits'\n" +
    "[1,H,W,classes] at the input's size (--output classes: 'classes' [1,H,W] int32). In Python: tf.lite.Interpreter(FILE);\n" +
    "in an app: MediaPipe Tasks' ImageSegmenter takes the file as it is. int8: --calibrate names the images; --int8-io\n" +
    'makes the input uint8 pixels and the output int8.',
  options: ['size', 'precision', 'output', 'calibrate', 'int8Io'],
  write(out, w, o, ctx) {
    const { height, width } = o.size ?? defaultOnnxSize(w);
    const precision = o.precision ?? 'float32';
    if (precision !== 'int8' && (o.calibrate || o.int8Io)) throw new Error(`--calibrate and --int8-io apply to --precision int8 only, not ${precision}`);
    if (o.calibrate) ctx.say(`export: calibrating int8 on ${o.calibrate.length} image${o.calibrate.length === 1 ? '' : 's'} (the network on the CPU)...`);
    if (precision === 'int8' && !o.calibrate?.length) throw new Error('--precision int8 needs --calibrate: the images its activations\' ranges are measured on');
    ctx.say(`export: ${w.name} at ${width}x${height} as TF Lite (${precision})...`);
    const written = exportTflite(out, w, { height, width, precision, output: o.output, calibrate: o.calibrate, int8Io: o.int8Io, source: ctx.source() });
    return written.summary;
  },
};
