// The weight transform of F(4x4, 3x3) (conv2d_winograd_weight.wgsl).
//#define F4
//#include "conv2d_winograd_weight.wgsl"
