// The packages used only in Node (webgpu, sharp) are peer dependencies: a missing one is an
// error naming it and how to install it.
import { expect } from 'chai';
import { importOptional } from '../../src/util/optional-package.js';
import { expectRejects } from '../helpers.js';

describe('util: optional packages', () => {
  it('a missing package is an error naming it and the install command', async () => {
    const name = 'deeplab-no-such-package';
    const err = await expectRejects(importOptional(name, 'the test', () => import(name)), "needs the package 'deeplab-no-such-package'");
    expect(err.message).to.equal(`deeplab-webgpu: the test needs the package '${name}', which is not installed (npm install ${name})`);
  });

  it("an installed package's own failure passes through unchanged", async () => {
    const failure = Object.assign(new Error("Cannot find module 'other' imported from x"), { code: 'ERR_MODULE_NOT_FOUND' });
    const err = await expectRejects(importOptional('sharp', 'the test', () => Promise.reject(failure)), "Cannot find module 'other'");
    expect(err).to.equal(failure);
  });

  it('an installed package is returned', async () => {
    const module = await importOptional('fflate', 'the test', () => import('fflate'));
    expect(module.gunzipSync).to.be.a('function');
  });
});
