// The geometry every convolution-gradient kernel reads (src/kernels/conv2d-backward.ts
// convGradUniforms): input [N,H,W,Cin], output [N,OH,OW,Cout], weight [KH,KW,Cin/g,Cout].
struct ConvGradParams {
  total: u32,   // invocations (the kernel says what each one owns)
  n: u32,
  h: u32,
  w: u32,
  cin: u32,
  oh: u32,
  ow: u32,
  cout: u32,
  kh: u32,
  kw: u32,
  cin_g: u32,   // input channels per group
  cout_g: u32,  // output channels per group
  stride_h: u32,
  stride_w: u32,
  dil_h: u32,
  dil_w: u32,
  pad_top: u32,
  pad_left: u32,
  chunks: u32,  // weight gradient: the pixel range split in this many parts
  chunk_len: u32,
}
