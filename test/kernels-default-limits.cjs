// Mocha's options for the kernel tier on a device with WebGPU's default limits (package.json's
// `test`, after the whole suite): run with DEEPLAB_DEVICE_LIMITS=default, so every kernel test
// (each family's every candidate) runs as on Safari or a phone: 8 storage buffers a stage,
// 128 MiB bindings, 256 invocations and 16 KiB of workgroup memory.
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

const DIR = join(__dirname, '..', 'dist', 'test', 'kernels');
module.exports = {
  ...require('../.mocharc.json'),
  parallel: true,
  jobs: 2,
  spec: readdirSync(DIR).filter((f) => f.endsWith('.test.js')).sort().map((f) => join('dist', 'test', 'kernels', f)),
};
