// onnxruntime-web's first run of a network is slow: its WebAssembly kernels start as the browser's
// baseline compilation, and the hot ones are recompiled optimised, on other threads, only once
// they have run a while (the default model's first pass 200-220 ms against 50-70 ms after, on
// the 2-core EPYC host). A small network of the kernels DeepLab's layers use (3x3 convolutions
// with a stride, depthwise and pointwise ones, clamps, adds, a bilinear resize, the layout
// transposes), run a few times when the runtime starts, gets them recompiled while the weights
// download and parse: the first pass then took 90-110 ms. Its weights are arbitrary; its results
// are thrown away.
import { GraphBuilder } from '../../../graph/builder.js';
import { lowerToOnnx, onnxModelOf } from '../../../graph/onnx/lower.js';
import type { HostParams } from '../../../graph/params.js';
import { encodeModel } from '../../../graph/onnx/proto.js';

const SIZE = 32;
const CHANNELS = 16;

/** The warm-up network as an ONNX file (NHWC in and out, as the CPU device's networks are), and its input's shape. */
export function warmUpNetwork(): { onnx: Uint8Array; input: number[] } {
  const g = new GraphBuilder();
  const input = [1, SIZE, SIZE, 3];
  const x = g.input('image', input);
  const stem = g.conv2d('stem', x, g.param('stem_w', [3, 3, 3, CHANNELS]), { stride: 2, padding: 'same', activation: 'relu6', bias: g.param('stem_b', [CHANNELS]) });
  const depthwise = g.conv2d('depthwise', stem, g.param('depthwise_w', [3, 3, 1, CHANNELS]), { padding: 1, groups: CHANNELS, activation: 'relu6' });
  const pointwise = g.conv2d('pointwise', depthwise, g.param('pointwise_w', [1, 1, CHANNELS, CHANNELS]));
  const sum = g.addValues('residual', pointwise, stem);
  const dilated = g.conv2d('dilated', sum, g.param('dilated_w', [3, 3, CHANNELS, CHANNELS]), { padding: 2, dilation: 2, activation: 'relu' });
  g.output('logits', g.resize('upsample', dilated, SIZE, SIZE, 'half_pixel'));
  const graph = g.build();
  const params: HostParams = new Map();
  for (const v of graph.state) {
    const data = new Float32Array(v.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 17) / 170 - 0.05;
    params.set(v.name, { shape: [...v.shape], data });
  }
  return { onnx: encodeModel(onnxModelOf(lowerToOnnx(graph, params, 'runtime warm-up', 'nhwc'))), input };
}
