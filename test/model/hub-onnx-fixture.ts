// test/fixtures/hub-onnx (scripts/fixtures/hub-onnx/README.md): transformers.js folders of the
// segmentation families, each with its fp32, fp16 and q8 files, the image processor's input for
// two photos, onnxruntime's logits of each file and transformers' labels of those. Here: a file
// imported at the program level, at the fixtures' 64x64 input, with the file's own output (its
// logits at its stride, before our resize to the input) as an output of the graph.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { sourceData } from '../../src/graph/onnx/import/context.js';
import { LOGITS_RESIZE, type OnnxSignature, importOnnx } from '../../src/graph/onnx/import/import.js';
import { onnxSignature } from '../../src/graph/onnx/import/signature.js';
import type { OnnxModel } from '../../src/graph/onnx/model.js';
import { readOnnx } from '../../src/graph/onnx/read.js';
import type { HostParams } from '../../src/graph/params.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { argmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { nchwToNhwc } from './layout.js';

export const HUB_ONNX = 'test/fixtures/hub-onnx';

export type HubDType = 'fp32' | 'fp16' | 'q8';

const FILES: Readonly<Record<HubDType, string>> = { fp32: 'model.onnx', fp16: 'model_fp16.onnx', q8: 'model_quantized.onnx' };

/** The two photos of every case, [H, W]: the processor makes a 64x64 input of each. */
export const HUB_PHOTOS: readonly (readonly [number, number])[] = [
  [67, 53],
  [96, 128],
];

export interface HubFile {
  bytes: Uint8Array;
  model: OnnxModel;
  what: string;
}

export function hubFile(name: string, dtype: HubDType): HubFile {
  const what = `${name}/onnx/${FILES[dtype]}`;
  const bytes = readFileSync(join(HUB_ONNX, what));
  return { bytes, model: readOnnx(bytes, what), what };
}

export interface HubArrays {
  /** The processor's pixel_values [1,3,64,64] (NCHW), and as our input (NHWC). */
  input: { nchw: Float32Array; nhwc: Float32Array };
  /** onnxruntime's output of the file (NCHW, at the file's stride). */
  logits: { shape: number[]; data: Float32Array };
  /** transformers' labels of those logits, [H, W] of the photo. */
  labels: Float32Array;
}

/** A photo's arrays for the file of `dtype`. */
export function hubArrays(name: string, [h, w]: readonly [number, number], dtype: HubDType): HubArrays {
  const npy = (f: string) => readNpy(join(HUB_ONNX, name, f));
  const input = npy(`pixel_values_${h}x${w}.npy`);
  if (input.shape.join() !== '1,3,64,64') throw new Error(`${name}: pixel_values [${input.shape}] is not [1,3,64,64]`);
  return { input: { nchw: input.data, nhwc: nchwToNhwc(input.data, input.shape) }, logits: npy(`logits_${h}x${w}_${dtype}.npy`), labels: npy(`labels_${h}x${w}_${dtype}.npy`).data };
}

/**
 * The file's signature; where the file leaves its channels symbolic (optimum's TorchScript
 * exports: [batch_size, num_channels, height, width]), the fixtures' [N, 3, H, W] input says them.
 */
function signatureOf(f: HubFile): OnnxSignature {
  try {
    return onnxSignature(f.model, f.what);
  } catch (e) {
    if (!/does not fix its channels/.test((e as Error).message)) throw e;
    return { input: f.model.graph.inputs[0].name, layout: 'nchw', channels: 3, size: null, output: f.model.graph.outputs[0].name };
  }
}

export interface HubGraph {
  /** Outputs 'logits' (NHWC at the input's size) and 'raw' (the file's output, NHWC, at its stride). */
  graph: Graph;
  params: HostParams;
}

/** The file imported at the fixtures' 64x64 input. */
export function importHub(f: HubFile): HubGraph {
  const b = new GraphBuilder();
  const image = b.input('image', [1, 64, 64, 3]);
  const { logits, sources } = importOnnx(b, image, f.model, signatureOf(f), f.what);
  b.output('logits', logits);
  const graph = b.build();
  // The file's output is our resize's input where the logits come at a stride (not a resize of the file's own).
  const resize = graph.nodes.find((n) => n.name === LOGITS_RESIZE && n.outputs[0] === logits && n.op.type === 'resize');
  const raw: Value = resize && resize.op.type === 'resize' ? resize.op.input : logits;
  const params: HostParams = new Map([...sources].map(([k, s]) => [k, { shape: s.order.map((x) => s.dims[x]), data: sourceData(s) }]));
  return { graph: withOutputs(graph, new Map([['raw', raw]])), params };
}

/** `graph` with more outputs (values it computes anyway). */
export function withOutputs(graph: Graph, extra: ReadonlyMap<string, Value>): Graph {
  return { ...graph, outputs: new Map([...graph.outputs, ...extra]) };
}

/** Labels as transformers' post_process_semantic_segmentation makes them: logits [1,h,w,K] (NHWC) resized bilinearly (align_corners=False) to the photo, then argmax. */
export function photoLabels(logits: Float32Array, shape: readonly number[], [h, w]: readonly [number, number]): Uint32Array {
  const k = shape[3];
  return argmaxCpu(resizeBilinearCpu(logits, [...shape], { outH: h, outW: w, mode: 'half_pixel' }), [h, w, k]);
}
