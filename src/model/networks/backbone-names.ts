// The backbones' names: the keys of the backbone records (src/model/backbones/registry.ts,
// where a name without a record is a compile error). Here, below the records, because the config
// type (config-types.ts) names its backbone and the records build from the config.
export const BACKBONE_NAMES = ['resnet18', 'resnet50', 'resnet101', 'mobilenet_v2', 'mobilenet_v3_large', 'mobilevit', 'mobilevitv2', 'smp', 'mmseg_mobilenet_v2', 'vainf_mobilenet_v2', 'xception_65', 'mobilenet_v3_large_seg', 'mobilenet_v3_small_seg', 'onnx'] as const;

export type BackboneName = (typeof BACKBONE_NAMES)[number];
