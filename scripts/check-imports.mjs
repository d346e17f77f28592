#!/usr/bin/env node
// Lists imports between command folders (src/commands/<a>/ importing src/commands/<b>/)
// and from the shared layers (domain, core, adapters, scheduler, render) into commands/.
// Shared code belongs in src/domain; a command folder uses it, never another command.
// Also lists control flow on message text (`.startsWith('some words')`), which typed errors replace.
// Exit 1 when anything is found, so `npm test` fails on it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const commands = path.join(src, 'commands');

function* walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

/** The command folder a file lives in, or undefined outside src/commands/<name>/. */
function commandOf(file) {
  const rel = path.relative(commands, file);
  if (rel.startsWith('..')) return undefined;
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : undefined;
}

const problems = [];
const specifier = /(?:from\s+|import\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g;
for (const file of walk(src)) {
  const text = fs.readFileSync(file, 'utf8');
  const here = commandOf(file);
  // Entry points (cli.ts, *-entry.ts) wire commands in; the shared layers never do.
  const shared = /^(domain|core|adapters|scheduler|render)$/.test(path.relative(src, file).split(path.sep)[0]);
  for (const match of text.matchAll(specifier)) {
    const target = path.resolve(path.dirname(file), match[2]).replace(/\.js$/, '.ts');
    const there = commandOf(target);
    const line = text.slice(0, match.index).split('\n').length;
    const where = `${path.relative(root, file)}:${line}`;
    if (there && here && there !== here) problems.push(`${where}: command ${here} imports command ${there} (${match[2]}); move the shared code to src/domain/`);
    else if (there && shared) problems.push(`${where}: a shared layer imports command ${there} (${match[2]}); move it to src/domain/`);
  }
  text.split('\n').forEach((l, i) => {
    if (/\.startsWith\((['"])[^'"]*\s[^'"]*\1\)/.test(l)) problems.push(`${path.relative(root, file)}:${i + 1}: control flow on message text; throw a typed error and test its class`);
  });
}

if (problems.length) {
  process.stderr.write(`check-imports: ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('check-imports: no command folder imports another; no branching on message text\n');
