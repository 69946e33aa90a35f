// Runs a Graph on the CPU with each kernel's reference implementation. Slow and simple: the
// oracle for the GPU executor and for graph rewrites (a pass must not change the numbers).
import { batchNormCpu } from '../kernels/batchnorm.js';
import { concatCpu } from '../kernels/concat.js';
import { conv2dCpu } from '../kernels/conv2d.js';
import { elementwiseCpu } from '../kernels/elementwise.js';
import { globalAvgPoolCpu, pool2dCpu } from '../kernels/pool.js';
import { resizeBilinearCpu } from '../kernels/resize.js';
import { resizeArgmaxCpu } from '../kernels/resize-argmax.js';
import { argmaxCpu, softmaxCpu } from '../kernels/softmax.js';
import type { Graph, Value } from './ir.js';
import type { HostParams } from './params.js';
import { checkParams } from './params.js';

export function runGraphCpu(
  graph: Graph,
  params: HostParams,
  inputs: Record<string, Float32Array>,
): Map<string, Float32Array | Uint32Array> {
  checkParams(graph, params);
  const values = new Map<number, Float32Array | Uint32Array>();
  for (const v of graph.inputs) {
    const data = inputs[v.name];
    if (!data) throw new Error(`input '${v.name}' not given`);
    values.set(v.id, data);
  }
  for (const p of graph.params) values.set(p.id, params.get(p.name)!.data);
  const f = (v: Value): Float32Array => values.get(v.id) as Float32Array;

  for (const node of graph.nodes) {
    const op = node.op;
    let out: Float32Array | Uint32Array;
    switch (op.type) {
      case 'conv2d':
        out = conv2dCpu(f(op.input), op.input.shape, f(op.weight), op.weight.shape, op.attrs, {
          bias: op.bias && f(op.bias),
          scale: op.scale && f(op.scale),
          residual: op.residual && f(op.residual),
        });
        break;
      case 'batchnorm':
        out = batchNormCpu(
          f(op.input),
          op.input.shape,
          { gamma: f(op.gamma), beta: f(op.beta), mean: f(op.mean), variance: f(op.variance) },
          op.attrs,
        );
        break;
      case 'add':
      case 'mul':
        out = elementwiseCpu(f(op.a), op.a.shape, f(op.b), op.b.shape, { op: op.type, activation: op.attrs.activation });
        break;
      case 'activation':
        out = elementwiseCpu(f(op.input), op.input.shape, undefined, undefined, { op: 'unary', activation: op.attrs.activation });
        break;
      case 'global_avg_pool':
        out = globalAvgPoolCpu(f(op.input), op.input.shape);
        break;
      case 'pool2d':
        out = pool2dCpu(f(op.input), op.input.shape, op.attrs);
        break;
      case 'resize':
        out = resizeBilinearCpu(f(op.input), op.input.shape, op.attrs);
        break;
      case 'resize_argmax':
        out = resizeArgmaxCpu(f(op.input), op.input.shape, op.attrs);
        break;
      case 'concat':
        out = concatCpu(op.inputs.map(f), op.inputs.map((v) => v.shape));
        break;
      case 'softmax':
        out = softmaxCpu(f(op.input), op.input.shape);
        break;
      case 'argmax':
        out = argmaxCpu(f(op.input), op.input.shape);
        break;
    }
    values.set(node.output.id, out);
  }
  const result = new Map<string, Float32Array | Uint32Array>();
  for (const [name, v] of graph.outputs) result.set(name, values.get(v.id)!);
  return result;
}
