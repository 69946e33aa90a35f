// A network from an ONNX file: the file's graph imported into ours (src/graph/onnx/import/) at
// whatever batch and input size is asked, with the class count the config says (a new class set
// replaces the node that makes the logits). Its architecture is the file's model itself; our
// checkpoints keep it as the file's bytes without the weights they store themselves.
import { GraphBuilder } from '../../graph/builder.js';
import { sourceTensorData } from '../../graph/onnx/import/context.js';
import type { HostParams } from '../../graph/params.js';
import type { Graph, Value } from '../../graph/ir.js';
import { type Imported, LOGITS_RESIZE, type OnnxSignature, importOnnx } from '../../graph/onnx/import/import.js';
import type { OnnxModel, OnnxTensor } from '../../graph/onnx/model.js';
import { readOnnx } from '../../graph/onnx/read.js';
import { writeOnnx } from '../../graph/onnx/write.js';
import { fromBase64, toBase64 } from '../../util/base64.js';

export interface OnnxArchitecture {
  model: OnnxModel;
  signature: OnnxSignature;
  /** The class count of the file's logits. */
  classes: number;
  /** The file, in errors. */
  what: string;
  /** (x - mean) / std applied in the graph, where the file's normalisation is none of ours (the model's input is then x / 255). */
  inputAffine?: { mean: number[]; std: number[] };
  /** The image's channels reversed in the graph: the file takes BGR (a transformers.js MobileViT's), the model RGB. */
  reverseChannels?: true;
  /** The transformers.js folder the file came from, kept so the model can be written back as one (src/model/weights/transformers-js-export.ts). */
  folder?: TransformersJsOrigin;
}

/** A transformers.js folder's other files as it held them, and which of its ONNX files (the `dtype`) the model is. */
export interface TransformersJsOrigin {
  config: string;
  processor: string;
  dtype: string;
}

/** The file's graph on `b` for `numClasses` classes. */
export function onnxNetwork(b: GraphBuilder, image: Value, a: OnnxArchitecture, numClasses: number): Imported {
  return importOnnx(b, image, a.model, a.signature, a.what, {
    ...(numClasses !== a.classes ? { classes: numClasses } : {}),
    ...(a.inputAffine ? { inputAffine: a.inputAffine } : {}),
    ...(a.reverseChannels ? { reverseChannels: true } : {}),
  });
}

/** The file's own output in a graph of its network, where the importer resized it to the logits at the input (LOGITS_RESIZE); else undefined: the logits are it. */
export function importedOwnOutput(graph: Graph): Value | undefined {
  const logits = graph.outputs.get('logits');
  const maker = logits && graph.nodes.find((n) => n.outputs.includes(logits));
  return maker?.name === LOGITS_RESIZE && maker.op.type === 'resize' ? maker.op.input : undefined;
}

/** Where each state value of the network came from, by importing the graph once (at its fixed size, else a small one). */
function stateSources(a: OnnxArchitecture, numClasses: number): Imported['sources'] {
  const b = new GraphBuilder();
  const [h, w] = a.signature.size ?? [64, 64];
  return onnxNetwork(b, b.input('image', [1, h, w, a.signature.channels]), a, numClasses).sources;
}

/**
 * The file written back with `params` (our layouts, by state name) in place of its initializers,
 * and with `metadata` over its own: the same nodes, names and opset. Under a new class count the
 * logits' conv has its new weights, and the output's channel dimension says so; an input channel
 * count the file left symbolic is written as the model takes it, and a BGR input as color_order.
 */
export function onnxFileWithWeights(a: OnnxArchitecture, params: HostParams, numClasses: number, metadata: Readonly<Record<string, string>>): { bytes: Uint8Array; nodes: number; initializers: number } {
  const sources = stateSources(a, numClasses);
  const replace = new Map<string, OnnxTensor>();
  for (const [name, s] of sources) {
    if (!s.initializer || replace.has(s.initializer)) continue;
    const p = params.get(name);
    if (!p) throw new Error(`${a.what}: no weights for ${name}`);
    replace.set(s.initializer, { name: s.initializer, dtype: 'float', dims: [...s.tensor.dims], data: sourceTensorData(s, p.data) });
  }
  const channelAxis = a.signature.layout === 'nchw' ? 1 : 3;
  const outputs = a.model.graph.outputs.map((o) =>
    o.name === a.signature.output && o.dims && typeof o.dims[channelAxis] === 'number' ? { ...o, dims: o.dims.map((d, i) => (i === channelAxis ? numClasses : d)) } : o,
  );
  // The input's channels as the model takes them where the file left them symbolic (a transformers.js folder's num_channels).
  const inputs = a.model.graph.inputs.map((i) =>
    i.name === a.signature.input && i.dims && typeof i.dims[channelAxis] !== 'number' ? { ...i, dims: i.dims.map((d, k) => (k === channelAxis ? a.signature.channels : d)) } : i,
  );
  // A file fed BGR (our graph reverses the image's channels before it) says so, as our exports' metadata does: loaded back, it takes RGB again.
  const order: [string, string][] = a.reverseChannels ? [['color_order', 'BGR']] : [];
  const bytes = writeOnnx(a.model, { replace, inputs, outputs, metadata: new Map([...a.model.metadata, ...Object.entries(metadata), ...order]) });
  return { bytes, nodes: a.model.graph.nodes.length, initializers: a.model.graph.initializers.size };
}

const floatTensor = (name: string, dims: number[], values: ArrayLike<number>): OnnxTensor => ({ name, dtype: 'float', dims, data: Float32Array.from(values) });

/**
 * What builds from a config alone: a small network in an ONNX graph (a stride-2 3x3 conv and ReLU,
 * a 1x1 classifier for 21 classes, a bilinear resize back), its weights zeros.
 */
export function defaultOnnxArchitecture(): OnnxArchitecture {
  const zeros = (name: string, dims: number[]) => floatTensor(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)));
  const initializers = [zeros('backbone.conv.weight', [8, 3, 3, 3]), zeros('backbone.conv.bias', [8]), zeros('classifier.weight', [21, 8, 1, 1]), zeros('classifier.bias', [21])];
  const attrs = (entries: Record<string, number[]>) => new Map(Object.entries(entries).map(([k, v]) => [k, { kind: 'ints' as const, value: v }]));
  const model: OnnxModel = {
    irVersion: 8,
    opset: 17,
    producer: 'deeplab-webgpu',
    producerVersion: '',
    metadata: new Map(),
    graph: {
      name: 'default',
      initializers: new Map(initializers.map((t) => [t.name, t])),
      inputs: [{ name: 'image', dtype: 'float', dims: ['N', 3, 'H', 'W'] }],
      outputs: [{ name: 'logits', dtype: 'float', dims: ['N', 21, 'h', 'w'] }],
      nodes: [
        { name: '/backbone/conv/Conv', opType: 'Conv', domain: '', inputs: ['image', 'backbone.conv.weight', 'backbone.conv.bias'], outputs: ['features'], attrs: attrs({ strides: [2, 2], pads: [1, 1, 1, 1] }) },
        { name: '/backbone/relu/Relu', opType: 'Relu', domain: '', inputs: ['features'], outputs: ['activated'], attrs: new Map() },
        { name: '/classifier/Conv', opType: 'Conv', domain: '', inputs: ['activated', 'classifier.weight', 'classifier.bias'], outputs: ['logits'], attrs: new Map() },
      ],
    },
  };
  return { model, signature: { input: 'image', layout: 'nchw', channels: 3, size: null, output: 'logits' }, classes: 21, what: 'the default ONNX network' };
}

/** Float initializers above this many values are weights a checkpoint stores; smaller ones (a Resize's scales) stay in the graph. */
const KEPT_VALUES = 64;

/** The initializers a state value of the network is, by architecture: their values are the checkpoint's tensors. */
const heldByState = new WeakMap<OnnxArchitecture, ReadonlySet<string>>();

function initializersHeld(a: OnnxArchitecture): ReadonlySet<string> {
  let held = heldByState.get(a);
  if (!held) {
    held = new Set([...stateSources(a, a.classes).values()].flatMap((s) => (s.initializer ? [s.initializer] : [])));
    heldByState.set(a, held);
  }
  return held;
}

/**
 * The initializers a checkpoint stores itself: float weights that a state value is. One the graph
 * only folds into another when it is built (DPT's position embeddings, resized to the grid of the
 * size built) is no state value's, so it stays in the graph.
 */
function storedInitializers(a: OnnxArchitecture): OnnxTensor[] {
  const held = initializersHeld(a);
  const float = (t: OnnxTensor) => t.dtype === 'float' || t.dtype === 'float16' || t.dtype === 'bfloat16' || t.dtype === 'double';
  return [...a.model.graph.initializers.values()].filter((t) => float(t) && t.data.length > KEPT_VALUES && held.has(t.name));
}

/** The architecture as our checkpoints keep it: the file without its weights (their dims kept), and what was read of it. */
export function onnxArchitectureJson(a: OnnxArchitecture): unknown {
  const stored = storedInitializers(a);
  return {
    onnx: toBase64(writeOnnx(a.model, { omit: new Set(stored.map((t) => t.name)) })),
    weights: Object.fromEntries(stored.map((t) => [t.name, t.dims])),
    signature: a.signature,
    classes: a.classes,
    what: a.what,
    ...(a.inputAffine ? { inputAffine: a.inputAffine } : {}),
    ...(a.reverseChannels ? { reverseChannels: true } : {}),
    ...(a.folder ? { folder: a.folder } : {}),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isDims = (v: unknown): v is number[] => Array.isArray(v) && v.length <= 8 && v.every((d) => Number.isSafeInteger(d) && d >= 0);

/** `onnxArchitectureJson`'s value read back, every field checked; the weights it left out come back as zeros of their dims (the checkpoint's tensors replace them). */
export function onnxArchitectureFromJson(v: unknown, what: string): OnnxArchitecture {
  if (!isObject(v) || typeof v.onnx !== 'string' || !isObject(v.weights) || !isObject(v.signature) || !Number.isInteger(v.classes) || typeof v.what !== 'string') {
    throw new Error(`${what}: not an ONNX network's description (onnx, weights, signature, classes, what)`);
  }
  const model = readOnnx(fromBase64(v.onnx, what), what);
  const initializers = new Map(model.graph.initializers);
  for (const [name, dims] of Object.entries(v.weights)) {
    if (!isDims(dims)) throw new Error(`${what}: weights '${name}' has no dims`);
    const n = dims.reduce((a, b) => a * b, 1);
    if (n > 1 << 28) throw new Error(`${what}: weights '${name}' [${dims.join(',')}] is too large`);
    initializers.set(name, floatTensor(name, dims, new Float32Array(n)));
  }
  const s = v.signature;
  const signature: OnnxSignature = {
    input: String(s.input),
    layout: s.layout === 'nhwc' ? 'nhwc' : 'nchw',
    channels: Number(s.channels),
    size: Array.isArray(s.size) && s.size.length === 2 && s.size.every((d) => Number.isInteger(d) && d > 0) ? [s.size[0], s.size[1]] : null,
    output: String(s.output),
  };
  if (!Number.isInteger(signature.channels) || signature.channels < 1) throw new Error(`${what}: signature.channels is not a count`);
  const f = v.folder;
  if (f !== undefined && !(isObject(f) && typeof f.config === 'string' && typeof f.processor === 'string' && typeof f.dtype === 'string')) {
    throw new Error(`${what}: folder is not a transformers.js folder's files (config, processor, dtype)`);
  }
  const affine = isObject(v.inputAffine) && Array.isArray(v.inputAffine.mean) && Array.isArray(v.inputAffine.std) ? { mean: v.inputAffine.mean.map(Number), std: v.inputAffine.std.map(Number) } : undefined;
  return {
    model: { ...model, graph: { ...model.graph, initializers, inputs: model.graph.inputs.filter((i) => !initializers.has(i.name)) } },
    signature,
    classes: v.classes as number,
    what: v.what,
    ...(affine ? { inputAffine: affine } : {}),
    ...(v.reverseChannels === true ? { reverseChannels: true as const } : {}),
    ...(f ? { folder: { config: f.config as string, processor: f.processor as string, dtype: f.dtype as string } } : {}),
  };
}
