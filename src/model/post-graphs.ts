// The post-processing graphs segment() runs after the network: logits cropped to the image where
// the input policy padded it, resized back to the image's size (bilinear, as the model's reference
// pipeline does: half-pixel unless it says) and the argmax taken there, or, for averaged
// inference, each pass's probabilities summed at the image's size and the argmax taken of the sum.
import { GraphBuilder } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import type { Value } from '../graph/value.js';
import { type PadParams, inversePad } from '../kernels/layout/pad.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import type { SegmentOutput } from './segment-options.js';

/** The part of a post-processing program's cache key that tells its crop: '' where there is none. */
export function paddingKey(padding: PadParams | null): string {
  return padding ? ` crop ${padding.top},${padding.bottom},${padding.left},${padding.right}` : '';
}

/** The logits of the image alone: the network's logits less the input's padding (as they are where there is none). */
export function croppedToImage(g: GraphBuilder, logits: Value, padding: PadParams | null | undefined): Value {
  return padding ? g.pad('crop_to_image', logits, inversePad(padding)) : logits;
}

/** The post-processing graph: logits at the network's size -> cropped to the image (`padding`) -> the image's size -> argmax. */
export function buildPostGraph(
  inH: number,
  inW: number,
  classes: number,
  outH: number,
  outW: number,
  include: Set<SegmentOutput>,
  mode: ResizeMode = 'half_pixel',
  padding: PadParams | null = null,
): Graph {
  const g = new GraphBuilder();
  const logits = croppedToImage(g, g.input('logits', [1, inH, inW, classes]), padding);
  const [, h, w] = logits.shape;
  const same = h === outH && w === outW;
  if (!include.has('probabilities') && !include.has('logits')) {
    // Only classes: resize and argmax in one kernel, no full-size logits in memory.
    g.output('classes', same ? g.argmax('argmax', logits) : g.resizeArgmax('resize_argmax', logits, outH, outW, mode));
    return g.build();
  }
  const full = same ? logits : g.resize('resize_to_image', logits, outH, outW, mode);
  g.output('classes', g.argmax('argmax', full));
  if (include.has('probabilities')) g.output('probabilities', g.softmax('softmax', full));
  if (include.has('logits') && full.kind !== 'input') g.output('logits', full);
  return g.build();
}

/** One pass of averaged inference: sum + softmax(resize(mirror?(crop(logits)))) at the image's size. */
export function buildAccumulateGraph(
  inH: number,
  inW: number,
  classes: number,
  outH: number,
  outW: number,
  mirrored: boolean,
  mode: ResizeMode = 'half_pixel',
  padding: PadParams | null = null,
): Graph {
  const g = new GraphBuilder();
  // The mirrored view was padded as the image was: its crop comes before the mirror is undone.
  const logits = croppedToImage(g, g.input('logits', [1, inH, inW, classes]), padding);
  const sum = g.input('sum', [1, outH, outW, classes]);
  // Mirroring commutes with the (symmetric) half-pixel resize, so it runs at the smaller size.
  const unmirrored = mirrored ? g.flipWidth('unmirror', logits) : logits;
  const [, h, w] = logits.shape;
  const full = h === outH && w === outW ? unmirrored : g.resize('resize_to_image', unmirrored, outH, outW, mode);
  g.output('sum', g.addValues('accumulate', sum, g.softmax('softmax', full)));
  return g.build();
}

/** The class map of summed probabilities. */
export function buildArgmaxGraph(h: number, w: number, classes: number): Graph {
  const g = new GraphBuilder();
  g.output('classes', g.argmax('argmax', g.input('sum', [1, h, w, classes])));
  return g.build();
}

/** A frame's normalised input [1, h, w, 3] padded with zeros to the network's size, where the input policy pads (the frame kernels resize only). */
export function buildPadInputGraph(h: number, w: number, padding: PadParams): Graph {
  const g = new GraphBuilder();
  g.output('padded', g.pad('pad_to_network', g.input('image', [1, h, w, 3]), padding));
  return g.build();
}
