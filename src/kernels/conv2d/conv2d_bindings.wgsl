// The bindings every conv2d kernel shares (prepareConv2d binds the same list to each; unused
// epilogue slots get the weight). Included after the kernel's own `Params` struct.
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<elem_t>;
@group(0) @binding(2) var<storage, read> weight: array<elem_t>;
@group(0) @binding(3) var<storage, read> bias: array<elem_t>;
@group(0) @binding(4) var<storage, read> scale: array<elem_t>;
@group(0) @binding(5) var<storage, read> residual: array<elem_t>;
@group(0) @binding(6) var<storage, read_write> out: array<elem_t>;
