// `deeplab export --model NAME|PATH --out FILE`: a model for other frameworks.
//  - safetensors (default): a model of torchvision's architecture (one of its DeepLabv3
//    checkpoints, or one fine-tuned here) as the state dict torchvision's deeplabv3_* loads, so
//    a run can continue in PyTorch;
//    a run can continue in PyTorch; with `--quantize int8|f16`, any model as one of our
//    checkpoints with its convolution weights stored compactly (src/model/weights/quantize.ts);
//  - onnx: any model as a standard ONNX graph (opset 17) for one input size.
import { existsSync, statSync } from 'node:fs';
import { loadWeights, saveCheckpoint } from '../../model/loading/load-weights.js';
import { type Quantization, QUANTIZATIONS } from '../../model/weights/quantize.js';
import { findModel } from '../../model/loading/registry.js';
import { defaultOnnxSize, exportOnnx } from '../../model/onnx-export.js';
import { exportTorchvision } from '../../model/weights/torchvision-export.js';
import { writeHubFolder } from '../../model/weights/transformers-export.js';
import { type Command, type CommandSpec, type ParsedArgs, UsageError, optionValue, parsePositiveInt } from '../args.js';

const FORMATS = ['safetensors', 'onnx', 'hf'] as const;
type ExportFormat = (typeof FORMATS)[number];

const spec: CommandSpec = {
  name: 'export',
  summary: "Write a model as torchvision's DeepLabv3 state dict or a quantized checkpoint (safetensors), or as an ONNX graph.",
  positionals: [],
  options: [
    { name: 'model', kind: 'value', valueName: 'NAME|PATH', description: 'the model: a registry name or a weights file (required)' },
    { name: 'format', kind: 'value', valueName: 'FORMAT', description: "safetensors: torchvision's state dict (its architectures only); onnx: an ONNX graph (opset 17); hf: a Hugging Face hub folder (MobileViT), --out DIR", defaultText: 'safetensors' },
    { name: 'out', kind: 'value', valueName: 'FILE', description: 'the .safetensors or .onnx file to write (required)' },
    { name: 'size', kind: 'value', valueName: 'N|WxH', description: "onnx: the graph's fixed input size", defaultText: "a fixed-size model's own, else its short side squared" },
    {
      name: 'quantize',
      kind: 'value',
      valueName: 'int8|f16',
      description: 'safetensors: one of our checkpoints instead (any model), the convolution weights as per-channel int8 or f16; loads as any checkpoint does',
    },
  ],
  notes: [
    'safetensors, in PyTorch: model = deeplabv3_mobilenet_v3_large(num_classes=N, aux_loss=False);\n' +
      'model.load_state_dict(safetensors.torch.load_file(FILE)). The class names travel in the metadata.',
    "onnx: input 'image' float32 [1,3,H,W] (RGB, normalised as the metadata's 'preprocessing' says), output\n" +
      "'logits' [1,classes,H,W] at the input's size. In Python: onnxruntime.InferenceSession(FILE).run(None, {'image': x});\n" +
      'the metadata (mean, std, scale, classes, source) is in session.get_modelmeta().custom_metadata_map.',
  ],
};

function formatOf(args: ParsedArgs): ExportFormat {
  const text = optionValue(args, 'format') ?? 'safetensors';
  if (!FORMATS.includes(text as ExportFormat)) throw new UsageError(`--format: '${text}' is not one of ${FORMATS.join(', ')}`, spec.name);
  return text as ExportFormat;
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

async function run(args: ParsedArgs): Promise<number> {
  const model = optionValue(args, 'model');
  const out = optionValue(args, 'out');
  const format = formatOf(args);
  const sizeText = optionValue(args, 'size');
  if (!model) throw new UsageError("'export' needs --model NAME|PATH", spec.name);
  if (!out) throw new UsageError(`'export' needs --out ${format === 'hf' ? 'DIR' : `FILE.${format}`}`, spec.name);
  if (format !== 'hf' && !out.endsWith(`.${format}`)) throw new UsageError(`--out must name a .${format} file for --format ${format}, got '${out}'`, spec.name);
  if (sizeText !== undefined && format !== 'onnx') throw new UsageError('--size applies to --format onnx only (a state dict has no input size)', spec.name);
  const size = sizeText === undefined ? undefined : parseSize(sizeText);
  const quantize = optionValue(args, 'quantize');
  if (quantize !== undefined && format !== 'safetensors') throw new UsageError('--quantize applies to --format safetensors only', spec.name);
  if (quantize !== undefined && !(QUANTIZATIONS as readonly string[]).includes(quantize)) {
    throw new UsageError(`--quantize must be one of ${QUANTIZATIONS.join(', ')}, got '${quantize}'`, spec.name);
  }
  const w = await loadWeights(model);
  if (quantize) {
    saveCheckpoint(out, w, w.params, { quantize: quantize as Quantization });
    const bytes = statSync(out).size;
    process.stdout.write(`wrote ${out}: ${w.name} with ${quantize} convolution weights, ${(bytes / 2 ** 20).toFixed(2)} MiB\n`);
    return 0;
  }
  if (format === 'hf') {
    writeHubFolder(out, w);
    process.stdout.write(`wrote ${out}: config.json, preprocessor_config.json, model.safetensors (${w.config.backbone}, ${w.config.numClasses} classes, transformers' names)\n`);
    return 0;
  }
  if (format === 'safetensors') {
    exportTorchvision(out, w);
    process.stdout.write(`wrote ${out}: ${w.config.backbone} DeepLabv3, ${w.config.numClasses} classes, ${w.params.size} tensors with torchvision's names\n`);
    return 0;
  }
  const { height, width } = size ?? defaultOnnxSize(w);
  process.stderr.write(`export: ${w.name} at ${width}x${height} as ONNX (opset 17)...\n`);
  const written = exportOnnx(out, w, { height, width, source: sourceOf(model) });
  const mib = (written.bytes / 2 ** 20).toFixed(1);
  process.stdout.write(
    `wrote ${out}: ${w.config.backbone} ${w.config.decoder === 'none' ? 'DeepLabv3' : 'DeepLabv3+'}, ${w.config.numClasses} classes, input 'image' [1,3,${height},${width}], ` +
      `output 'logits' [1,${w.config.numClasses},${height},${width}]; ${written.nodes} nodes, ${written.initializers} initializers, ${mib} MiB\n`,
  );
  return 0;
}

export const exportCommand: Command = { spec, run };
