// The post-processing graphs segment() runs after the network: logits resized back to the
// image's size (bilinear, as the model's reference pipeline does: half-pixel unless it says) and the argmax taken there, or, for averaged inference,
// each pass's probabilities summed at the image's size and the argmax taken of the sum.
import { GraphBuilder } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import type { SegmentOutput } from './segment-options.js';

/** The post-processing graph: logits at the network's size -> the image's size -> argmax. */
export function buildPostGraph(inH: number, inW: number, classes: number, outH: number, outW: number, include: Set<SegmentOutput>, mode: ResizeMode = 'half_pixel'): Graph {
  const g = new GraphBuilder();
  const logits = g.input('logits', [1, inH, inW, classes]);
  const same = inH === outH && inW === outW;
  if (!include.has('probabilities') && !include.has('logits')) {
    // Only classes: resize and argmax in one kernel, no full-size logits in memory.
    g.output('classes', same ? g.argmax('argmax', logits) : g.resizeArgmax('resize_argmax', logits, outH, outW, mode));
    return g.build();
  }
  const full = same ? logits : g.resize('resize_to_image', logits, outH, outW, mode);
  g.output('classes', g.argmax('argmax', full));
  if (include.has('probabilities')) g.output('probabilities', g.softmax('softmax', full));
  if (include.has('logits') && full !== logits) g.output('logits', full);
  return g.build();
}

/** One pass of averaged inference: sum + softmax(resize(mirror?(logits))) at the image's size. */
export function buildAccumulateGraph(inH: number, inW: number, classes: number, outH: number, outW: number, mirrored: boolean, mode: ResizeMode = 'half_pixel'): Graph {
  const g = new GraphBuilder();
  const logits = g.input('logits', [1, inH, inW, classes]);
  const sum = g.input('sum', [1, outH, outW, classes]);
  // Mirroring commutes with the (symmetric) half-pixel resize, so it runs at the smaller size.
  const unmirrored = mirrored ? g.flipWidth('unmirror', logits) : logits;
  const full = inH === outH && inW === outW ? unmirrored : g.resize('resize_to_image', unmirrored, outH, outW, mode);
  g.output('sum', g.addValues('accumulate', sum, g.softmax('softmax', full)));
  return g.build();
}

/** The class map of summed probabilities. */
export function buildArgmaxGraph(h: number, w: number, classes: number): Graph {
  const g = new GraphBuilder();
  g.output('classes', g.argmax('argmax', g.input('sum', [1, h, w, classes])));
  return g.build();
}
