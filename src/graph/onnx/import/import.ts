// An ONNX graph imported into ours: the nodes the logits need, in the file's (topological) order,
// each folded on the host where its inputs are known at build time (the shape sub-graphs, for the
// input size being built) or emitted through its op's rule (rules-*.ts) as our canonical ops, so
// the same compile passes (BN folding, epilogue fusion, f16), kernels, tuning, memory planning and
// autograd run it. A node we do not run is refused naming the node and its op.
//
// The image comes in as our NHWC input; the logits go out NHWC at the input's size (a head's
// lower-resolution output is resized, bilinearly, as our whole networks do, by the node named
// LOGITS_RESIZE, whose input is the file's own output: src/model/networks/onnx-network.ts).
import type { GraphBuilder } from '../../builder.js';
import type { Value } from '../../ir.js';
import type { OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from '../model.js';
import { type ImportContext as Context, ImportContext, NHWC, NodeError, type Slot, type StateSource, identityOrder, nodeWords } from './context.js';
import { foldNode, hasFold, shapeOf } from './fold.js';
import { hostTensor } from './host.js';
import { fusePatterns } from './patterns.js';
import { GATHER_RULES } from './rules-gather.js';
import { LAYOUT_RULES } from './rules-layout.js';
import { MATH_RULES } from './rules-math.js';
import { type ImportRule, NN_RULES } from './rules-nn.js';
import { QUANT_RULES, throughCodes } from './rules-quant.js';
import { RESIZE_RULES } from './rules-resize.js';
import { TENSOR_RULES } from './rules-tensor.js';
import { ownValue } from '../../../util/own-key.js';

const RULES: Readonly<Record<string, ImportRule>> = { ...NN_RULES, ...MATH_RULES, ...LAYOUT_RULES, ...GATHER_RULES, ...RESIZE_RULES, ...TENSOR_RULES, ...QUANT_RULES };

/** The ONNX operators the importer runs (besides those it only folds on constants). */
export const IMPORTED_OPS: readonly string[] = Object.keys(RULES).filter((k) => k !== 'Silu').sort();

/** How the image enters: [N,C,H,W] (PyTorch's exports) or [N,H,W,C] (TF's, through tf2onnx). */
export type InputLayout = 'nchw' | 'nhwc';

/** What the file says of its input and output: names, layout, channels, the class count and a fixed size where it has one. */
export interface OnnxSignature {
  input: string;
  layout: InputLayout;
  channels: number;
  /** The height and width the file fixes, or null where they are free. */
  size: [number, number] | null;
  output: string;
}

export interface ImportOptions {
  /** The class count the logits are to have where it differs from the file's (a fine-tune's new classes): the node making them gets new weights. */
  classes?: number;
  /** (x - mean) / std per channel applied to the image before the file's graph (a normalisation none of ours names). */
  inputAffine?: { mean: readonly number[]; std: readonly number[] };
  /** The output at the file's own height and width (a head's stride kept), not resized to the input's. */
  ownSize?: boolean;
  /** The image's channels reversed last, before the file's graph: a file fed BGR (a MobileViT processor's do_flip_channel_order) takes RGB. */
  reverseChannels?: boolean;
}

/** The image as the file's input: our NHWC value, with the input affine applied and the channels reversed where asked. */
function imageInput(c: Context, image: Value, o: ImportOptions): Value {
  const ch = image.shape[3];
  let x = image;
  if (o.inputAffine) {
    const constant = (name: string, values: readonly number[]) => c.state(hostTensor(name, 'float', [ch], values), [0, 1, 2, 3], [1, 1, 1, ch], 'statistic');
    const centred = c.b.binary('input:minus_mean', 'sub', x, constant('input:mean', o.inputAffine.mean));
    x = c.b.binary('input:over_std', 'div', centred, constant('input:std', o.inputAffine.std));
  }
  if (!o.reverseChannels) return x;
  const channels = Array.from({ length: ch }, (_, i) => c.b.channelSlice(`input:channel${i}`, x, i, 1));
  return c.b.concat('input:reversed', channels.reverse());
}

/** The node that resizes a file's output below the input's resolution to the logits at the input's size. */
export const LOGITS_RESIZE = 'logits:resize';

export interface Imported {
  logits: Value;
  /** Where each state value of the graph came from (for its values, and for an export back to the file). */
  sources: ReadonlyMap<string, StateSource>;
}

/** The tensors the output needs, walking back from it (unused branches, an auxiliary head, are never imported). */
function needed(graph: OnnxGraph, nodes: readonly OnnxNode[], output: string): Set<OnnxNode> {
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const out = new Set<OnnxNode>();
  const stack = [output];
  const seen = new Set<string>();
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const n = producer.get(t);
    if (!n || out.has(n)) continue;
    out.add(n);
    for (const i of n.inputs) if (i && !graph.initializers.has(i)) stack.push(i);
  }
  return out;
}

/** The node that makes the logits' channels: back from the output through ops that keep channels, to a Conv. */
export function logitsNode(nodes: readonly OnnxNode[], output: string): OnnxNode | undefined {
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const passes = new Set(['Resize', 'Upsample', 'Identity', 'Dropout', 'Cast', 'Transpose']);
  let n = producer.get(output);
  for (let steps = 0; n && passes.has(n.opType) && steps < 16; steps++) n = producer.get(n.inputs[0]);
  return n?.opType === 'Conv' ? n : undefined;
}

/** Constant nodes' values (value, value_float(s), value_int(s)). */
function constantValue(c: Context, n: OnnxNode): OnnxTensor {
  const name = n.outputs[0];
  const [key, attr] = [...n.attrs][0] ?? c.refuse('has no value');
  switch (attr.kind) {
    case 'tensor':
      return { ...attr.value, name };
    case 'float':
      return { name, dtype: 'float', dims: [], data: Float32Array.of(attr.value) };
    case 'floats':
      return { name, dtype: 'float', dims: [attr.value.length], data: Float32Array.from(attr.value) };
    case 'int':
      return { name, dtype: 'int64', dims: [], data: Float64Array.of(attr.value) };
    case 'ints':
      return { name, dtype: 'int64', dims: [attr.value.length], data: Float64Array.from(attr.value) };
    default:
      return c.refuse(`value attribute '${key}' (${attr.kind}) is not read`);
  }
}

/** The supported-op list in a refusal. */
const runList = (): string => IMPORTED_OPS.join(', ');

/**
 * Imports `model`'s graph onto `b`, whose input `image` ([N,H,W,C]) stands for the file's input
 * (`sig`); returns the logits [N,H,W,classes] and where each state value came from. `what` names
 * the file in errors.
 */
export function importOnnx(b: GraphBuilder, image: Value, model: OnnxModel, sig: OnnxSignature, what: string, opts: ImportOptions = {}): Imported {
  const graph = model.graph;
  const c = new ImportContext(b, model.opset, graph.initializers);
  const nodes = fusePatterns(graph, new Set([sig.output]));
  const todo = needed(graph, nodes, sig.output);
  if (opts.classes !== undefined) {
    const head = logitsNode(nodes, sig.output);
    if (!head) throw new Error(`${what}: the logits are not made by a Conv (through resizes), so no new class set can replace it`);
    c.head = { node: head, classes: opts.classes };
  }
  for (const [name, t] of graph.initializers) c.slots.set(name, { kind: 'const', t });
  const [n, h, w, ch] = image.shape;
  const x = imageInput(c, image, opts);
  c.slots.set(sig.input, sig.layout === 'nchw' ? c.slotOf(x, [n, ch, h, w], NHWC) : c.slotOf(x, [n, h, w, ch], identityOrder(4)));
  try {
    for (const node of nodes) {
      if (!todo.has(node)) continue;
      c.node = node;
      if (node.domain !== '' && node.domain !== 'ai.onnx') c.refuse(`an operator of domain '${node.domain}', which is not run (only ONNX's own operators are)`);
      for (const a of node.attrs.values()) if (a.kind === 'graph') c.refuse('has a sub-graph (control flow), which is not run');
      const outs = importNode(c, node);
      node.outputs.forEach((o, i) => {
        if (o && outs[i]) c.slots.set(o, outs[i]);
      });
    }
    c.node = nodes.find((x) => x.outputs.includes(sig.output)) ?? c.node;
    return { logits: logitsOf(c, sig, opts.ownSize ? null : [h, w]), sources: c.sources };
  } catch (e) {
    if (e instanceof NodeError) throw new Error(`${what}: ${e.message}`, { cause: e });
    throw new Error(`${what}: ${nodeWords(c.node)}: ${(e as Error).message}`, { cause: e });
  }
}

function importNode(c: Context, node: OnnxNode): Slot[] {
  if (node.opType === 'Constant') return [{ kind: 'const', t: constantValue(c, node) }];
  const inputs = node.inputs.map((_, i) => c.input(i));
  if (node.opType === 'Shape' && inputs[0]) return [{ kind: 'const', t: inputs[0].kind === 'const' ? shapeOf(c, inputs[0].t.dims) : shapeOf(c, inputs[0].dims) }];
  if (hasFold(node.opType) && inputs.every((s) => !s || s.kind === 'const') && inputs.some((s) => s)) {
    return foldNode(c, inputs.filter((s): s is Extract<Slot, { kind: 'const' }> => !!s).map((s) => s.t)).map((t) => ({ kind: 'const', t }));
  }
  const rule = ownValue(RULES, node.opType);
  if (!rule) return c.refuse(`not run (the operators run: ${runList()})`);
  return throughCodes(c, rule);
}

/** The output as our logits: NHWC [N,H,W,classes] at `size` (the input's; the file's own output resized by LOGITS_RESIZE where it is smaller), or at its own where that is null. */
function logitsOf(c: Context, sig: OnnxSignature, size: [number, number] | null): Value {
  const out = c.slots.get(sig.output) ?? c.refuse(`the output '${sig.output}' is made by no node`);
  if (out.kind === 'const') return c.refuse(`the output '${sig.output}' is a constant, not the image's class scores`);
  if (out.dims.length !== 4) return c.refuse(`the output '${sig.output}' [${out.dims.join(',')}] is not class scores of a map ([N,classes,H,W])`);
  const order = sig.layout === 'nchw' ? NHWC : identityOrder(4);
  const v = c.valueIn(out, order);
  if (!size || (v.shape[1] === size[0] && v.shape[2] === size[1])) return v;
  return c.b.resize(LOGITS_RESIZE, v, size[0], size[1], 'half_pixel');
}
