// Arithmetic cost of a graph, read off its nodes (shapes are concrete, so every count is exact).
//
// What is counted:
//  - convolutions: multiply-accumulates, MACs = output elements x KH x KW x Cin/groups (bias
//    adds are not counted); conv FLOPs = 2 x MACs. Batched matrix products (attention) count
//    with them: batch x M x N x K MACs. This is the number papers compare; note that
//    torchvision's published "GFLOPS" are in fact MACs (ResNet-50 at 224x224: "4.09").
//  - the cheap ops, separately ("other FLOPs"), one FLOP per arithmetic operation on an element:
//    batch norm 2 (x * scale + shift, once folded), add / mul 1, a separate activation 1,
//    global average pool 1 per input element, max / average pool KH x KW per output element,
//    bilinear resize 8 per output element (4 taps, a multiply and an add each; fused resize +
//    argmax 9 per output pixel and channel), softmax 3 per element, layer norm 8 per element.
//    Concat, permute, argmax and activations fused into another op count 0.
import type { Graph, Node } from '../../graph/ir.js';
import { type OpCost, opDef } from '../../graph/ops/registry.js';

export type NodeCost = OpCost;

/** A node's cost, by its op's definition (src/graph/ops/). */
export function nodeCost(node: Node): NodeCost {
  return opDef(node.op).cost(node.op, node.outputs);
}

export interface GraphCost {
  /** Multiply-accumulates of convolutions and matrix products. */
  macs: number;
  /** Their FLOPs (2 x macs). */
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
    if (c.macs === 0) otherFlops += c.flops;
  }
  return { macs, convFlops: 2 * macs, otherFlops, flops: 2 * macs + otherFlops };
}
