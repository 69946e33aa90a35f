// A graph's ReLU/ReLU6 nodes, and the elements of a float32 forward's input to one that lie near
// its kinks (0, and 6 for ReLU6): what the float64 trace of a training step takes from our
// forward (float64-gradients.ts, followKinks). Free of Node's modules: the page tests bundle it.
import type { Node } from '../../src/graph/ir.js';

/** The ReLU/ReLU6 activation nodes of a graph's forward pass, by name. */
export function reluNodes(nodes: readonly Node[]): Node[] {
  return nodes.filter((n) => n.op.type === 'activation' && (n.op.attrs.activation === 'relu' || n.op.attrs.activation === 'relu6'));
}

/**
 * The elements of `input` within `fraction` of its root mean square of a kink (0; and 6 where
 * `six`): the only ones float32's drift (at most ~1e-4 of that scale) can put on the other side.
 */
export function nearKinks(input: ArrayLike<number>, six: boolean, fraction = 1e-3): { index: number[]; value: number[] } {
  let sum = 0;
  for (let i = 0; i < input.length; i++) sum += input[i] * input[i];
  const reach = fraction * Math.sqrt(sum / input.length);
  const index: number[] = [];
  const value: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const v = input[i];
    if (Math.abs(v) <= reach || (six && Math.abs(v - 6) <= reach)) {
      index.push(i);
      value.push(v);
    }
  }
  return { index, value };
}
