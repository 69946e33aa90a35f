// A model as a TF Lite file (LiteRT), builtin operators only: the canonical inference network
// built for one input size, its batch norms folded into the convolutions before them on the
// host and its activations fused where TF Lite fuses them (as TF's converter does), written op
// by op (src/graph/tflite/lower.ts). Input 'image' [1,H,W,3] float32, already normalised as the
// model's input policy says (the metadata's NormalizationOptions); output 'logits'
// [1,H,W,classes] at the input's size, or 'classes' [1,H,W] int32 (their argmax). In float32,
// float16 weights (DEQUANTIZE to float32 before use, as TF's converter writes them), or full
// integer int8 calibrated on images (src/model/tflite-int8.ts).
import { type CompiledGraph, type Graph, nodeOutput } from '../graph/ir.js';
import { deriveStateCpu } from '../graph/cpu-reference.js';
import { deriveGraph, foldBatchNorms, fuseEpilogues } from '../graph/passes.js';
import type { HostParams } from '../graph/params.js';
import { halfWeights } from '../graph/tflite/half.js';
import { lowerToTflite } from '../graph/tflite/lower.js';
import type { TfliteModelSpec } from '../graph/tflite/model.js';
import { writeTflite } from '../graph/tflite/write.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import { inputNormalization } from '../io/input-normalization.js';
import { LABELS_FILE, METADATA_KEY, appendAssociatedFiles, segmenterMetadata } from '../io/tflite-metadata.js';
import { policyNormalization } from './input-policy.js';
import { NetworkGraphs } from './network-graphs.js';
import type { LoadedWeights } from './loading/loaded-weights.js';
import { calibrationInputs, quantizeModel } from './tflite-int8.js';
import type { RgbImage } from '../io/rgb-image.js';

export const TFLITE_PRECISIONS = ['float32', 'float16', 'int8'] as const;
export type TflitePrecision = (typeof TFLITE_PRECISIONS)[number];
export const TFLITE_OUTPUTS = ['logits', 'classes'] as const;
export type TfliteOutput = (typeof TFLITE_OUTPUTS)[number];

export interface TfliteExportOptions {
  /** The network's input size (TF Lite shapes are fixed). */
  height: number;
  width: number;
  /** float32 (default), float16 weights, or int8 (needs `calibrate`). */
  precision?: TflitePrecision;
  /** The logits (default) or the class of each pixel. */
  output?: TfliteOutput;
  /** int8: the images its activations' ranges are measured on (each resized to the file's input). */
  calibrate?: readonly RgbImage[];
  /** int8: a uint8 input (the pixels, as they are) and an int8 output instead of float32 at the edges. */
  int8Io?: boolean;
  /** Where the weights came from, for the description (default: the model's name). */
  source?: string;
}

/**
 * The graph TF Lite export lowers: batch norms folded (on the host), activations fused, with the
 * state it reads; and the same as a compiled graph (its folding a derive graph) for calibration.
 */
export function tfliteGraph(w: LoadedWeights, height: number, width: number): { graph: Graph; state: HostParams; compiled: CompiledGraph; output: string } {
  // The network as every device builds it: forwardToHost's output ('logits', or an imported file's own) among its outputs.
  const graphs = new NetworkGraphs(w);
  const canonical = graphs.graph({ batch: 1, height, width });
  const folded = foldBatchNorms(canonical);
  const graph = fuseEpilogues(folded.graph, { activationsOnly: true });
  const compiled = { source: canonical, graph, derive: deriveGraph(canonical.ids, folded.derive) };
  return { graph, state: deriveStateCpu(compiled, w.params), compiled, output: graphs.ownOutput(height, width) };
}

/** The model's normalisation on 0..255 pixels: (pixel - mean) / std per channel, as NormalizationOptions says it. */
export function tfliteNormalization(w: LoadedWeights): { mean: number[]; std: number[] } {
  const { mean, std } = inputNormalization(policyNormalization(w.inputPolicy, w.config));
  return { mean: mean.map((m) => m * 255), std: std.map((s) => s * 255) };
}

/** Appends ARG_MAX over the channels: the file's output becomes each pixel's class, int32 [1,H,W]. */
function classesOutput(m: TfliteModelSpec): void {
  if (m.outputs.length !== 1) throw new Error(`--output classes takes a model with one output, this one has ${m.outputs.length}`);
  const logits = m.tensors[m.outputs[0]];
  const [n, h, w] = logits.shape;
  const axis = m.tensors.push({ name: 'classes/axis', shape: [1], type: 'INT32', data: new Uint8Array(Int32Array.of(3).buffer) }) - 1;
  const classes = m.tensors.push({ name: 'classes', shape: [n, h, w], type: 'INT32' }) - 1;
  logits.name = `${logits.name}/logits`;
  m.operators.push({ opcode: 'ARG_MAX', inputs: [m.outputs[0], axis], outputs: [classes], options: { table: 'ArgMaxOptions', fields: { outputType: 'INT32' } }, layer: 'classes' });
  m.outputs = [classes];
}

export interface TfliteFile {
  bytes: Uint8Array;
  operators: number;
  tensors: number;
  /** What the file holds, in words. */
  summary: string;
}

/** The TF Lite file of `w`: refused (nothing made) where an op has no builtin form, naming op and layer. */
export function tfliteFile(w: LoadedWeights, o: TfliteExportOptions): TfliteFile {
  const precision = o.precision ?? 'float32';
  const { graph, state, compiled, output } = tfliteGraph(w, o.height, o.width);
  const family = `${w.config.decoder === 'none' ? 'DeepLabv3' : 'DeepLabv3+'} (${w.config.backbone})`;
  const description = `${family}, ${w.config.numClasses} classes, ${o.width}x${o.height}, ${precision}; from ${o.source ?? w.name}`;
  const { model, valueOf } = lowerToTflite(graph, state, description);
  // One output, forwardToHost's: the logits at the input's size (an imported file's own output at
  // its own size); aux heads and the graph's other outputs are not the file's.
  const logits = graph.outputs.get(output) ?? nodeOutput(graph.nodes[graph.nodes.length - 1]);
  model.outputs = model.outputs.filter((t) => valueOf.get(t)?.id === logits.id).slice(0, 1);
  if (precision === 'float16') halfWeights(model);
  if (precision !== 'int8' && (o.calibrate || o.int8Io)) throw new Error(`calibration images and int8 edges apply to int8 TF Lite files only, not ${precision}`);
  if (precision === 'int8') {
    if (!o.calibrate?.length) throw new Error('int8 TF Lite export needs calibration images (--calibrate)');
    const calibration = calibrationInputs(w, o.calibrate, o.height, o.width);
    quantizeModel(model, valueOf, compiled, w.params, { calibration, int8Io: o.int8Io ?? false, normalization: tfliteNormalization(w) });
  }
  if ((o.output ?? 'logits') === 'classes') classesOutput(model);
  const out = model.tensors[model.outputs[0]];
  // What MediaPipe reads: the input's normalisation, the output's labels (the model's classes).
  const { mean, std } = tfliteNormalization(w);
  const labels = w.classes.names.map((n, i) => n.replace(/\s+/g, ' ').trim() || `class ${i}`);
  const metadata = segmenterMetadata({ name: w.name, description, mean, std, inputName: 'image', outputName: out.name, labels });
  model.metadata = [{ name: METADATA_KEY, data: metadata }];
  const bytes = appendAssociatedFiles(writeTflite(model), { [LABELS_FILE]: new TextEncoder().encode(`${labels.join('\n')}\n`) });
  return {
    bytes,
    operators: model.operators.length,
    tensors: model.tensors.length,
    summary: `${family}, ${w.config.numClasses} classes, ${precision}, input 'image' [1,${o.height},${o.width},3] ${model.tensors[model.inputs[0]].type.toLowerCase()}, output '${out.name}' [${out.shape}] ${out.type.toLowerCase()}; ${model.operators.length} operators, ${(bytes.length / 2 ** 20).toFixed(2)} MiB`,
  };
}

/** Writes the TF Lite file (to a temporary file renamed into place) once the whole model is made; returns what it wrote. */
export function exportTflite(path: string, w: LoadedWeights, o: TfliteExportOptions): TfliteFile {
  const file = tfliteFile(w, o);
  writeFileAtomic(path, file.bytes);
  return file;
}
