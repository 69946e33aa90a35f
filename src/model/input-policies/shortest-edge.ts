// 'shortest-edge' (a `transformers` image processor whose `size` is {shortest_edge}): the
// shortest edge resized to `size`, the other side truncated, with PIL's `filter` in torch's fixed
// point (transformers' processors resize uint8 tensors with torch's antialiased resize: the hub
// fixtures' pixel values are its to the bit, and PIL's own fixed point puts 0.4 % of them one
// level away); then, with `crop`, the centre `crop` cut out; normalised in float32 as the
// processor does (processor.ts).
import { resizeRgb } from '../../io/resize-cpu.js';
import type { InputPolicy } from '../loading/options.js';
import { type InputPolicyRecord, isPositiveInt, shortSideAt } from './policy.js';
import { isCrop, pilNumber, processorNormalization, processorResample, resizeThenCrop, scaledCrop } from './processor.js';

type ShortestEdge = Extract<InputPolicy, { kind: 'shortest-edge' }>;

/** transformers' shortest-edge resize: the short side to `size`, the long one int(size * long / short). */
function shortestEdgeSize(size: number, width: number, height: number): [number, number] {
  const short = Math.min(width, height);
  const long = Math.max(1, Math.trunc((size * Math.max(width, height)) / short));
  return width <= height ? [long, size] : [size, long];
}

export const SHORTEST_EDGE: InputPolicyRecord<ShortestEdge> = {
  kind: 'shortest-edge',
  form: "{kind: 'shortest-edge', size, crop, filter}",
  parse(s) {
    if (!isPositiveInt(s.size) || !(s.crop === null || isCrop(s.crop)) || (s.filter !== 'bilinear' && s.filter !== 'bicubic')) return undefined;
    return { kind: 'shortest-edge', size: s.size, crop: isCrop(s.crop) ? { height: s.crop.height, width: s.crop.width } : null, filter: s.filter };
  },
  withOptions: (p, opts) => (opts.centerCrop === false ? { ...p, crop: null } : p),
  networkSize(p, width, height, scale) {
    if (p.crop) return scaledCrop(p.crop, scale);
    return shortestEdgeSize(Math.max(1, Math.round(p.size * scale)), width, height);
  },
  resize(p, img, height, width) {
    if (!p.crop) return img.width === width && img.height === height ? img : resizeRgb(img, width, height, processorResample(p.filter));
    // The processor's pipeline at the crop's scale: shortest edge, then the centre cut out.
    return resizeThenCrop(img, shortestEdgeSize(Math.max(1, Math.round((p.size * height) / p.crop.height)), img.width, img.height), p.filter, height, width);
  },
  resample: (p) => processorResample(p.filter),
  normalization: (_p, config) => processorNormalization(config.normalization),
  outputResize: () => 'half_pixel',
  // transformers' post-processing resizes the classifier's output once, to the photo.
  resizesHeadLogits: true,
  square: (p) => (p.crop ? { ...p.crop } : { height: p.size, width: p.size }),
  fixedSize: () => null,
  describe(p) {
    const crop = p.crop ? `, then cuts out the centre ${p.crop.width}x${p.crop.height}` : '';
    return `resizes the shortest edge to ${p.size} keeping the aspect ratio (${p.filter}, as the hub processor)${crop}`;
  },
  atOwnSize: (_p, width, height) => shortSideAt(width, height),
  hubProcessor: (p) => ({
    fields: { size: { shortest_edge: p.size }, resample: pilNumber(p.filter), do_center_crop: p.crop !== null, ...(p.crop ? { crop_size: { ...p.crop } } : {}) },
  }),
};
