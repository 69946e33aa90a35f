// conv2d_gemm_matrix.wgsl with the subgroup-matrix built-ins replaced by plain WGSL doing the same
// arithmetic on the same workgroup tiles: how its tiling, staging, edges, split-K and epilogue
// are tested on adapters without subgroup matrices (lavapipe). Never chosen in production.
//#define MATRIX_EMULATED
//#include "conv2d_gemm_matrix.wgsl"
