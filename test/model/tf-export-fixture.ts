// The zoo fixtures export_model.py wrote (make_fixtures.py --export in scripts/fixtures/tf-xception
// and tf-mnv3): TF DeepLab's frozen graph as TF wrote it but for its variables' values, which the
// fixture leaves out (each variable's Const keeps its name, dtype and shape) and which are written
// back here from the same counter PRNG, bit for bit; and the zoo's other forms of the same
// weights (a checkpoint bundle, a tarball of both) written from them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { GraphDefType, type GraphDefObject, type NodeDefObject, decodeMessage } from '../../src/model/weights/import/tf-proto.js';
import { concat } from '../import/builders.js';
import { buildBundle, buildTar, varint } from '../import/tf-writers.js';

const NodeDefType = GraphDefType.lookupType('NodeDef');
const TensorProtoType = GraphDefType.lookupType('TensorProto');

/** A length-delimited field: its tag, the length, the bytes. */
const lengthDelimited = (field: number, body: Uint8Array): Uint8Array[] => [Uint8Array.from([(field << 3) | 2, ...varint(body.length)]), body];

/**
 * A Const node with `content` as its tensor's bytes, encoded by hand around protobufjs's encoding
 * of the rest (fields may come in any order): protobufjs took 12 s here to encode Xception-65's
 * 165 MB of weights.
 */
function constWithContent(node: NodeDefObject, content: Uint8Array): Uint8Array {
  const { value, ...otherAttrs } = node.attr;
  const tensor = concat([TensorProtoType.encode(TensorProtoType.fromObject(value.tensor!)).finish(), ...lengthDelimited(4, content)]);
  const attrValue = concat(lengthDelimited(8, tensor));
  const entry = concat([...lengthDelimited(1, new TextEncoder().encode('value')), ...lengthDelimited(2, attrValue)]);
  const rest = NodeDefType.encode(NodeDefType.fromObject({ ...node, attr: otherAttrs })).finish();
  return concat([rest, ...lengthDelimited(5, entry)]);
}
import { xceptionPrngValues } from './xception-fixture.js';

export interface ExportCase {
  height: number;
  width: number;
  /** The size deeplab_demo.ipynb fed the graph: the image's, or shrunk to fit the crop. */
  fed: [number, number];
  logits_shape: number[];
  classes_won: number;
}

export interface ExportManifest {
  crop: [number, number];
  num_classes: number;
  output_stride: number;
  seed: number;
  variables: number;
  logits_tensor: string;
  cases: ExportCase[];
}

export interface ExportFixture {
  dir: string;
  tag: string;
  manifest: ExportManifest;
  /** The frozen graph with its variables' values written back. */
  graph: Uint8Array;
  /** Those variables, by name. */
  variables: TensorMap;
}

/** A fixture's graph, filled with the PRNG's values of every Const the fixture left empty. */
export function exportFixture(dir: string, tag: string): ExportFixture {
  const manifest = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as ExportManifest;
  const graph = decodeMessage<GraphDefObject & { versions: unknown }>(GraphDefType, gunzipSync(readFileSync(join(dir, `export_${tag}.pb.gz`))));
  const variables: TensorMap = new Map();
  const nodes: Uint8Array[] = [];
  for (const node of graph.node) {
    const t = node.op === 'Const' ? node.attr.value?.tensor : undefined;
    const shape = t?.tensor_shape?.dim.map((d) => d.size) ?? [];
    // The stripped Consts: float32, no content, no typed values.
    if (!t || t.dtype !== 1 || t.tensor_content.length > 0 || t.float_val.length > 0 || shape.length === 0) {
      nodes.push(...lengthDelimited(1, NodeDefType.encode(NodeDefType.fromObject(node)).finish()));
      continue;
    }
    const data = xceptionPrngValues(node.name, shape, manifest.seed);
    variables.set(node.name, { shape, data, sourceDType: 'f32' });
    nodes.push(...lengthDelimited(1, constWithContent(node, new Uint8Array(data.buffer))));
  }
  if (variables.size !== manifest.variables) throw new Error(`${dir}: ${variables.size} variables to fill in export_${tag}.pb.gz, export.json says ${manifest.variables}`);
  const versions = GraphDefType.encode(GraphDefType.fromObject({ versions: graph.versions })).finish();
  return { dir, tag, manifest, graph: concat([...nodes, versions]), variables };
}

/**
 * The zoo's forms of a fixture in `dir`: `frozen_inference_graph.pb` alone, a checkpoint bundle
 * (`<name>/model.ckpt.*`, with a Momentum slot per variable and the step, as the zoo's hold), and
 * `<name>.tar.gz` of both; returns their paths.
 */
export function writeZooForms(fx: ExportFixture, dir: string, name: string): { graph: string; prefix: string; tarball: string } {
  const tensors = new Map([...fx.variables].map(([n, t]) => [n, { dtype: 1, shape: [...t.shape], bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) }]));
  for (const [n, t] of fx.variables) if (!/moving_(mean|variance)$/.test(n)) tensors.set(`${n}/Momentum`, { dtype: 1, shape: [...t.shape], bytes: new Uint8Array(t.data.byteLength) });
  tensors.set('global_step', { dtype: 9, shape: [], bytes: new Uint8Array(8) });
  const { index, data } = buildBundle(tensors);
  const graph = join(dir, 'frozen_inference_graph.pb');
  writeFileSync(graph, fx.graph);
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, 'model.ckpt.index'), index);
  writeFileSync(join(dir, name, 'model.ckpt.data-00000-of-00001'), data);
  const tarball = join(dir, `${name}.tar.gz`);
  writeFileSync(
    tarball,
    buildTar(
      new Map([
        [`${name}/frozen_inference_graph.pb`, fx.graph],
        [`${name}/model.ckpt.index`, index],
        [`${name}/model.ckpt.data-00000-of-00001`, data],
      ]),
    ),
  );
  return { graph, prefix: join(dir, name, 'model.ckpt'), tarball };
}
