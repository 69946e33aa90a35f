// Packages the library needs only in Node (Dawn's `webgpu` bindings, `sharp` for image files,
// onnxruntime-node for the CPU device):
// peer dependencies a page-only install leaves out, so they are imported when first used and a
// missing one is an error naming the package to install rather than a module-resolution trace.

/** Node's error for an import that found no package (ESM and CommonJS codes). */
function isMissingPackage(e: unknown, name: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  const message = String((e as Error | null)?.message ?? '');
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${name}'`);
}

/** A package the library imports when first used is not installed. */
export class MissingPackageError extends Error {
  constructor(
    message: string,
    readonly packageName: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MissingPackageError';
  }
}

/**
 * The module `load()` imports (a literal `import('name')`, so bundlers see it), or an error
 * saying that `what` needs the package `name` and how to install it.
 */
export async function importOptional<T>(name: string, what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (!isMissingPackage(e, name)) throw e;
    throw new MissingPackageError(`deeplab-webgpu: ${what} needs the package '${name}', which is not installed (npm install ${name})`, name, { cause: e });
  }
}
