// The unused-code check of `npm run lint` (npm run lint:unused), over the project's TypeScript
// (src, test, bench, demo):
//  - every export of src/ is used somewhere (its own module included, where it often names a type
//    of the module's API), or is part of an entry point's API: an export nothing uses is dead code;
//  - no unused import, local or parameter-less binding (the compiler's noUnusedLocals, which
//    tsc itself reports where the project's tsconfig sets it, as this project's does);
//  - every file a comment in src/ cites exists: a path from the project root (src/..., test/...,
//    docs/...) or a shader's name (WGSL file names are unique across the tree).
// Run as `node scripts/unused-code.mjs [project root]`: prints `file:line: what` for each finding
// and exits 1 when there is one.
import ts from 'typescript';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { SWAPPED } from './browser-plugin.mjs';

/** Modules whose exports are the package's API or are loaded by name (workers, scripts). */
const ENTRY_POINTS = [
  'src/index.ts', // package.json "exports"
  'src/browser/index.ts', // the page bundle (scripts/build-browser.mjs)
  'src/browser/worker.ts', // the worker bundle
  'src/cli/main.ts', // package.json "bin"
  'src/gpu/check-adapter.ts', // npm run check-adapter, scripts/setup-runtime.sh
  'src/data/sample-worker.ts', // piscina's worker module (src/data/sample-pool.ts)
  // The page's stand-ins for Node modules, bundled in their place (scripts/browser-plugin.mjs).
  'src/browser/webgpu.ts',
  ...SWAPPED.map((name) => `src/browser/${name}.ts`),
];

const root = resolve(process.argv[2] ?? '.');
const configPath = join(root, 'tsconfig.json');
const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
const program = ts.createProgram(config.fileNames, { ...config.options, noEmit: true, noUnusedLocals: true });
const checker = program.getTypeChecker();
const ours = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !relative(root, f.fileName).startsWith('..') && !f.fileName.includes(`${sep}node_modules${sep}`) && !f.fileName.includes('/node_modules/'));

/** The declaration a (possibly imported or re-exported) symbol names. */
const original = (symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);

const used = new Set();
const useAll = (moduleSymbol) => {
  if (moduleSymbol) for (const s of checker.getExportsOfModule(moduleSymbol)) used.add(original(s));
};

/** Whether `id` is the name a declaration gives (not a use of that name). */
const declares = (id) => {
  const parent = id.parent;
  return !!parent && ts.isDeclaration(parent) && parent.name === id;
};

for (const file of ours) {
  const visit = (node) => {
    if (ts.isIdentifier(node) && !declares(node)) {
      const s = checker.getSymbolAtLocation(node);
      if (s) used.add(original(s));
      // Shorthand properties ({ x }) name the local value as well.
      if (ts.isShorthandPropertyAssignment(node.parent)) {
        const v = checker.getShorthandAssignmentValueSymbol(node.parent);
        if (v) used.add(original(v));
      }
    } else if (ts.isImportDeclaration(node) && node.importClause?.namedBindings && ts.isNamespaceImport(node.importClause.namedBindings)) {
      useAll(checker.getSymbolAtLocation(node.moduleSpecifier));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      useAll(checker.getSymbolAtLocation(node.arguments[0]));
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      useAll(checker.getSymbolAtLocation(node.argument.literal));
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}

const entries = new Set(ENTRY_POINTS.map((p) => join(root, p)).filter(existsSync));
for (const file of ours) {
  if (!entries.has(file.fileName)) continue;
  useAll(checker.getSymbolAtLocation(file));
}

const findings = [];
/** `file:line: what`, the path from the project root with forward slashes. */
const at = (file, pos, what) => `${relative(root, file.fileName).split(sep).join('/')}:${file.getLineAndCharacterOfPosition(pos).line + 1}: ${what}`;

for (const file of ours) {
  const path = relative(root, file.fileName);
  if (!path.startsWith(`src${sep}`) || entries.has(file.fileName)) continue;
  const moduleSymbol = checker.getSymbolAtLocation(file);
  if (!moduleSymbol) continue;
  for (const s of checker.getExportsOfModule(moduleSymbol)) {
    // Names this module re-exports from another are judged in the module that declares them.
    const declaration = (s.declarations ?? [])[0];
    if (!declaration || declaration.getSourceFile() !== file || s.flags & ts.SymbolFlags.Alias) continue;
    if (!used.has(original(s))) findings.push(at(file, declaration.getStart(), `export ${s.getName()} is used nowhere`));
  }
}

/** noUnusedLocals: "'x' is declared but its value is never read" and its kin. */
const UNUSED_DIAGNOSTICS = new Set([6133, 6138, 6192, 6196, 6198, 6199, 6205]);
// A project whose tsconfig sets noUnusedLocals has them reported by tsc as it builds (this
// project's does: npm test builds before it lints), so they are not checked twice.
if (!config.options.noUnusedLocals) {
  for (const file of ours) {
    for (const d of program.getSemanticDiagnostics(file)) {
      if (UNUSED_DIAGNOSTICS.has(d.code)) findings.push(at(file, d.start ?? 0, ts.flattenDiagnosticMessageText(d.messageText, ' ')));
    }
  }
}

/** Examples in comments, not files. */
const NOT_FILES = new Set(['name.wgsl']);
const shaders = new Set(readdirTree(join(root, 'src')).filter((p) => p.endsWith('.wgsl')).map((p) => p.split(sep).pop()));
// A name that continues a template literal's `${...}` is a pattern, not a file.
const CITED = /(?<![\w./${}-])((?:src|test|bench|demo|scripts|docs)\/[\w./-]+\.(?:ts|wgsl|mjs|cjs|md)|[\w-]+\.wgsl)\b/g;
for (const path of readdirTree(join(root, 'src')).filter((p) => p.endsWith('.ts') || p.endsWith('.wgsl'))) {
  const text = readFileSync(path, 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest);
  for (const m of text.matchAll(CITED)) {
    const cited = m[1];
    const exists = cited.includes('/') ? existsSync(join(root, cited)) : shaders.has(cited) || NOT_FILES.has(cited);
    if (!exists) findings.push(at(file, m.index, `cites ${cited}, which does not exist`));
  }
}

/** Every file under `dir`, as absolute paths. */
function readdirTree(dir) {
  return ts.sys.readDirectory(dir, undefined, undefined, ['**/*']).map((p) => resolve(p));
}

if (findings.length) {
  console.log(`unused code (scripts/unused-code.mjs):\n${findings.sort().join('\n')}`);
  process.exit(1);
}
console.log(`unused code: none in ${ours.length} modules`);
