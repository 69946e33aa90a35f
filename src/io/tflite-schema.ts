// Facts of TF Lite's flatbuffer schema (schema.fbs) that the reader (src/model/weights/import/tflite.ts)
// decodes by and the exporter (src/graph/tflite/write.ts) writes by: the
// tensor types, the builtin operators and option tables by their enum order, and the fields of
// the option tables it reads, slot by slot.

export const TENSOR_TYPES = [
  'FLOAT32', 'FLOAT16', 'INT32', 'UINT8', 'INT64', 'STRING', 'BOOL', 'INT16', 'COMPLEX64', 'INT8',
  'FLOAT64', 'COMPLEX128', 'UINT64', 'RESOURCE', 'VARIANT', 'UINT32', 'UINT16', 'INT4', 'BFLOAT16',
];

/** BuiltinOperator enum, value = index. */
export const BUILTIN_OPERATORS = `ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE
EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D LOCAL_RESPONSE_NORMALIZATION
LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX
SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD
UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE
UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE
BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL
SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW
ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN
FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU
SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU
REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4
NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES
CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT
HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS
RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1
UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST
BITWISE_XOR RIGHT_SHIFT`.split(/\s+/);

/** BuiltinOptions union members; union type value = index + 1 (0 is NONE). */
export const BUILTIN_OPTIONS = `Conv2DOptions DepthwiseConv2DOptions ConcatEmbeddingsOptions LSHProjectionOptions Pool2DOptions
SVDFOptions RNNOptions FullyConnectedOptions SoftmaxOptions ConcatenationOptions AddOptions L2NormOptions
LocalResponseNormalizationOptions LSTMOptions ResizeBilinearOptions CallOptions ReshapeOptions SkipGramOptions
SpaceToDepthOptions EmbeddingLookupSparseOptions MulOptions PadOptions GatherOptions BatchToSpaceNDOptions
SpaceToBatchNDOptions TransposeOptions ReducerOptions SubOptions DivOptions SqueezeOptions SequenceRNNOptions
StridedSliceOptions ExpOptions TopKV2Options SplitOptions LogSoftmaxOptions CastOptions DequantizeOptions
MaximumMinimumOptions ArgMaxOptions LessOptions NegOptions PadV2Options GreaterOptions GreaterEqualOptions
LessEqualOptions SelectOptions SliceOptions TransposeConvOptions SparseToDenseOptions TileOptions
ExpandDimsOptions EqualOptions NotEqualOptions ShapeOptions PowOptions ArgMinOptions FakeQuantOptions
PackOptions LogicalOrOptions OneHotOptions LogicalAndOptions LogicalNotOptions UnpackOptions FloorDivOptions
SquareOptions ZerosLikeOptions FillOptions BidirectionalSequenceLSTMOptions BidirectionalSequenceRNNOptions
UnidirectionalSequenceLSTMOptions FloorModOptions RangeOptions ResizeNearestNeighborOptions LeakyReluOptions
SquaredDifferenceOptions MirrorPadOptions AbsOptions SplitVOptions UniqueOptions ReverseV2Options AddNOptions
GatherNdOptions CosOptions WhereOptions RankOptions ReverseSequenceOptions MatrixDiagOptions QuantizeOptions
MatrixSetDiagOptions HardSwishOptions IfOptions WhileOptions DepthToSpaceOptions NonMaxSuppressionV4Options
NonMaxSuppressionV5Options ScatterNdOptions SelectV2Options DensifyOptions SegmentSumOptions BatchMatMulOptions
CumsumOptions CallOnceOptions BroadcastToOptions Rfft2dOptions Conv3DOptions HashtableOptions HashtableFindOptions
HashtableImportOptions HashtableSizeOptions VarHandleOptions ReadVariableOptions AssignVariableOptions RandomOptions
BucketizeOptions GeluOptions`.split(/\s+/);

export const PADDING = ['SAME', 'VALID'];
export const ACTIVATIONS = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

export type FieldKind = 'int' | 'bool' | 'float' | 'padding' | 'activation' | 'tensorType' | 'ints';
/** One options-table field: [name, kind, default]; null holds the slot of a deprecated field. */
export type FieldSpec = [string, FieldKind, (number | boolean)?] | null;

const fused: FieldSpec = ['fusedActivationFunction', 'activation'];

/** Field order per options table, as in schema.fbs (the slot is the position in the list). */
export const OPTION_FIELDS: Readonly<Record<string, FieldSpec[]>> = {
  Conv2DOptions: [['padding', 'padding'], ['strideW', 'int'], ['strideH', 'int'], fused,
    ['dilationWFactor', 'int', 1], ['dilationHFactor', 'int', 1]],
  DepthwiseConv2DOptions: [['padding', 'padding'], ['strideW', 'int'], ['strideH', 'int'],
    ['depthMultiplier', 'int'], fused, ['dilationWFactor', 'int', 1], ['dilationHFactor', 'int', 1]],
  Pool2DOptions: [['padding', 'padding'], ['strideW', 'int'], ['strideH', 'int'], ['filterWidth', 'int'],
    ['filterHeight', 'int'], fused],
  FullyConnectedOptions: [fused, ['weightsFormat', 'int'], ['keepNumDims', 'bool'], ['asymmetricQuantizeInputs', 'bool']],
  SoftmaxOptions: [['beta', 'float']],
  ConcatenationOptions: [['axis', 'int'], fused],
  AddOptions: [fused, ['potScaleInt16', 'bool', true]],
  SubOptions: [fused, ['potScaleInt16', 'bool', true]],
  MulOptions: [fused],
  DivOptions: [fused],
  L2NormOptions: [fused],
  ResizeBilinearOptions: [null, null, ['alignCorners', 'bool'], ['halfPixelCenters', 'bool']],
  ResizeNearestNeighborOptions: [['alignCorners', 'bool'], ['halfPixelCenters', 'bool']],
  ReshapeOptions: [['newShape', 'ints']],
  SqueezeOptions: [['squeezeDims', 'ints']],
  ReducerOptions: [['keepDims', 'bool']],
  SpaceToDepthOptions: [['blockSize', 'int']],
  DepthToSpaceOptions: [['blockSize', 'int']],
  GatherOptions: [['axis', 'int'], ['batchDims', 'int']],
  StridedSliceOptions: [['beginMask', 'int'], ['endMask', 'int'], ['ellipsisMask', 'int'], ['newAxisMask', 'int'],
    ['shrinkAxisMask', 'int'], ['offset', 'bool']],
  SplitOptions: [['numSplits', 'int']],
  SplitVOptions: [['numSplits', 'int']],
  PackOptions: [['valuesCount', 'int'], ['axis', 'int']],
  UnpackOptions: [['num', 'int'], ['axis', 'int']],
  ArgMaxOptions: [['outputType', 'tensorType']],
  ArgMinOptions: [['outputType', 'tensorType']],
  TransposeConvOptions: [['padding', 'padding'], ['strideW', 'int'], ['strideH', 'int'], fused],
  LeakyReluOptions: [['alpha', 'float']],
  MirrorPadOptions: [['mode', 'int']],
  CastOptions: [['inDataType', 'tensorType'], ['outDataType', 'tensorType']],
  BatchMatMulOptions: [['adjX', 'bool'], ['adjY', 'bool'], ['asymmetricQuantizeInputs', 'bool']],
  GeluOptions: [['approximate', 'bool']],
};
