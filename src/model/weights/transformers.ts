// A `transformers` checkpoint's tensors in our layouts and back: conv weights OIHW <-> HWIO,
// linear weights [out, in] <-> 1x1 HWIO [1, 1, in, out] (our linear layers on tokens are 1x1
// convolutions), batch norms' num_batches_tracked counters dropped on the way in, everything else
// as it is, so checkParams reports whatever the network does not declare.
import type { HostParams } from '../../graph/params.js';
import type { TensorMap } from './import/tensor-map.js';
import { hwioToOihw, oihwToHwio } from './layouts.js';

export function transformersParams(tensors: TensorMap): HostParams {
  const params: HostParams = new Map();
  for (const [name, t] of tensors) {
    if (name.endsWith('.num_batches_tracked')) continue;
    if (t.shape.length === 4) params.set(name, oihwToHwio(t.data, t.shape));
    else if (t.shape.length === 2) params.set(name, oihwToHwio(t.data, [t.shape[0], t.shape[1], 1, 1]));
    else params.set(name, { shape: [...t.shape], data: t.data });
  }
  return params;
}

/** Our parameters as transformers' tensors: `linear` names the 1x1 convolutions that are linear layers there. */
export function transformersTensors(params: HostParams, linear: RegExp): TensorMap {
  const tensors: TensorMap = new Map();
  for (const [name, t] of params) {
    let data = t.data as Float32Array;
    let shape = [...t.shape];
    if (shape.length === 4) {
      ({ shape, data } = hwioToOihw(data, shape));
      if (linear.test(name)) shape = [shape[0], shape[1]];
    }
    tensors.set(name, { shape, data, sourceDType: 'f32' });
  }
  return tensors;
}
