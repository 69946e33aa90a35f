// Which WebGPU implementation runs us: Dawn (Node's `webgpu`, Chrome, Edge), wgpu (Firefox,
// Deno) or WebKit's (Safari). Their shader compilers make different code of the same WGSL: on a
// CPU adapter, naga's loops reach the driver in a form it does not unroll, so private arrays
// indexed in loops stay in memory there, as on SwiftShader (docs/performance.md). The runtime
// is told by its globals; nothing about correctness depends on it.

export type WebGpuImplementation = 'dawn' | 'wgpu' | 'webkit';

/** What the globals say of the runtime (taken apart so tests can give their own). */
export interface RuntimeGlobals {
  deno: boolean;
  node: boolean;
  userAgent: string;
}

export function runtimeGlobals(): RuntimeGlobals {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } }; navigator?: { userAgent?: string } };
  return { deno: g.Deno !== undefined, node: !!g.process?.versions?.node, userAgent: g.navigator?.userAgent ?? '' };
}

/** Deno and Firefox run wgpu; Safari (and every iPhone browser) WebKit; Node, Chrome and Edge Dawn. */
export function webgpuImplementation(g: RuntimeGlobals = runtimeGlobals()): WebGpuImplementation {
  if (g.deno) return 'wgpu';
  if (g.node) return 'dawn';
  // Every browser on iOS and iPadOS is WebKit, whatever it calls itself (CriOS, FxiOS, EdgiOS).
  if (/\b(iPhone|iPad|iPod)\b/.test(g.userAgent)) return 'webkit';
  if (/\bFirefox\//.test(g.userAgent)) return 'wgpu';
  if (/AppleWebKit\//.test(g.userAgent) && !/\b(Chrome|Chromium|Edg)\//.test(g.userAgent)) return 'webkit';
  return 'dawn';
}
