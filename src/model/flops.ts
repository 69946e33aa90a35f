// Arithmetic cost of a graph, read off its nodes (shapes are concrete, so every count is exact).
//
// What is counted:
//  - convolutions: multiply-accumulates, MACs = output elements x KH x KW x Cin/groups (bias
//    adds are not counted); conv FLOPs = 2 x MACs. This is the number papers compare; note that
//    torchvision's published "GFLOPS" are in fact MACs (ResNet-50 at 224x224: "4.09").
//  - the cheap ops, separately ("other FLOPs"), one FLOP per arithmetic operation on an element:
//    batch norm 2 (x * scale + shift, once folded), add / mul 1, a separate activation 1,
//    global average pool 1 per input element, max / average pool KH x KW per output element,
//    bilinear resize 8 per output element (4 taps, a multiply and an add each; fused resize +
//    argmax 9 per output pixel and channel), softmax 3 per element. Concat, argmax and
//    activations fused into another op count 0.
import type { Graph, Node } from '../graph/ir.js';

export interface NodeCost {
  /** Multiply-accumulates (convolutions only). */
  macs: number;
  /** 2 x macs for convolutions, the per-element estimate above for the other ops. */
  flops: number;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function nodeCost(node: Node): NodeCost {
  const op = node.op;
  const out = numel(node.output.shape);
  switch (op.type) {
    case 'conv2d': {
      const [kh, kw, cinPerGroup] = op.weight.shape;
      const macs = out * kh * kw * cinPerGroup;
      return { macs, flops: 2 * macs };
    }
    case 'batchnorm':
      return { macs: 0, flops: 2 * out };
    case 'add':
    case 'mul':
    case 'activation':
      return { macs: 0, flops: out };
    case 'global_avg_pool':
      return { macs: 0, flops: numel(op.input.shape) };
    case 'pool2d':
      return { macs: 0, flops: out * op.attrs.kernelH * op.attrs.kernelW };
    case 'resize':
      return { macs: 0, flops: 8 * out };
    case 'resize_argmax':
      // Every channel resized (8) then compared (1) per output pixel.
      return { macs: 0, flops: 9 * out * op.input.shape[3] };
    case 'softmax':
      return { macs: 0, flops: 3 * out };
    case 'concat':
    case 'argmax':
      return { macs: 0, flops: 0 };
  }
}

export interface GraphCost {
  /** Convolution multiply-accumulates. */
  macs: number;
  /** Convolution FLOPs (2 x macs). */
  convFlops: number;
  /** Every other op, by the per-element rule above. */
  otherFlops: number;
  /** convFlops + otherFlops. */
  flops: number;
}

export function graphCost(graph: Graph): GraphCost {
  let macs = 0;
  let otherFlops = 0;
  for (const n of graph.nodes) {
    const c = nodeCost(n);
    macs += c.macs;
    if (n.op.type !== 'conv2d') otherFlops += c.flops;
  }
  return { macs, convFlops: 2 * macs, otherFlops, flops: 2 * macs + otherFlops };
}
