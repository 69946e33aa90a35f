// An export format is one record: its name, what `--out` names (a file with its ending, or a
// folder), which models it takes, the options it reads, and its writer. The records are kept in
// registry.ts; `deeplab export` checks its options and writes through them and names no format.
import type { Quantization } from '../weights/quantize.js';
import type { LoadedWeights } from '../loading/loaded-weights.js';
import type { TfliteOutput, TflitePrecision } from '../tflite-export.js';
import type { RgbImage } from '../../io/rgb-image.js';

/** The options an export format may read (`options` names those it takes). */
export interface ExportOptions {
  /** An ONNX graph's fixed input size. */
  size?: { height: number; width: number };
  /** Convolution weights stored compactly: one of our checkpoints instead. */
  quantize?: Quantization;
  /** A TF Lite file's precision (float32 by default). */
  precision?: TflitePrecision;
  /** A TF Lite file's output: the logits (default) or each pixel's class. */
  output?: TfliteOutput;
  /** int8: the images its activations' ranges are measured on. */
  calibrate?: RgbImage[];
  /** int8: uint8 input and int8 output instead of float32 at the edges. */
  int8Io?: boolean;
}

export type ExportOption = keyof ExportOptions;

/** What a writer is told besides its options: where the weights came from (for file metadata), and a way to report progress. */
export interface ExportContext {
  source(): string;
  say(message: string): void;
}

export interface ExportFormatRecord<N extends string = string> {
  name: N;
  /** The ending of the file `--out` names ('.onnx'), or null where it writes a folder. */
  extension: string | null;
  /** What it writes and which models it takes, for `--format`'s help. */
  description: string;
  /** How to read what it wrote elsewhere, for the command's notes; none where nothing needs saying. */
  note?: string;
  /** The options it reads; any other given is refused. */
  options: readonly ExportOption[];
  /** Writes the model (a model it does not take is an error naming why); returns what it wrote, in words. */
  write(out: string, w: LoadedWeights, o: ExportOptions, ctx: ExportContext): string;
}
