// MobileViTV2's tensors in transformers' names and layouts, and ours: transformers.ts's layout
// changes, and besides them each attention's qkv projection, one 1x1 conv of 1 + 2d output
// channels there ([query | keys | values] along the output axis), split into the three convs
// our network declares (`qkv_proj.query`, `.key`, `.value`) and joined back on export.
import type { HostParams } from '../../graph/params.js';
import type { TensorMap } from './import/tensor-map.js';
import { transformersParams, transformersTensors } from './transformers.js';

const QKV = /^(.*\.attention\.qkv_proj)\.convolution\.(weight|bias)$/;
const PART = /^(.*\.attention\.qkv_proj)\.(query|key|value)\.(weight|bias)$/;
const PARTS = ['query', 'key', 'value'] as const;
/** Every linear layer of MobileViTV2 is a 1x1 conv in transformers too: no name is a linear weight. */
const NO_LINEAR_LAYERS = /(?!)/;

/** A checkpoint's tensors as our parameters; a qkv projection without 1 + 2d output channels is an error naming it (`what`: the file). */
export function mobileVitV2Params(tensors: TensorMap, what: string): HostParams {
  const split: TensorMap = new Map();
  for (const [name, t] of tensors) {
    const m = QKV.exec(name);
    if (!m) {
      split.set(name, t);
      continue;
    }
    const rows = t.shape[0];
    if (rows < 3 || rows % 2 !== 1) throw new Error(`${what}: ${name} has ${rows} output channels, not 1 + 2d (one query, d keys, d values)`);
    const d = (rows - 1) / 2;
    // Values a row: the output axis is the outermost in PyTorch's layouts.
    const per = t.data.length / rows;
    let row = 0;
    for (const [part, n] of [['query', 1], ['key', d], ['value', d]] as const) {
      split.set(`${m[1]}.${part}.${m[2]}`, { shape: [n, ...t.shape.slice(1)], data: t.data.slice(row * per, (row + n) * per), sourceDType: t.sourceDType });
      row += n;
    }
  }
  return transformersParams(split);
}

/** Our parameters as transformers' tensors: the three projections joined into `qkv_proj.convolution` where the query stood. */
export function mobileVitV2Tensors(params: HostParams): TensorMap {
  const tensors = transformersTensors(params, NO_LINEAR_LAYERS);
  const out: TensorMap = new Map();
  for (const [name, t] of tensors) {
    const m = PART.exec(name);
    if (!m) out.set(name, t);
    else if (m[2] === 'query') {
      const parts = PARTS.map((p) => {
        const part = tensors.get(`${m[1]}.${p}.${m[3]}`);
        if (!part) throw new Error(`${m[1]}: no ${p} ${m[3]} to join into the qkv projection`);
        return part;
      });
      const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
      let at = 0;
      for (const p of parts) {
        data.set(p.data, at);
        at += p.data.length;
      }
      out.set(`${m[1]}.convolution.${m[3]}`, { shape: [parts.reduce((n, p) => n + p.shape[0], 0), ...t.shape.slice(1)], data, sourceDType: 'f32' });
    }
  }
  return out;
}
