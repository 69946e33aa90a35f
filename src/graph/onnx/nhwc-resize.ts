// The CPU device's networks end in a resize to the input's size, whose output it reads as NHWC.
import type { OnnxEmitter } from './emitter.js';
import { NCHW_TO_NHWC_PERM } from './layout.js';
import { attribute } from './nodes.js';
import { type NodeProto, ONNX_INT64, type TensorProto } from './proto.js';

/**
 * An NHWC output made by a Resize that nothing else reads (a network's logits at its input's
 * size): the Resize made in NHWC, the transpose moved before it onto the map it enlarges. ONNX
 * Runtime transposes large maps slowly (the default model's 21x257x257 logits took 9 of its 22 ms
 * in Node) and resizes NHWC maps quickly. False, changing nothing, where `computed` is not such
 * an output.
 */
export function resizedInNhwc(nodes: NodeProto[], initializers: TensorProto[], emitter: OnnxEmitter, computed: string, key: string): boolean {
  const at = nodes.findIndex((n) => n.op_type === 'Resize' && n.output[0] === computed);
  if (at < 0 || nodes.some((n) => n.input.includes(computed))) return false;
  const resize = nodes[at];
  const sizes = initializers.find((t) => t.name === resize.input[3] && t.data_type === ONNX_INT64);
  if (!sizes) return false;
  const [n, c, h, w] = Array.from(new BigInt64Array(sizes.raw_data.slice().buffer), Number);
  const input = emitter.intermediate('nhwc');
  const transpose: NodeProto = { name: `${resize.name}:nhwc`, op_type: 'Transpose', input: [resize.input[0]], output: [input], attribute: [attribute('perm', { ints: NCHW_TO_NHWC_PERM })] };
  const nhwcSizes = emitter.constant(`sizes_nhwc_${h}x${w}`, 'int64', [4], [n, h, w, c]);
  nodes.splice(at, 1, transpose, { ...resize, input: [input, resize.input[1], resize.input[2], nhwcSizes], output: [key] });
  return true;
}
