// What an ONNX file's graph takes and gives, read from its declared inputs and outputs: the one
// float image input, [N,C,H,W] or [N,H,W,C], its channels, whether its height and width are
// fixed, and the output taken as the logits (the first, unless named).
import type { OnnxModel, OnnxValueInfo } from '../model.js';
import type { OnnxSignature } from './import.js';

const known = (d: number | string | null | undefined): number | null => (typeof d === 'number' ? d : null);

/**
 * The channels a Conv reading the input takes (its weight's [M, C/group, kH, kW] times its
 * group), where the input leaves them symbolic (optimum's `num_channels` axis), or null.
 */
function convChannels(model: OnnxModel, input: string): number | null {
  for (const n of model.graph.nodes) {
    if (n.opType !== 'Conv' || n.inputs[0] !== input) continue;
    const w = model.graph.initializers.get(n.inputs[1]);
    const group = n.attrs.get('group');
    if (w && w.dims.length === 4) return w.dims[1] * (group?.kind === 'int' ? group.value : 1);
  }
  return null;
}

/**
 * The file's signature; `output` picks an output by name; `channels` is the input's channel count
 * where the file leaves it symbolic (what a model folder's config says: optimum's exports name it
 * `num_channels`), else a Conv reading the input tells it. `what` names the file in errors.
 */
export function onnxSignature(model: OnnxModel, what: string, output?: string, channels?: number): OnnxSignature {
  const inputs = model.graph.inputs;
  if (inputs.length !== 1) throw new Error(`${what}: the graph takes ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ')}); a segmentation model takes one image`);
  const input: OnnxValueInfo = inputs[0];
  if (input.dtype !== 'float' || !input.dims || input.dims.length !== 4) {
    throw new Error(`${what}: input '${input.name}' is ${input.dtype ?? 'of unknown type'} [${input.dims?.map((d) => d ?? '?').join(',') ?? '?'}], not a float image [N,C,H,W] or [N,H,W,C]`);
  }
  const [, d1, d2, d3] = input.dims.map(known);
  // PyTorch's [N,C,H,W] unless the channels are plainly last (a TF model through tf2onnx: [N,H,W,3]).
  const channelsLast = d3 !== null && d3 <= 4 && (d1 === null || d1 > 4);
  const fixed = channelsLast ? d3 : d1;
  const count = fixed ?? channels ?? (channelsLast ? null : convChannels(model, input.name));
  if (count === null || count < 1) throw new Error(`${what}: input '${input.name}' [${input.dims.map((d) => d ?? '?').join(',')}] does not fix its channels, and no Conv reading it says them`);
  const [h, w] = channelsLast ? [d1, d2] : [d2, d3];
  const outputs = model.graph.outputs;
  const chosen = output === undefined ? outputs[0] : outputs.find((o) => o.name === output);
  if (!chosen) throw new Error(`${what}: no output named '${output}' (the outputs: ${outputs.map((o) => o.name).join(', ')})`);
  return { input: input.name, layout: channelsLast ? 'nhwc' : 'nchw', channels: count, size: h !== null && w !== null ? [h, w] : null, output: chosen.name };
}
