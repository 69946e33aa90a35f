// Mocha's options for the kernel tier (test/kernels/: every kernel family against its CPU
// reference, every candidate; and the tuner's tests, test-files.cjs' COMPILE_BOUND), which
// package.json's `test:suite` and `test:quick` run before the other files (test/tiers.cjs), and
// `test:default-limits` again with WebGPU's default limits.
//
// Its tests run tiny shapes through hundreds of distinct shaders, so on lavapipe their time is
// the driver's compiling, not running: they run with llvmpipe's optimisation passes off
// (GALLIVM_PERF=nopt), which halves a cold compile (the same WGSL, the same SPIR-V; only the
// machine code lavapipe makes from it is less optimised), in a Mesa shader cache of their own so
// that the other tiers never run that code. Both are left as they are where already set, and
// neither changes anything on another driver.
const { join } = require('node:path');
const { homedir } = require('node:os');
const { kernelTierFiles, longestFirst } = require('./test-files.cjs');
require('./worker-env.cjs');

process.env.GALLIVM_PERF ??= 'nopt';
process.env.MESA_SHADER_CACHE_DIR ??= join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'deeplab-webgpu', 'mesa-kernel-tier');

module.exports = {
  ...require('../.mocharc.json'),
  parallel: true,
  jobs: 2,
  spec: longestFirst(kernelTierFiles()),
};
