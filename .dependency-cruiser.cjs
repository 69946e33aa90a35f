// The import rules `npm test` checks (npm run lint:imports): no import circles, and layers that
// only look down. From the bottom: util and io (no GPU), gpu, kernels, graph, model, data,
// eval, then train, and the entry points cli and browser (and src/index.ts) on top.
const LAYERS = ['util|io', 'gpu', 'kernels', 'graph', 'model', 'data', 'eval', 'train', 'cli|browser'];

/** Layer i may not import anything from the layers above it. */
const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer.replace('|', '-')}`,
  comment: `src/${layer} sits below ${LAYERS.slice(i + 1).join(', ')} and may not import from them`,
  severity: 'error',
  from: { path: `^src/(${layer})/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import circle: modules that need each other belong together, or the shared part moves down',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...upward,
    {
      name: 'networks-below-backbones',
      comment: "src/model/networks builds parts of networks; the backbone records (src/model/backbones) use them and say which: a network asks no record",
      severity: 'error',
      from: { path: '^src/model/networks/' },
      to: { path: '^src/model/backbones/' },
    },
    {
      name: 'cli-and-browser-apart',
      comment: 'the command line and the page are separate entry points',
      severity: 'error',
      from: { path: '^src/(cli|browser)/' },
      to: { path: '^src/(cli|browser)/', pathNot: '^src/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a type from a higher layer ties the layers together just the same.
  },
};
