// Adapter info as the three implementations give it (docs/wgsl-rules.md, rule 6): Dawn fills it
// in, Firefox gives empty strings, Safari 26.0.1 has none at all. Nothing may throw on it.
import { expect } from 'chai';
import { adapterInfoOf, describeAdapter, isSoftwareAdapter } from '../../src/gpu/adapter-info.js';

const adapter = (info: unknown) => ({ info }) as unknown as Pick<GPUAdapter, 'info'>;

describe('gpu: adapter info missing, empty or filled in', () => {
  it('no info at all (Safari 26.0.1): an unknown adapter, not software, and no subgroup facts', () => {
    const a = adapter(undefined);
    expect(adapterInfoOf(a)).to.deep.equal({});
    expect(describeAdapter(a)).to.deep.include({ vendor: '', description: '', name: 'unknown adapter' });
    expect(isSoftwareAdapter(a)).to.equal(false);
  });

  it("every field an empty string (Firefox): an unknown adapter; a fallback adapter that says so is software, and named so", () => {
    const empty = { vendor: '', architecture: '', device: '', description: '' };
    expect(describeAdapter(adapter(empty)).name).to.equal('unknown adapter');
    expect(describeAdapter(adapter({ ...empty, isFallbackAdapter: true })).name).to.equal('unknown fallback adapter');
    expect(isSoftwareAdapter(adapter(empty))).to.equal(false);
    expect(isSoftwareAdapter(adapter({ ...empty, isFallbackAdapter: true }))).to.equal(true);
  });

  it('filled in (Dawn, wgpu on lavapipe): named from its description and vendor; a CPU driver is software', () => {
    const lavapipe = { vendor: 'mesa', architecture: '', device: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' };
    expect(describeAdapter(adapter(lavapipe)).name).to.equal('llvmpipe (LLVM 15.0.6, 256 bits) (mesa)');
    expect(isSoftwareAdapter(adapter(lavapipe))).to.equal(true);
    expect(isSoftwareAdapter(adapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100' }))).to.equal(false);
  });
});
