// The Winograd GEMM (conv2d_winograd_gemm.wgsl) with its input operand shared through subgroups:
// for software adapters whose subgroups are all one size (every subgroup full).
enable subgroups;
//#define SUBGROUPS
//#include "conv2d_winograd_gemm.wgsl"
