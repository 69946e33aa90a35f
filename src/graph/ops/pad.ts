// pad: zero padding (positive amounts) and cropping (negative) of a map's sides: MobileViTV2
// crops a map to whole patches before unfolding it and pads the folded map back with zeros.
import { type PadParams, inversePad, padCpu, padOutputShape, padSpec, preparePad } from '../../kernels/layout/pad.js';
import type { Value } from '../value.js';
import type { OpDef } from './op-def.js';

export interface PadOp {
  type: 'pad';
  input: Value;
  attrs: PadParams;
}

export const padOp: OpDef<PadOp> = {
  type: 'pad',
  half: true,
  operands: ['input'],
  infer: (op) => [{ shape: padOutputShape(op.input.shape, op.attrs), dtype: 'f32' }],
  lower: (op) => ({ specs: [padSpec()], prepare: (ctx, t, [out]) => [preparePad(ctx, { input: t(op.input), out }, op.attrs)] }),
  cpu: (op, read) => [padCpu(read(op.input) as Float32Array, op.input.shape, op.attrs)],
  cost: () => ({ macs: 0, flops: 0 }),
  // Padding's transpose crops what it added and pads back what it cropped.
  grad: (op, _outputs, [dy], g) => ({ input: dy && g.emit<PadOp>('', { type: 'pad', input: dy, attrs: inversePad(op.attrs) })[0] }),
  // NCHW in ONNX: the crops as a Slice of H and W, then the pads as a constant Pad.
  onnx(op, [out], g) {
    const { top, bottom, left, right } = op.attrs;
    const [, H, W] = op.input.shape;
    const crop = (v: number): number => Math.max(0, -v);
    const grow = (v: number): number => Math.max(0, v);
    const cropped = top < 0 || bottom < 0 || left < 0 || right < 0;
    const padded = top > 0 || bottom > 0 || left > 0 || right > 0;
    let x = g.tensor(op.input);
    if (cropped) {
      const y = padded ? g.intermediate('cropped') : out;
      const starts = g.constant('starts', 'int64', [2], [crop(top), crop(left)]);
      const ends = g.constant('ends', 'int64', [2], [H - crop(bottom), W - crop(right)]);
      g.node('Slice', [x, starts, ends, g.constant('axes', 'int64', [2], [2, 3])], [y]);
      x = y;
    }
    if (padded) g.node('Pad', [x, g.constant('pads', 'int64', [8], [0, 0, grow(top), grow(left), 0, 0, grow(bottom), grow(right)])], [out], { mode: { string: 'constant' } });
    else if (!cropped) g.node('Identity', [x], [out]);
  },
  // TF Lite: the crops as a SLICE, then the pads as a PAD (zeros).
  tflite(op, [out], g) {
    const { top, bottom, left, right } = op.attrs;
    const [n, H, W, C] = op.input.shape;
    const crop = (v: number): number => Math.max(0, -v);
    const grow = (v: number): number => Math.max(0, v);
    const cropped = top < 0 || bottom < 0 || left < 0 || right < 0;
    const padded = top > 0 || bottom > 0 || left > 0 || right > 0;
    let x = g.tensor(op.input);
    if (cropped || !padded) {
      const size = [n, H - crop(top) - crop(bottom), W - crop(left) - crop(right), C];
      const y = padded ? g.intermediate('cropped', size) : out;
      g.op('SLICE', [x, g.constant('begin', 'INT32', [4], [0, crop(top), crop(left), 0]), g.constant('size', 'INT32', [4], size)], [y]);
      x = y;
    }
    if (padded) g.op('PAD', [x, g.constant('paddings', 'INT32', [4, 2], [0, 0, grow(top), grow(bottom), grow(left), grow(right), 0, 0])], [out]);
  },
};
