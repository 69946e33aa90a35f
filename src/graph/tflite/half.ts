// float16 weights, as TF's converter writes them (its float16 post-training quantization): each
// float32 constant an operator reads is stored as FLOAT16 and widened back by a DEQUANTIZE
// operator at the start of the graph, so any interpreter runs the file in float32 (and a GPU
// delegate may keep the weights in half precision). Activations stay float32.
import { halfBits } from '../../gpu/half.js';
import { type TfliteModelSpec, f32Of } from './model.js';

export function halfWeights(m: TfliteModelSpec): void {
  const dequantize = [];
  for (const [i, t] of m.tensors.entries()) {
    if (t.type !== 'FLOAT32' || !t.data) continue;
    const values = f32Of(t);
    const half = new Uint16Array(values.length);
    for (let k = 0; k < values.length; k++) half[k] = halfBits(values[k]);
    const stored = m.tensors.push({ name: `${t.name}/float16`, shape: [...t.shape], type: 'FLOAT16', data: new Uint8Array(half.buffer) }) - 1;
    // The float32 tensor keeps its index and name and becomes DEQUANTIZE's output.
    m.tensors[i] = { name: t.name, shape: [...t.shape], type: 'FLOAT32' };
    dequantize.push({ opcode: 'DEQUANTIZE', inputs: [stored], outputs: [i], layer: `${t.name}/dequantize` });
  }
  m.operators.unshift(...dequantize);
}
