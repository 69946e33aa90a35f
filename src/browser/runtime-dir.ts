// The browser's stand-in for src/gpu/runtime-dir.ts: there is no Vulkan loader to prepare.
export function ensureRuntimeDir(): void {}
