// `deeplab export --model NAME|PATH --out FILE`: a model for other frameworks, in one of the
// export formats of src/model/export-formats/ (safetensors, the default: torchvision's state
// dict, or with --quantize one of our checkpoints; onnx; hf; smp; transformers-js; tflite). The command checks the options
// against the format's record and hands the model to its writer.
import { existsSync } from 'node:fs';
import { loadWeights } from '../../model/loading/load-weights.js';
import { DTYPE_OPTION, SMP_CONFIG_OPTION, parseDtypeOption, readSmpConfigOption } from './models.js';
import { type Quantization, QUANTIZATIONS } from '../../model/weights/quantize.js';
import { findModel } from '../../model/loading/registry.js';
import type { ExportOption, ExportOptions } from '../../model/export-formats/format.js';
import { EXPORT_FORMAT_RECORDS, exportFormat } from '../../model/export-formats/registry.js';
import { type Command, type CommandSpec, type ParsedArgs, UsageError, optionFlag, optionValue, parsePositiveInt } from '../args.js';
import { TFLITE_OUTPUTS, TFLITE_PRECISIONS } from '../../model/tflite-export.js';
import { DEFAULT_CALIBRATION_COUNT, calibrationImages } from '../calibration-images.js';

const [DEFAULT_FORMAT] = EXPORT_FORMAT_RECORDS;
const FILE_ENDINGS = EXPORT_FORMAT_RECORDS.flatMap((f) => (f.extension ? [f.extension] : []));

const spec: CommandSpec = {
  name: 'export',
  summary: "Write a model as torchvision's DeepLabv3 state dict or a quantized checkpoint (safetensors), as an ONNX graph, as a hub, smp or transformers.js folder, or as a TF Lite file.",
  positionals: [],
  options: [
    { name: 'model', kind: 'value', valueName: 'NAME|PATH', description: 'the model: a registry name or a weights file (required)' },
    SMP_CONFIG_OPTION,
    DTYPE_OPTION,
    {
      name: 'format',
      kind: 'value',
      valueName: 'FORMAT',
      description: EXPORT_FORMAT_RECORDS.map((f) => `${f.name}: ${f.description}`).join('; '),
      defaultText: DEFAULT_FORMAT.name,
    },
    { name: 'out', kind: 'value', valueName: 'FILE', description: `the ${FILE_ENDINGS.join(' or ')} file (or the folder) to write (required)` },
    { name: 'size', kind: 'value', valueName: 'N|WxH', description: "onnx, tflite: the graph's fixed input size", defaultText: "a fixed-size model's own, else its short side squared" },
    { name: 'precision', kind: 'value', valueName: 'float32|float16|int8', description: 'tflite: the weights and arithmetic (int8: full-integer, calibrated on --calibrate)', defaultText: 'float32' },
    { name: 'output', kind: 'value', valueName: 'logits|classes', description: "tflite: the file's output, the logits or each pixel's class (ARG_MAX)", defaultText: 'logits' },
    { name: 'calibrate', kind: 'value', valueName: 'DIR', description: "tflite int8: a folder of images, or a data set's folder, to measure the activations' ranges on" },
    { name: 'calibrate-count', kind: 'value', valueName: 'N', description: 'tflite int8: how many of the --calibrate images to use', defaultText: String(DEFAULT_CALIBRATION_COUNT) },
    { name: 'int8-io', kind: 'flag', description: "tflite int8: uint8 input (the pixels) and int8 output, for accelerators, instead of float32 at the edges" },
    {
      name: 'quantize',
      kind: 'value',
      valueName: 'int8|f16',
      description: 'safetensors: one of our checkpoints instead (any model), the convolution weights as per-channel int8 or f16; loads as any checkpoint does',
    },
  ],
  notes: EXPORT_FORMAT_RECORDS.flatMap((f) => (f.note ? [f.note] : [])),
};

/** The options a format may read, by the command line's name for each. */
const OPTIONS: Readonly<Record<string, ExportOption>> = { size: 'size', quantize: 'quantize', precision: 'precision', output: 'output', calibrate: 'calibrate', 'calibrate-count': 'calibrate', 'int8-io': 'int8Io' };

function formatOf(args: ParsedArgs) {
  const text = optionValue(args, 'format') ?? DEFAULT_FORMAT.name;
  const format = exportFormat(text);
  if (!format) throw new UsageError(`--format: '${text}' is not one of ${EXPORT_FORMAT_RECORDS.map((f) => f.name).join(', ')}`, spec.name);
  return format;
}

/** `--size 513` (square) or `--size 640x480` (width x height). */
export function parseSize(text: string): { width: number; height: number } {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--size: '${text}' is not one size (e.g. 513) or WIDTHxHEIGHT (e.g. 640x480)`, spec.name);
  const width = parsePositiveInt(m[1], '--size');
  return { width, height: m[2] === undefined ? width : parsePositiveInt(m[2], '--size') };
}

/** What the metadata says the weights came from: the registry's source for a named model. */
function sourceOf(model: string): string {
  if (existsSync(model)) return model;
  const entry = findModel(model);
  return [entry.source, entry.url, entry.licence && `licence ${entry.licence}`].filter(Boolean).join('; ');
}

/** One of `allowed`, or a usage error naming them. */
function oneOf<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[]): T | undefined {
  const text = optionValue(args, name);
  if (text !== undefined && !(allowed as readonly string[]).includes(text)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${text}'`, spec.name);
  return text as T | undefined;
}

/** --size, --quantize and the TF Lite options, each refused where the format does not read it. */
async function exportOptions(args: ParsedArgs, format: ReturnType<typeof formatOf>): Promise<ExportOptions> {
  for (const [name, option] of Object.entries(OPTIONS)) {
    if (!args.options.has(name) || format.options.includes(option)) continue;
    const takers = EXPORT_FORMAT_RECORDS.filter((f) => f.options.includes(option)).map((f) => f.name);
    throw new UsageError(`--${name} applies to --format ${takers.join(' or ')} only`, spec.name);
  }
  const precision = oneOf(args, 'precision', TFLITE_PRECISIONS);
  const output = oneOf(args, 'output', TFLITE_OUTPUTS);
  const calibrateDir = optionValue(args, 'calibrate');
  const countText = optionValue(args, 'calibrate-count');
  if (countText !== undefined && calibrateDir === undefined) throw new UsageError('--calibrate-count needs --calibrate DIR', spec.name);
  const count = countText === undefined ? DEFAULT_CALIBRATION_COUNT : parsePositiveInt(countText, '--calibrate-count');
  const tflite = {
    ...(precision ? { precision } : {}),
    ...(output ? { output } : {}),
    ...(optionFlag(args, 'int8-io') ? { int8Io: true } : {}),
    ...(calibrateDir === undefined ? {} : { calibrate: await calibrationImages(calibrateDir, count) }),
  };
  const sizeText = optionValue(args, 'size');
  const quantize = optionValue(args, 'quantize');
  if (quantize !== undefined && !(QUANTIZATIONS as readonly string[]).includes(quantize)) {
    throw new UsageError(`--quantize must be one of ${QUANTIZATIONS.join(', ')}, got '${quantize}'`, spec.name);
  }
  return { ...tflite, ...(sizeText === undefined ? {} : { size: parseSize(sizeText) }), ...(quantize === undefined ? {} : { quantize: quantize as Quantization }) };
}

async function run(args: ParsedArgs): Promise<number> {
  const model = optionValue(args, 'model');
  const out = optionValue(args, 'out');
  const format = formatOf(args);
  if (!model) throw new UsageError("'export' needs --model NAME|PATH", spec.name);
  if (!out) throw new UsageError(`'export' needs --out ${format.extension ? `FILE${format.extension}` : 'DIR'}`, spec.name);
  if (format.extension && !out.endsWith(format.extension)) throw new UsageError(`--out must name a ${format.extension} file for --format ${format.name}, got '${out}'`, spec.name);
  const options = await exportOptions(args, format);
  const smpConfig = readSmpConfigOption(optionValue(args, 'smp-config'));
  const dtype = parseDtypeOption(optionValue(args, 'dtype'));
  const w = await loadWeights(model, { ...(smpConfig ? { smpConfig } : {}), ...(dtype ? { dtype } : {}) });
  const wrote = format.write(out, w, options, { source: () => sourceOf(model), say: (message) => process.stderr.write(`${message}\n`) });
  process.stdout.write(`wrote ${out}: ${wrote}\n`);
  return 0;
}

export const exportCommand: Command = { spec, run };
