// conv2d_input_grad.wgsl with `main`'s broadcast dY loads shared through subgroups (software adapters
// with fixed-size subgroups: conv2d-backward/tiles.ts offers it).
enable subgroups;
//#define SUBGROUPS
//#include "conv2d_input_grad.wgsl"
