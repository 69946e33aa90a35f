// Input gradient of a pointwise convolution (1x1, stride 1, no padding, groups 1) written out as
// straight-line code, for drivers that run a shader as written (SwiftShader; lavapipe unrolls
// conv2d_input_grad.wgsl's loops and arrays itself, and prefers it):
//   dX[m, ci] = sum over co of dY[m, co] * weight[ci, co]
// each a dot product over the output channels read as vec4 (Cout a multiple of 4: a pixel's dY
// row and an input channel's weight row, HWIO [1, 1, Cin, Cout], are both contiguous in co). A
// workgroup owns PX pixels (workgroup-uniform, so their dY loads are one address across lanes),
// each lane CI input channels ci = base + j * WG + lane; each of the PX x CI sums a vec4
// variable of its own, no workgroup memory and no barriers. Module consts (the variant's,
// input-grad.ts): PX, CI.
override WG: u32 = 8u;

struct Params {
  M: u32,        // N * H * W pixels (= N * OH * OW)
  cin: u32,
  quads: u32,    // Cout / 4
  mBlocks: u32,  // ceil(M / PX)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dInput: array<f32>;

fn store(m: u32, ci: u32, acc: vec4<f32>) {
  if (m < params.M && ci < params.cin) { dInput[m * params.cin + ci] = (acc.x + acc.y) + (acc.z + acc.w); }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lane: u32) {
  let mBlock = wid.y + wid.z * nwg.y;
  if (mBlock >= params.mBlocks) { return; }
  let m0 = mBlock * PX;
  let ciBase = wid.x * WG * CI + lane;
  let Q = params.quads;
  // Rows clamped so edge pixels and lanes read valid memory (their results are dropped).
//#repeat p PX
  let yRow{p} = min(m0 + {p}u, params.M - 1u) * Q;
//#end
//#repeat j CI
  let wRow{j} = min(ciBase + {j}u * WG, params.cin - 1u) * Q;
//#end
//#repeat p PX
//#repeat j CI
  var a{p}_{j} = vec4<f32>(0.0);
//#end
//#end
  for (var k = 0u; k < Q; k++) {
//#repeat p PX
    let y{p} = dOut[yRow{p} + k];
//#end
//#repeat j CI
    let w{j} = weight[wRow{j} + k];
//#end
//#repeat p PX
//#repeat j CI
    a{p}_{j} += y{p} * w{j};
//#end
//#end
  }
//#repeat p PX
//#repeat j CI
  store(m0 + {p}u, ciBase + {j}u * WG, a{p}_{j});
//#end
//#end
}
