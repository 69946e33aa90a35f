// conv2d_input_grad.wgsl with `main`'s broadcast dY loads shared through subgroups (software adapters
// with fixed-size subgroups: src/kernels/conv2d-backward/conv2d-backward.ts decides).
enable subgroups;
//#define SUBGROUPS
//#include "conv2d_input_grad.wgsl"
