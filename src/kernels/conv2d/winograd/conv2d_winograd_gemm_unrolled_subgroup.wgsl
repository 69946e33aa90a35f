// The written-out Winograd GEMM (conv2d_winograd_gemm_unrolled.wgsl) on one subgroup, its input
// shared by broadcasts: subgroups of at most 8 lanes (SwiftShader's are 4).
enable subgroups;
//#define SUBGROUPS
//#include "conv2d_winograd_gemm_unrolled.wgsl"
