// The browser the browser tests drive: Debian's Chromium, headless, WebGPU on its software
// adapter (SwiftShader), on a machine with no network.
export const CHROMIUM = '/usr/bin/chromium';

/** WebGPU on Chromium's software adapter, headless, as root, on a machine with no network. */
export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
