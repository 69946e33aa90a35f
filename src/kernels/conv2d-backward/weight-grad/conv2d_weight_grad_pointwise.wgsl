// Weight gradient of a pointwise convolution (1x1, stride 1, no padding, groups 1) written out as
// straight-line code, for drivers that run a shader as written (SwiftShader; lavapipe unrolls
// conv2d_weight_grad.wgsl's loops and arrays itself, and prefers it):
//   dW[ci, co] = sum over the pixels m of a chunk of X[m, ci] * dY[m, co]
// X and dY read as vec4 (Cin and Cout multiples of 4). A workgroup owns CIQ quads of input
// channels (workgroup-uniform, so their X loads are one address across lanes), each lane COQ
// quads of output channels, quad j at coq = base + j * WG + lane; each of the 4 * CIQ x COQ
// vec4 sums a variable of its own, no workgroup memory and no barriers. The pixel chunk is
// wid.z (the family's split, weight-grad.ts): its sums go to `partial`, dW itself in one
// chunk. The serial sum is blocked (BLOCK-term partial sums flushed into a running total) for
// float32 accuracy, in one loop: SwiftShader compiles nested loops over live accumulators slowly.
// Module consts (the variant's): CIQ, COQ.
override WG: u32 = 8u;

const BLOCK: u32 = 64u;

struct Params {
  M: u32,         // N * OH * OW pixels (= N * H * W)
  ciQuads: u32,   // Cin / 4
  coQuads: u32,   // Cout / 4
  chunkLen: u32,  // pixels a chunk (the last may be shorter)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dOut: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partial: array<vec4<f32>>;

// Sum s of input channel ci and output quad coq into chunk's slice, where both are in range.
fn store(chunk: u32, ci: u32, coq: u32, s: vec4<f32>) {
  if (ci < params.ciQuads * 4u && coq < params.coQuads) { partial[(chunk * params.ciQuads * 4u + ci) * params.coQuads + coq] = s; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let ciq0 = wid.y * CIQ;
  let coBase = wid.x * WG * COQ + lane;
  let chunk = wid.z;
  let p0 = chunk * params.chunkLen;
  let p1 = min(p0 + params.chunkLen, params.M);
  // Columns clamped so edge quads read valid memory (their results are dropped).
//#repeat i CIQ
  let xCol{i} = min(ciq0 + {i}u, params.ciQuads - 1u);
//#end
//#repeat j COQ
  let yCol{j} = min(coBase + {j}u * WG, params.coQuads - 1u);
//#end
//#repeat i CIQ
//#repeat c 4
//#repeat j COQ
  var a{i}_{c}_{j} = vec4<f32>(0.0);
  var t{i}_{c}_{j} = vec4<f32>(0.0);
//#end
//#end
//#end
  for (var p = p0; p < p1; p++) {
//#repeat i CIQ
    let x{i} = input[p * params.ciQuads + xCol{i}];
//#end
//#repeat j COQ
    let y{j} = dOut[p * params.coQuads + yCol{j}];
//#end
//#repeat i CIQ
//#repeat c 4
//#repeat j COQ
    a{i}_{c}_{j} += x{i}[{c}] * y{j};
//#end
//#end
//#end
    if ((p - p0) % BLOCK == BLOCK - 1u) {
//#repeat i CIQ
//#repeat c 4
//#repeat j COQ
      t{i}_{c}_{j} += a{i}_{c}_{j};
      a{i}_{c}_{j} = vec4<f32>(0.0);
//#end
//#end
//#end
    }
  }
//#repeat i CIQ
//#repeat c 4
//#repeat j COQ
  store(chunk, (ciq0 + {i}u) * 4u + {c}u, coBase + {j}u * WG, t{i}_{c}_{j} + a{i}_{c}_{j});
//#end
//#end
//#end
}
