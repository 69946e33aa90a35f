// conv2d_gemm_unrolled.wgsl with the input operand shared through a subgroup (see the note
// there): the workgroup is one subgroup of SG lanes, all of them full.
enable subgroups;
//#define SUBGROUPS
//#include "conv2d_gemm_unrolled.wgsl"
