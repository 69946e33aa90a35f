// matmul: batched matrix products of rank-3 tensors, either side transposed, scaled (attention).
import { type MatmulParams, matmulCpu, matmulGeometry, matmulLowering, matmulOutputShape, matmulTunable, prepareMatmul } from '../../kernels/matmul/matmul.js';
import type { Value } from '../value.js';
import type { OpDef } from './op-def.js';

export interface MatmulOp {
  type: 'matmul';
  a: Value;
  b: Value;
  attrs: MatmulParams;
}

export const matmulOp: OpDef<MatmulOp> = {
  type: 'matmul',
  half: true,
  operands: ['a', 'b'],
  infer: (op) => [{ shape: matmulOutputShape(op.a.shape, op.b.shape, op.attrs), dtype: 'f32' }],
  lower: (op, _outputs, ctx) => {
    // The tile is chosen here, once, for the program's precision: the kernel compiled is the one prepared.
    const { tile, specs } = matmulLowering(ctx, op.a.shape, op.b.shape, op.attrs, op.a.dtype === 'f16' ? 'f16' : 'f32');
    return { specs, prepare: (ctx, t, [out]) => [prepareMatmul(ctx, { a: t(op.a), b: t(op.b), out }, op.attrs, tile)] };
  },
  cpu: (op, read) => [matmulCpu(read(op.a) as Float32Array, op.a.shape, read(op.b) as Float32Array, op.b.shape, op.attrs)],
  tunable: (op, ctx) => matmulTunable(ctx, op.a.shape, op.b.shape, op.attrs, op.a.dtype === 'f16' ? 'f16' : 'f32'),
  cost(op) {
    const { batch, M, N, K } = matmulGeometry(op.a.shape, op.b.shape, op.attrs);
    const macs = batch * M * N * K;
    return { macs, flops: 2 * macs };
  },
  /**
   * With C = alpha op(A) op(B): d op(A) = alpha dC op(B)^T and d op(B) = alpha op(A)^T dC, each
   * itself one product of the operands as stored, so A and B are never transposed in memory.
   */
  grad(op, _outputs, [dy], g) {
    if (!dy) return {};
    const { transA, transB, alpha } = op.attrs;
    const product = (suffix: string, a: Value, b: Value, ta: boolean, tb: boolean): Value =>
      g.emit<MatmulOp>(suffix, { type: 'matmul', a, b, attrs: { transA: ta, transB: tb, alpha } })[0];
    const da = !g.needs(op.a) ? undefined : transA ? product('a', op.b, dy, transB, true) : product('a', dy, op.b, false, !transB);
    const db = !g.needs(op.b) ? undefined : transB ? product('b', dy, op.a, true, transA) : product('b', op.a, dy, !transA, false);
    return { a: da, b: db };
  },
  onnx(op, [out], g) {
    const { transA, transB, alpha } = op.attrs;
    const operand = (v: Value, transposed: boolean, hint: string): string => {
      if (!transposed) return g.tensor(v);
      const t = g.intermediate(hint);
      g.node('Transpose', [g.tensor(v)], [t], { perm: { ints: [0, 2, 1] } });
      return t;
    };
    const inputs = [operand(op.a, transA, 'a_t'), operand(op.b, transB, 'b_t')];
    if (alpha === 1) return g.node('MatMul', inputs, [out]);
    const product = g.intermediate('product');
    g.node('MatMul', inputs, [product]);
    g.node('Mul', [product, g.constant('alpha', 'float', [], [alpha])], [out]);
  },
  // TF Lite: BATCH_MATMUL with its adjoint flags for the transposes; alpha as a MUL after it.
  tflite(op, [out], g) {
    const { transA, transB, alpha } = op.attrs;
    const shape = matmulOutputShape(op.a.shape, op.b.shape, op.attrs);
    const product = alpha === 1 ? out : g.intermediate('product', shape);
    g.op('BATCH_MATMUL', [g.tensor(op.a), g.tensor(op.b)], [product], { table: 'BatchMatMulOptions', fields: { adjX: transA, adjY: transB, asymmetricQuantizeInputs: false } });
    if (alpha !== 1) g.op('MUL', [product, g.constant('alpha', 'FLOAT32', [], [alpha])], [out], { table: 'MulOptions', fields: { fusedActivationFunction: 'NONE' } });
  },
};
