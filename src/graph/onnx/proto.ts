// ONNX files are protobuf: one ModelProto. This module declares the ONNX messages we write and
// read as a protobufjs JSON descriptor, with the field numbers and types ONNX's IR documentation
// gives them, and encodes / decodes plain objects through it. Field names are onnx.proto's own
// (snake_case), so the objects read like ONNX's documentation. What the reader refuses (sub-graphs,
// sparse tensors, functions, training info) is declared as bytes: its presence is seen without
// decoding it, so a hostile file cannot nest graphs to any depth.
import protobuf from 'protobufjs/light.js';

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const field = (type: string, id: number) => ({ type, id });

/** onnx.proto's messages that a model of plain tensors and nodes needs (proto2 syntax). */
const ONNX_DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: field('int64', 1),
            producer_name: field('string', 2),
            producer_version: field('string', 3),
            domain: field('string', 4),
            model_version: field('int64', 5),
            doc_string: field('string', 6),
            graph: field('GraphProto', 7),
            opset_import: repeated('OperatorSetIdProto', 8),
            metadata_props: repeated('StringStringEntryProto', 14),
            training_info: repeated('bytes', 20),
            functions: repeated('bytes', 25),
          },
        },
        OperatorSetIdProto: { fields: { domain: field('string', 1), version: field('int64', 2) } },
        StringStringEntryProto: { fields: { key: field('string', 1), value: field('string', 2) } },
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: field('string', 2),
            initializer: repeated('TensorProto', 5),
            doc_string: field('string', 10),
            input: repeated('ValueInfoProto', 11),
            output: repeated('ValueInfoProto', 12),
            value_info: repeated('ValueInfoProto', 13),
            sparse_initializer: repeated('bytes', 15),
          },
        },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: field('string', 3),
            op_type: field('string', 4),
            attribute: repeated('AttributeProto', 5),
            doc_string: field('string', 6),
            domain: field('string', 7),
          },
        },
        AttributeProto: {
          fields: {
            name: field('string', 1),
            f: field('float', 2),
            i: field('int64', 3),
            s: field('bytes', 4),
            t: field('TensorProto', 5),
            g: field('bytes', 6),
            floats: repeated('float', 7),
            ints: repeated('int64', 8),
            strings: repeated('bytes', 9),
            tensors: repeated('TensorProto', 10),
            graphs: repeated('bytes', 11),
            doc_string: field('string', 13),
            type: field('AttributeType', 20),
            ref_attr_name: field('string', 21),
            sparse_tensor: field('bytes', 22),
          },
          nested: {
            AttributeType: {
              values: { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 },
            },
          },
        },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            data_type: field('int32', 2),
            segment: field('bytes', 3),
            float_data: repeated('float', 4),
            int32_data: repeated('int32', 5),
            string_data: repeated('bytes', 6),
            int64_data: repeated('int64', 7),
            name: field('string', 8),
            raw_data: field('bytes', 9),
            double_data: repeated('double', 10),
            uint64_data: repeated('uint64', 11),
            doc_string: field('string', 12),
            external_data: repeated('StringStringEntryProto', 13),
            data_location: field('int32', 14),
          },
        },
        ValueInfoProto: { fields: { name: field('string', 1), type: field('TypeProto', 2), doc_string: field('string', 3) } },
        TypeProto: {
          fields: { tensor_type: field('Tensor', 1), sequence_type: field('bytes', 4), map_type: field('bytes', 5), denotation: field('string', 6) },
          nested: { Tensor: { fields: { elem_type: field('int32', 1), shape: field('TensorShapeProto', 2) } } },
        },
        TensorShapeProto: {
          fields: { dim: repeated('Dimension', 1) },
          nested: {
            Dimension: { fields: { dim_value: field('int64', 1), dim_param: field('string', 2), denotation: field('string', 3) } },
          },
        },
      },
    },
  },
};

/** TensorProto.DataType values we use. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
export const ONNX_UINT32 = 12;

/** AttributeProto.AttributeType values we use. */
export const ATTR_FLOAT = 1;
export const ATTR_INT = 2;
export const ATTR_STRING = 3;
export const ATTR_INTS = 7;

// The plain objects the messages are built from (only the fields we set).
export interface TensorProto {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
}

export interface NodeProto {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
}

export interface ValueInfoProto {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: { dim_value: number }[] } } };
  doc_string?: string;
}

export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  doc_string?: string;
}

export interface ModelProto {
  ir_version: number;
  producer_name: string;
  producer_version: string;
  doc_string?: string;
  opset_import: { domain: string; version: number }[];
  graph: GraphProto;
  metadata_props: { key: string; value: string }[];
}

/** The descriptor's message types, for the reader (src/graph/onnx/read.ts). */
export const onnxModelType = protobuf.Root.fromJSON(ONNX_DESCRIPTOR).lookupType('onnx.ModelProto');
const modelType = onnxModelType;

export function encodeModel(model: ModelProto): Uint8Array {
  return modelType.encode(modelType.fromObject(model)).finish();
}

/** A model file's message as a plain object (int64 as numbers); for tests and inspection. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return modelType.toObject(modelType.decode(bytes), { longs: Number, arrays: true }) as ModelProto;
}
