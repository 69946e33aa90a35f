// The TensorFlow protobuf messages our TF readers decode, declared as a protobufjs JSON descriptor
// with tensorflow/core/framework/*.proto's field numbers and types: a checkpoint bundle's
// BundleHeaderProto / BundleEntryProto (tensor_bundle.proto) and a frozen graph's GraphDef
// (graph.proto, node_def.proto, attr_value.proto, tensor.proto, tensor_shape.proto).
import protobuf from 'protobufjs/light.js';

const field = (type: string, id: number) => ({ type, id });
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });

const TF_DESCRIPTOR = {
  nested: {
    tensorflow: {
      nested: {
        VersionDef: { fields: { producer: field('int32', 1), min_consumer: field('int32', 2), bad_consumers: repeated('int32', 3) } },
        BundleHeaderProto: { fields: { num_shards: field('int32', 1), endianness: field('int32', 2), version: field('VersionDef', 3) } },
        TensorShapeProto: {
          fields: { dim: repeated('Dim', 2), unknown_rank: field('bool', 3) },
          nested: { Dim: { fields: { size: field('int64', 1), name: field('string', 2) } } },
        },
        BundleEntryProto: {
          fields: {
            dtype: field('int32', 1),
            shape: field('TensorShapeProto', 2),
            shard_id: field('int32', 3),
            offset: field('int64', 4),
            size: field('int64', 5),
            crc32c: field('fixed32', 6),
            // TensorSliceProto, kept as bytes: only partitioned variables have slices.
            slices: repeated('bytes', 7),
          },
        },
        TensorProto: {
          fields: {
            dtype: field('int32', 1),
            tensor_shape: field('TensorShapeProto', 2),
            version_number: field('int32', 3),
            tensor_content: field('bytes', 4),
            float_val: repeated('float', 5),
            double_val: repeated('double', 6),
            int_val: repeated('int32', 7),
            string_val: repeated('bytes', 8),
            int64_val: repeated('int64', 10),
            bool_val: repeated('bool', 11),
            half_val: repeated('int32', 13),
          },
        },
        ListValue: {
          fields: {
            s: repeated('bytes', 2),
            i: repeated('int64', 3),
            f: repeated('float', 4),
            b: repeated('bool', 5),
            type: repeated('int32', 6),
            shape: repeated('TensorShapeProto', 7),
            tensor: repeated('TensorProto', 8),
          },
        },
        AttrValue: {
          fields: {
            list: field('ListValue', 1),
            s: field('bytes', 2),
            i: field('int64', 3),
            f: field('float', 4),
            b: field('bool', 5),
            type: field('int32', 6),
            shape: field('TensorShapeProto', 7),
            tensor: field('TensorProto', 8),
            placeholder: field('string', 9),
          },
        },
        NodeDef: {
          fields: {
            name: field('string', 1),
            op: field('string', 2),
            input: repeated('string', 3),
            device: field('string', 4),
            attr: { keyType: 'string', type: 'AttrValue', id: 5 },
          },
        },
        GraphDef: { fields: { node: repeated('NodeDef', 1), versions: field('VersionDef', 4) } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(TF_DESCRIPTOR);

export const BundleHeaderProto = root.lookupType('tensorflow.BundleHeaderProto');
export const BundleEntryProto = root.lookupType('tensorflow.BundleEntryProto');
export const GraphDefType = root.lookupType('tensorflow.GraphDef');

/** Decoded messages as plain objects: int64 as numbers, bytes as Uint8Array, defaults filled. */
export function decodeMessage<T>(type: protobuf.Type, bytes: Uint8Array): T {
  return type.toObject(type.decode(bytes), { longs: Number, bytes: Uint8Array as unknown as typeof String, defaults: true, arrays: true }) as T;
}

export interface TensorShape {
  dim: { size: number; name: string }[];
  unknown_rank: boolean;
}

export interface TensorProtoObject {
  dtype: number;
  tensor_shape?: TensorShape;
  tensor_content: Uint8Array;
  float_val: number[];
  double_val: number[];
  int_val: number[];
  string_val: Uint8Array[];
  int64_val: number[];
  bool_val: boolean[];
  half_val: number[];
}

export interface AttrValueObject {
  list?: { i: number[]; f: number[]; shape: TensorShape[] };
  s?: Uint8Array;
  i?: number;
  f?: number;
  b?: boolean;
  type?: number;
  tensor?: TensorProtoObject;
}

export interface NodeDefObject {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, AttrValueObject>;
}

export interface GraphDefObject {
  node: NodeDefObject[];
}

/** tensorflow/core/framework/types.proto's DataType values the readers decode, as our dtypes. */
export const TF_DTYPES: Readonly<Record<number, { name: string; dtype: 'f32' | 'f64' | 'i32' | 'u8' | 'i8' | 'i64' | 'bool' | 'bf16' | 'f16' | null }>> = {
  1: { name: 'float32', dtype: 'f32' },
  2: { name: 'float64', dtype: 'f64' },
  3: { name: 'int32', dtype: 'i32' },
  4: { name: 'uint8', dtype: 'u8' },
  5: { name: 'int16', dtype: null },
  6: { name: 'int8', dtype: 'i8' },
  7: { name: 'string', dtype: null },
  9: { name: 'int64', dtype: 'i64' },
  10: { name: 'bool', dtype: 'bool' },
  14: { name: 'bfloat16', dtype: 'bf16' },
  19: { name: 'float16', dtype: 'f16' },
};

/** A DataType value in words, for errors. */
export function tfDtypeName(dtype: number): string {
  return TF_DTYPES[dtype]?.name ?? `DataType ${dtype}`;
}
