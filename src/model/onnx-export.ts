// A model as a standard ONNX file (opset 17): the canonical inference network built for one input
// size, written op by op (src/graph/onnx/lower.ts), the weights as initializers, and the model's
// preprocessing, classes and source in the metadata. Input 'image' [1,3,H,W] float32, already
// normalised; output 'logits' [1,classes,H,W], the final bilinear resize to the input included.
import { lowerToOnnx, onnxModelOf } from '../graph/onnx/lower.js';
import { type ModelProto, encodeModel } from '../graph/onnx/proto.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import { backboneRecord } from './backbones/registry.js';
import type { LoadedWeights } from './loading/load-weights.js';
import { inputNormalization } from '../io/input-normalization.js';
import { describeInputPolicy, fixedInputSize, policyNormalization, policySquare } from './input-policy.js';

export interface OnnxExportOptions {
  /** The network's input size (the graph is built for it; ONNX shapes are fixed). */
  height: number;
  width: number;
  /** Where the weights came from, for the metadata (default: the model's name). */
  source?: string;
}

/** The input size an export uses unless told: a fixed-size model's own; else its short side, square. */
export function defaultOnnxSize(w: LoadedWeights): { height: number; width: number } {
  if (w.slide) return { height: w.slide.crop, width: w.slide.crop };
  return policySquare(w.inputPolicy);
}

/** The metadata_props: what a user of the file needs to prepare its input and read its output. */
export function onnxMetadata(w: LoadedWeights, o: OnnxExportOptions): Record<string, string> {
  const normalization = policyNormalization(w.inputPolicy, w.config);
  const { mean, std, formula } = inputNormalization(normalization);
  const fixed = fixedInputSize(w.inputPolicy);
  const ours = fixed
    ? `this model runs at ${fixed.width}x${fixed.height}`
    : `this model's own pipeline ${describeInputPolicy(w.inputPolicy)}${w.slide ? `, then runs windows of ${w.slide.crop}x${w.slide.crop} every ${w.slide.stride} pixels and averages their logits` : ''}; this graph is fixed at ${o.width}x${o.height}`;
  return {
    model: w.name,
    source: o.source ?? w.name,
    backbone: w.config.backbone,
    config: JSON.stringify(w.config),
    input: 'image',
    input_layout: 'NCHW',
    input_shape: JSON.stringify([1, 3, o.height, o.width]),
    color_order: 'RGB',
    scale: String(1 / 255),
    mean: JSON.stringify(mean),
    std: JSON.stringify(std),
    // Our normalisation's name: loading the file back prepares the input exactly as this model does.
    normalization,
    preprocessing:
      `RGB image (0..255) resized to ${o.width}x${o.height} (bilinear), then ${formula}, ` +
      `mean ${JSON.stringify(mean)}, std ${JSON.stringify(std)}, as float32 NCHW [1,3,${o.height},${o.width}] (${ours})`,
    output: 'logits',
    output_layout: 'NCHW',
    output_shape: JSON.stringify([1, w.config.numClasses, o.height, o.width]),
    postprocessing: `logits are class scores at the input's size (the final ${w.config.resizeMode} bilinear resize is in the graph); argmax over axis 1 gives each pixel's class`,
    classes: JSON.stringify(w.classes.names),
    class_colors: JSON.stringify(w.classes.colors),
  };
}

/** The ONNX model of `w` at one input size. */
export function onnxModel(w: LoadedWeights, o: OnnxExportOptions): ModelProto {
  const graph = w.buildGraph({ batch: 1, height: o.height, width: o.width });
  const metadata = onnxMetadata(w, o);
  const doc = `${w.config.decoder === 'none' ? 'DeepLabv3' : 'DeepLabv3+'} (${w.config.backbone}), ${w.config.numClasses} classes: ${metadata.preprocessing}`;
  return onnxModelOf(lowerToOnnx(graph, w.params, w.name), metadata, doc);
}

/**
 * The ONNX file a network imported from one came from, its weights as they are now and the
 * model's classes, normalisation and source in its metadata; undefined for any other network.
 */
export function ownOnnxFile(w: LoadedWeights, source: string): { bytes: Uint8Array; nodes: number; initializers: number } | undefined {
  const record = backboneRecord(w.config.backbone);
  if (!record.onnxFile) return undefined;
  const { classes, class_colors, model, normalization, mean, std } = onnxMetadata(w, { height: 0, width: 0 });
  return record.onnxFile(w.architecture, w.params, w.config, { classes, class_colors, model, source, normalization, mean, std });
}

/** The ONNX file's bytes, with its node and initializer counts: a network from an ONNX file goes back as that file, its trained weights in place. */
export function onnxFile(w: LoadedWeights, o: OnnxExportOptions): { bytes: Uint8Array; nodes: number; initializers: number } {
  const file = ownOnnxFile(w, o.source ?? w.name);
  if (file) return file;
  const model = onnxModel(w, o);
  return { bytes: encodeModel(model), nodes: model.graph.node.length, initializers: model.graph.initializer.length };
}

/** Writes the ONNX file (to a temporary file renamed into place); returns what it wrote. */
export function exportOnnx(path: string, w: LoadedWeights, o: OnnxExportOptions): { nodes: number; initializers: number; bytes: number } {
  const { bytes, nodes, initializers } = onnxFile(w, o);
  writeFileAtomic(path, bytes);
  return { nodes, initializers, bytes: bytes.byteLength };
}
