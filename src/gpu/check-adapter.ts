// `npm run check-adapter`: proves a WebGPU adapter and device can be created and prints the
// adapter's name and key limits. Exit code 1 when none can be created.
import { GpuContext } from './context.js';
import { ensureRuntimeDir } from './runtime-dir.js';

ensureRuntimeDir();
try {
  const ctx = await GpuContext.create();
  const l = ctx.limits;
  console.log(`WebGPU adapter: ${ctx.adapterInfo.name}`);
  console.log(
    `  maxBufferSize ${l.maxBufferSize}, maxStorageBufferBindingSize ${l.maxStorageBufferBindingSize}, ` +
      `timestamp-query ${ctx.adapter.features.has('timestamp-query') ? 'yes' : 'no'}`,
  );
  ctx.destroy();
} catch (e) {
  console.error(`No WebGPU adapter: ${(e as Error).message}`);
  process.exit(1);
}
