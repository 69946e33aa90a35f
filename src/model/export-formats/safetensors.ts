// 'safetensors': a model of torchvision's architecture (one of its DeepLabv3 checkpoints, or one
// fine-tuned here) as the state dict torchvision's deeplabv3_* loads, so a run can continue in
// PyTorch; with `quantize`, any model as one of our checkpoints with its convolution weights
// stored compactly (src/model/weights/quantize.ts).
import { statSync } from 'node:fs';
import { saveCheckpoint } from '../loading/load-weights.js';
import { exportTorchvision } from '../weights/torchvision-export.js';
import type { ExportFormatRecord } from './format.js';

export const SAFETENSORS: ExportFormatRecord<'safetensors'> = {
  name: 'safetensors',
  extension: '.safetensors',
  description: "torchvision's state dict (its architectures only)",
  note:
    'safetensors, in PyTorch: model = deeplabv3_mobilenet_v3_large(num_classes=N, aux_loss=False);\n' +
    'model.load_state_dict(safetensors.torch.load_file(FILE)). The class names travel in the metadata.',
  options: ['quantize'],
  write(out, w, o) {
    if (o.quantize) {
      saveCheckpoint(out, w, w.params, { quantize: o.quantize });
      return `${w.name} with ${o.quantize} convolution weights, ${(statSync(out).size / 2 ** 20).toFixed(2)} MiB`;
    }
    exportTorchvision(out, w);
    return `${w.config.backbone} DeepLabv3, ${w.config.numClasses} classes, ${w.params.size} tensors with torchvision's names`;
  },
};
