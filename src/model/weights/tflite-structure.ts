// Checks that the graph we built for TF's MobileNetV2 DeepLab is the network in the TFLite file:
// every conv's stride, padding, dilation and fused activation, the resizes' corner convention,
// the image-pooling window, the concat order and the op counts. Weights alone would load into
// a subtly different network (a wrong rate or pad changes the numbers, not the shapes), so a
// mismatch here is an error, never a silent difference.
import { type Graph, type Node, nodeOutput } from '../../graph/ir.js';
import { fuseEpilogues } from '../../graph/passes.js';
import { samePadding } from '../../kernels/conv2d/params.js';
import { ownValue } from '../../util/own-key.js';
import type { TfliteModel } from './import/tflite.js';

const ACTIVATION_OF: Record<string, string> = { NONE: 'none', RELU: 'relu', RELU6: 'relu6' };

export function checkTfliteStructure(tfl: TfliteModel, canonical: Graph, what: string): void {
  // TF Lite fuses activations into the ops they follow; so do we before comparing.
  const graph = fuseEpilogues(canonical, { activationsOnly: true });
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((v) => [v.id, n.name] as const)));
  const problems: string[] = [];
  const convs = new Map<string, Node>();
  const countOf = (type: string): number => graph.nodes.filter((n) => n.op.type === type).length;
  for (const n of graph.nodes) if (n.op.type === 'conv2d') convs.set(n.name, n);
  // A damaged file can leave an operator without an input or output: name that, never crash.
  const tensorName = (i: number | undefined): string => (i === undefined ? '(missing tensor)' : (tfl.tensors[i]?.name ?? `#${i}`));
  const tensorShape = (i: number | undefined): number[] => (i === undefined ? [] : (tfl.tensors[i]?.shape ?? []));
  const opCount = (code: string): number => tfl.operators.filter((o) => o.opcode === code).length;

  const fileConvs = opCount('CONV_2D') + opCount('DEPTHWISE_CONV_2D');
  if (fileConvs !== countOf('conv2d')) problems.push(`${fileConvs} convolutions in the file, ${countOf('conv2d')} in our graph`);
  if (opCount('ADD') !== countOf('add')) problems.push(`${opCount('ADD')} residual adds in the file, ${countOf('add')} in our graph`);

  for (const op of tfl.operators) {
    const o = op.options;
    if (op.opcode === 'CONV_2D' || op.opcode === 'DEPTHWISE_CONV_2D') {
      const scope = tensorName(op.inputs[1]).replace(/\/(depthwise_)?weights$/, '');
      const node = convs.get(scope);
      if (!node || node.op.type !== 'conv2d') {
        problems.push(`${op.opcode} ${scope}: no such conv in our graph`);
        continue;
      }
      const missing = ['padding', 'strideH', 'strideW', 'fusedActivationFunction'].filter((k) => o[k] === undefined);
      if (missing.length) {
        problems.push(`${scope}: the file's ${op.opcode} has no ${missing.join(', ')} (a missing or damaged options table)`);
        continue;
      }
      const a = node.op.attrs;
      const input = node.op.input.shape;
      const [kh, kw] = node.op.weight.shape;
      const sh = Number(o.strideH);
      const sw = Number(o.strideW);
      const dh = Number(o.dilationHFactor ?? 1);
      const dw = Number(o.dilationWFactor ?? 1);
      if (![sh, sw, dh, dw].every((v) => Number.isInteger(v) && v >= 1)) {
        problems.push(`${scope}: stride ${sh}x${sw}, dilation ${dh}x${dw} in the file are not positive integers`);
        continue;
      }
      if (a.strideH !== sh || a.strideW !== sw) problems.push(`${scope}: stride ${sh}x${sw} in the file, ${a.strideH}x${a.strideW} ours`);
      if (a.dilationH !== dh || a.dilationW !== dw) problems.push(`${scope}: dilation ${dh}x${dw} in the file, ${a.dilationH}x${a.dilationW} ours`);
      const pads =
        o.padding === 'SAME'
          ? [...samePadding(input[1], kh, sh, dh), ...samePadding(input[2], kw, sw, dw)]
          : [0, 0, 0, 0];
      const ours = [a.padTop, a.padBottom, a.padLeft, a.padRight];
      if (pads.join() !== ours.join()) problems.push(`${scope}: padding ${o.padding} = [${pads}] in the file, [${ours}] ours`);
      const act = ownValue(ACTIVATION_OF, String(o.fusedActivationFunction)) ?? String(o.fusedActivationFunction);
      if (act !== a.activation) problems.push(`${scope}: activation ${o.fusedActivationFunction} in the file, ${a.activation} ours`);
      if (op.opcode === 'DEPTHWISE_CONV_2D' && a.groups !== input[3]) problems.push(`${scope}: depthwise in the file, groups ${a.groups} ours`);
    } else if (op.opcode === 'RESIZE_BILINEAR') {
      const mode = o.alignCorners ? 'align_corners' : o.halfPixelCenters ? 'half_pixel' : 'asymmetric';
      const out = tensorShape(op.outputs[0]);
      const ours = graph.nodes.filter((n) => n.op.type === 'resize' && nodeOutput(n).shape[1] === out[1] && nodeOutput(n).shape[2] === out[2]);
      if (ours.length === 0) problems.push(`resize to ${out[1]}x${out[2]} (${tensorName(op.outputs[0])}) has no counterpart in our graph`);
      for (const n of ours) {
        if (n.op.type === 'resize' && n.op.attrs.mode !== mode) problems.push(`${n.name}: resize ${mode} in the file, ${n.op.attrs.mode} ours`);
      }
    } else if (op.opcode === 'AVERAGE_POOL_2D') {
      const input = tensorShape(op.inputs[0]);
      if (o.filterHeight === undefined || o.filterWidth === undefined || o.padding === undefined) {
        problems.push(`${tensorName(op.outputs[0])}: the file's AVERAGE_POOL_2D has no filter size or padding (a missing or damaged options table)`);
        continue;
      }
      const global = o.padding === 'VALID' && o.filterHeight === input[1] && o.filterWidth === input[2];
      if (!global) problems.push(`${tensorName(op.outputs[0])}: average pool ${o.filterHeight}x${o.filterWidth} ${o.padding} is not a global pool`);
      if (countOf('global_avg_pool') !== 1) problems.push('the file has an image-pooling branch, our graph does not');
    } else if (op.opcode === 'CONCATENATION') {
      const concat = graph.nodes.find((n) => n.op.type === 'concat');
      if (!concat || concat.op.type !== 'concat') {
        problems.push('the file concatenates ASPP branches, our graph does not');
        continue;
      }
      // Branch order: the file's inputs are the image-pooling resize and aspp0's ReLU.
      const fileOrder = op.inputs.map((i) => (/^ResizeBilinear/.test(tensorName(i)) ? 'image_pooling' : tensorName(i).split('/')[0]));
      const ourOrder = concat.op.inputs.map((v) => (producer.get(v.id) ?? v.name).split('/')[0]);
      if (fileOrder.join() !== ourOrder.join()) problems.push(`concat order [${fileOrder}] in the file, [${ourOrder}] ours`);
    }
  }
  if (problems.length) {
    throw new Error(`${what}: the TFLite network differs from the one we built:\n  ${problems.join('\n  ')}`);
  }
}
