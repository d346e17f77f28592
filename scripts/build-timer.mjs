#!/usr/bin/env node
// Bundles the timer's entry (src/timer-entry.ts) into dist/timer/ (issue 11: the no-op
// run's cost is mostly module loading). Static imports land in dist/timer/index.js; each
// dynamic import (the restart, PM2, the launch code, notifications) becomes a chunk that
// is read only when a run gets that far. Runs after tsc in `npm run build`.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'timer');
fs.rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { index: 'src/timer-entry.ts' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  outdir,
  chunkNames: 'chunk-[hash]',
  // CommonJS dependencies (proper-lockfile, shell-quote, ...) call require() for
  // node's own modules and read __filename; an ES module has neither. require is given
  // as a global (a top-level `const require` in the banner would clash with bundled
  // modules that declare their own, as yargs does); __filename and __dirname, where no
  // module declares them, become node's import.meta.filename and dirname (node 20.11+).
  banner: { js: "import { createRequire as __alphacoreCreateRequire } from 'node:module'; globalThis.require ??= __alphacoreCreateRequire(import.meta.url);" },
  define: { __filename: 'import.meta.filename', __dirname: 'import.meta.dirname' },
  // Node reads the whole file before running it: no comments to parse.
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
