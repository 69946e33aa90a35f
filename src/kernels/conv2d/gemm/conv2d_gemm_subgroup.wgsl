// The register GEMM convolution (conv2d_gemm.wgsl) with its input operand shared through
// subgroups: for software adapters that have `subgroups`.
//
// In conv2d_gemm.wgsl every input value is a workgroup-uniform load, one per pixel and input
// channel. Lavapipe compiles each storage load inside a loop to a search for an active lane and
// a bounds-check branch, which costs several FMAs' time. Here each lane of a subgroup loads a
// different input channel (one load per pixel brings in a subgroup's worth of channels), and
// subgroupShuffle hands each channel to every lane in turn. Measured on lavapipe (2-core EPYC,
// AVX2; bench part kernels): 12-31 GFLOP/s on the ASPP and 1x1 layers against 4.2-5.8 for
// conv2d_gemm.wgsl.
//
// Requires every subgroup to be full (the workgroup a whole number of subgroups of one fixed
// size: gemm/variants.ts offers this kernel only then). The tiling, split-K and epilogue are
// conv2d_gemm.wgsl's.
enable subgroups;
//#define SUBGROUPS
//#include "conv2d_gemm.wgsl"
