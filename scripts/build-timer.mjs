#!/usr/bin/env node
// Bundles the timer's entry (src/timer-entry.ts) into dist/timer/ (issue 11: the no-op
// run's cost is mostly module loading). Static imports land in dist/timer/index.js and
// a few shared chunks; each dynamic import (the restart, PM2, the launch code,
// notifications) becomes a chunk that is read only when a run gets that far. The plain
// `status` entry (src/status-entry.ts) is bundled the same way into dist/status/: it has
// to answer within 2 s with PM2 hung, and every ms of loading comes off its probes'
// margin. Two separate builds: a process runs one of them, never both, and sharing
// chunks between them would cut the timer's static part into more files.
// Runs after tsc in `npm run build`.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const [entry, dir] of [['src/timer-entry.ts', 'timer'], ['src/status-entry.ts', 'status']]) await bundle(entry, path.join(root, 'dist', dir));

async function bundle(entry, outdir) {
  fs.rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: { index: entry },
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
}
