// conv2d_weight_grad.wgsl with `main`'s broadcast input loads shared through subgroups (software adapters
// with fixed-size subgroups: src/kernels/conv2d-backward/conv2d-backward.ts decides).
enable subgroups;
//#define SUBGROUPS
//#include "conv2d_weight_grad.wgsl"
