#!/usr/bin/env node
// Bundles the timer's entry (src/timer-entry.ts) into dist/timer/ (the no-op
// run's cost is mostly module loading). What the entry imports statically is read on
// every run; each dynamic import (the restart, PM2, the launch code, notifications)
// becomes a chunk read only when a run gets that far. The plain `status` entry
// (src/status-entry.ts) is bundled the same way into dist/status/: it has to answer
// within 2 s with PM2 hung, and every ms of loading comes off its probes' margin. Two
// separate builds: a process runs one of them, never both.
//
// The static part in as few files as possible: esbuild puts a module in a chunk by the
// set of entries (the entry and every dynamic import) that reach it, so the modules of
// the static part, each shared with a different mix of lazy chunks, came out as a dozen
// files, each costing the ESM loader a resolve, a read and a link on every run (~0.5 ms
// each). Here every lazy chunk's entry first imports all of the static part (a
// side-effect import, see `shareStaticPart`): they all reach all of it, and it lands in
// one chunk. That changes no evaluation order: the entry has evaluated all of it before
// any dynamic import can run. Runs after tsc in `npm run build`.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const options = (entry) => ({
  absWorkingDir: root,
  entryPoints: { index: entry },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // CommonJS dependencies (shell-quote, ...) call require() for node's own modules and
  // read __filename; an ES module has neither. require is given as a global (a
  // top-level `const require` in the banner would clash with bundled modules that
  // declare their own, as yargs does); __filename and __dirname, where no module
  // declares them, become node's import.meta.filename and dirname (node 20.11+).
  banner: { js: "import { createRequire as __alphacoreCreateRequire } from 'node:module'; globalThis.require ??= __alphacoreCreateRequire(import.meta.url);" },
  define: { __filename: 'import.meta.filename', __dirname: 'import.meta.dirname' },
  // Node reads the whole file before running it: no comments to parse.
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

async function bundle(entry, outdir) {
  // 1. The static part: the entry's bundle with every dynamic import left out.
  const probe = await build({ ...options(entry), write: false, metafile: true, outdir, plugins: [{ name: 'static-only', setup: (b) => b.onResolve({ filter: /.*/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, external: true } : undefined)) }] });
  const entryFile = path.join(root, entry);
  const staticPart = Object.keys(probe.metafile.inputs)
    .map((input) => path.join(root, input))
    .filter((file) => file !== entryFile && fs.existsSync(file));
  // 2. The real build: each lazy chunk's entry imports the static part first.
  fs.rmSync(outdir, { recursive: true, force: true });
  const result = await build({ ...options(entry), splitting: true, outdir, chunkNames: 'chunk-[hash]', metafile: true, plugins: [shareStaticPart(staticPart)] });
  const files = staticFiles(result.metafile, path.relative(root, path.join(outdir, 'index.js')));
  if (files.length > 4) throw new Error(`build-timer: the static part of ${entry} is ${files.length} files (${files.join(', ')}); expected at most 4`);
}

/** A plugin: every module reached through a dynamic import starts with `import "<static part>"`. */
function shareStaticPart(staticPart) {
  const lazyEntries = new Set();
  const namespace = 'alphacore-static-part';
  return {
    name: 'share-static-part',
    setup(b) {
      b.onResolve({ filter: /^alphacore-static-part$/ }, () => ({ path: 'static-part', namespace }));
      b.onLoad({ filter: /.*/, namespace }, () => ({ contents: staticPart.map((file) => `import ${JSON.stringify(file)};`).join('\n'), loader: 'js', resolveDir: root }));
      b.onResolve({ filter: /.*/ }, async (a) => {
        if (a.kind !== 'dynamic-import' || a.pluginData === 'resolving') return undefined;
        const resolved = await b.resolve(a.path, { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir, pluginData: 'resolving' });
        if (resolved.errors.length === 0 && !resolved.external && resolved.namespace === 'file') lazyEntries.add(resolved.path);
        return resolved;
      });
      b.onLoad({ filter: /\.(ts|js|mjs|cjs)$/ }, (a) => {
        if (!lazyEntries.has(a.path)) return undefined;
        const ext = path.extname(a.path);
        return { contents: `import 'alphacore-static-part';\n${fs.readFileSync(a.path, 'utf8')}`, loader: ext === '.ts' ? 'ts' : 'js', resolveDir: path.dirname(a.path) };
      });
    },
  };
}

/** The output files the entry loads before it runs: itself and its static imports, transitively. */
function staticFiles(metafile, index) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of metafile.outputs[file]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(index);
  return [...seen];
}

for (const [entry, dir] of [['src/timer-entry.ts', 'timer'], ['src/status-entry.ts', 'status']]) await bundle(entry, path.join(root, 'dist', dir));
