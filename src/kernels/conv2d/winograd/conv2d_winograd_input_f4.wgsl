// The input transform of F(4x4, 3x3) (conv2d_winograd_input.wgsl).
//#define F4
//#include "conv2d_winograd_input.wgsl"
