import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice();
const orig = globalThis.setImmediate; let calls = 0;
const mode = process.argv[2];
globalThis.setImmediate = function (fn, ...a) { calls++; return mode === 'throttle' ? setTimeout(fn, 1, ...a) : orig(fn, ...a); };
// A heavy compute dispatch.
const code = `@group(0) @binding(0) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { var x = f32(g.x); for (var i = 0u; i < 3000u; i++) { x = sin(x) * 1.0001 + 0.5; } b[g.x] = x; }`;
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
const buf = device.createBuffer({ size: 4 * 65536, usage: GPUBufferUsage.STORAGE });
const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
for (let r = 0; r < 3; r++) {
  const c0 = process.cpuUsage(); const t0 = performance.now(); calls = 0;
  const enc = device.createCommandEncoder(); const pass = enc.beginComputePass(); pass.setPipeline(pipeline); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(1024); pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  const c = process.cpuUsage(c0);
  console.log(mode, 'wall', (performance.now() - t0).toFixed(0), 'ms cpu', ((c.user + c.system) / 1000).toFixed(0), 'ms setImmediate calls', calls);
}
device.destroy(); process.exit(0);
