// Which WebGPU implementation runs us, from the runtime's globals, and the adapter class that
// follows for a CPU adapter (src/kernels/candidates.ts).
import { expect } from 'chai';
import { webgpuImplementation } from '../../src/gpu/implementation.js';
import { adapterClass } from '../../src/kernels/candidates.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15';
const IPHONE_CHROME = 'Mozilla/5.0 (iPhone; CPU iPhone OS 26_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/142.0 Mobile/15E148 Safari/604.1';

describe('gpu: the WebGPU implementation, and the adapter class it gives a CPU adapter', () => {
  it('Node is Dawn; Deno and Firefox wgpu; Chrome Dawn; Safari WebKit', () => {
    expect(webgpuImplementation()).to.equal('dawn');
    expect(webgpuImplementation({ deno: true, node: false, userAgent: 'Deno/2.9.6' })).to.equal('wgpu');
    // Deno also answers to process.versions.node; it is still wgpu.
    expect(webgpuImplementation({ deno: true, node: true, userAgent: 'Deno/2.9.6' })).to.equal('wgpu');
    expect(webgpuImplementation({ deno: false, node: false, userAgent: FIREFOX })).to.equal('wgpu');
    expect(webgpuImplementation({ deno: false, node: false, userAgent: CHROME })).to.equal('dawn');
    expect(webgpuImplementation({ deno: false, node: false, userAgent: SAFARI })).to.equal('webkit');
  });

  it('every browser on an iPhone is WebKit, whatever it calls itself', () => {
    // Chrome on iOS says CriOS, not Chrome: WebKit underneath.
    expect(webgpuImplementation({ deno: false, node: false, userAgent: IPHONE_CHROME })).to.equal('webkit');
  });

  it("a CPU adapter under wgpu is of the 'swiftshader' class (loops stay loops); under Dawn lavapipe is 'software'", () => {
    const lavapipe = { vendor: 'mesa', architecture: '', device: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)', name: 'llvmpipe' };
    expect(adapterClass({ isSoftware: true, adapterInfo: lavapipe, implementation: 'wgpu' })).to.equal('swiftshader');
    expect(adapterClass({ isSoftware: true, adapterInfo: lavapipe, implementation: 'dawn' })).to.equal('software');
    expect(adapterClass({ isSoftware: false, adapterInfo: lavapipe, implementation: 'wgpu' })).to.equal('gpu');
  });
});
