// conv2d_gemm_tiled.wgsl with its tiles staged a vec4 at a time (four input channels of A, four
// output channels of B a thread), for layers whose channel counts are multiples of 4.
//#define VEC4
//#include "conv2d_gemm_tiled.wgsl"
