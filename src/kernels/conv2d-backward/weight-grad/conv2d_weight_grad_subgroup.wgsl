// conv2d_weight_grad.wgsl with `main`'s broadcast input loads shared through subgroups (software adapters
// with fixed-size subgroups: conv2d-backward/tiles.ts offers it).
enable subgroups;
//#define SUBGROUPS
//#include "conv2d_weight_grad.wgsl"
