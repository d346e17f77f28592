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
  // CommonJS dependencies (proper-lockfile, write-file-atomic, ...) call require() for
  // node's own modules and read __filename; an ES module has neither, so give each file both.
  banner: {
    js: [
      "import { createRequire as __alphacoreRequire } from 'node:module';",
      "import { fileURLToPath as __alphacoreFileUrl } from 'node:url';",
      // var, not const: a bundled module may declare its own (yargs' ESM shim has
      // `var __dirname`), and a const beside it is a SyntaxError that fails the whole chunk.
      'var require = __alphacoreRequire(import.meta.url);',
      'var __filename = __alphacoreFileUrl(import.meta.url);',
      "var __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' '),
  },
  // Node reads the whole file before running it: no comments to parse.
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
