// `deeplab export --model NAME|PATH --out FILE.safetensors`: a model of torchvision's
// architecture (one of its DeepLabv3 checkpoints, or one fine-tuned here) as the state dict
// torchvision's deeplabv3_* loads, so a run can continue in PyTorch. With `--quantize int8|f16`,
// any model as one of our checkpoints with its convolution weights stored compactly (a smaller
// download; src/model/weights/quantize.ts).
import { statSync } from 'node:fs';
import { loadWeights, saveCheckpoint } from '../../model/loading/load-weights.js';
import { type Quantization, QUANTIZATIONS } from '../../model/weights/quantize.js';
import { exportTorchvision } from '../../model/weights/torchvision-export.js';
import { type Command, type CommandSpec, type ParsedArgs, UsageError, optionValue } from '../args.js';

const spec: CommandSpec = {
  name: 'export',
  summary: "Write a torchvision-architecture model as torchvision's DeepLabv3 state dict, or any model as a quantized checkpoint (safetensors).",
  positionals: [],
  options: [
    { name: 'model', kind: 'value', valueName: 'NAME|PATH', description: 'a torchvision DeepLabv3 model or a checkpoint fine-tuned from one (required)' },
    { name: 'out', kind: 'value', valueName: 'FILE', description: 'the .safetensors file to write (required)' },
    {
      name: 'quantize',
      kind: 'value',
      valueName: 'int8|f16',
      description: 'write one of our checkpoints (any model) with the convolution weights as per-channel int8 or f16; loads as any checkpoint does',
    },
  ],
  notes: [
    'In PyTorch: model = deeplabv3_mobilenet_v3_large(num_classes=N, aux_loss=False);\n' +
      'model.load_state_dict(safetensors.torch.load_file(FILE)). The class names travel in the metadata.',
  ],
};

async function run(args: ParsedArgs): Promise<number> {
  const model = optionValue(args, 'model');
  const out = optionValue(args, 'out');
  if (!model) throw new UsageError("'export' needs --model NAME|PATH", 'export');
  if (!out) throw new UsageError("'export' needs --out FILE.safetensors", 'export');
  if (!out.endsWith('.safetensors')) throw new UsageError(`--out must name a .safetensors file, got '${out}'`, 'export');
  const quantize = optionValue(args, 'quantize');
  if (quantize !== undefined && !(QUANTIZATIONS as readonly string[]).includes(quantize)) {
    throw new UsageError(`--quantize must be one of ${QUANTIZATIONS.join(', ')}, got '${quantize}'`, 'export');
  }
  const w = await loadWeights(model);
  if (quantize) {
    saveCheckpoint(out, w, w.params, { quantize: quantize as Quantization });
    const bytes = statSync(out).size;
    process.stdout.write(`wrote ${out}: ${w.name} with ${quantize} convolution weights, ${(bytes / 2 ** 20).toFixed(2)} MiB\n`);
    return 0;
  }
  exportTorchvision(out, w);
  process.stdout.write(`wrote ${out}: ${w.config.backbone} DeepLabv3, ${w.config.numClasses} classes, ${w.params.size} tensors with torchvision's names\n`);
  return 0;
}

export const exportCommand: Command = { spec, run };
