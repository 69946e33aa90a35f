// 'onnx': any model as a standard ONNX graph (opset 17) for one input size (src/model/onnx-export.ts).
import { defaultOnnxSize, exportOnnx } from '../onnx-export.js';
import type { ExportFormatRecord } from './format.js';
import { backboneRecord } from '../backbones/registry.js';

export const ONNX: ExportFormatRecord<'onnx'> = {
  name: 'onnx',
  extension: '.onnx',
  description: 'an ONNX graph (opset 17)',
  note:
    "onnx: input 'image' float32 [1,3,H,W] (RGB, normalised as the metadata's 'preprocessing' says), output\n" +
    "'logits' [1,classes,H,W] at the input's size. In Python: onnxruntime.InferenceSession(FILE).run(None, {'image': x});\n" +
    'the metadata (mean, std, scale, classes, source) is in session.get_modelmeta().custom_metadata_map.',
  options: ['size'],
  write(out, w, o, ctx) {
    if (backboneRecord(w.config.backbone).onnxFile) {
      // A model loaded from an ONNX file is written back as that file: its graph, opset and node names, its weights as they are now.
      ctx.say(`export: ${w.name}'s own ONNX graph with its weights...`);
      const written = exportOnnx(out, w, { height: 0, width: 0, source: ctx.source() });
      return `the ONNX graph ${w.name} came from, ${w.config.numClasses} classes, its weights as they are now; ${written.nodes} nodes, ${written.initializers} initializers, ${(written.bytes / 2 ** 20).toFixed(1)} MiB`;
    }
    const { height, width } = o.size ?? defaultOnnxSize(w);
    ctx.say(`export: ${w.name} at ${width}x${height} as ONNX (opset 17)...`);
    const written = exportOnnx(out, w, { height, width, source: ctx.source() });
    const C = w.config.numClasses;
    return (
      `${w.config.backbone} ${w.config.decoder === 'none' ? 'DeepLabv3' : 'DeepLabv3+'}, ${C} classes, input 'image' [1,3,${height},${width}], ` +
      `output 'logits' [1,${C},${height},${width}]; ${written.nodes} nodes, ${written.initializers} initializers, ${(written.bytes / 2 ** 20).toFixed(1)} MiB`
    );
  },
};
