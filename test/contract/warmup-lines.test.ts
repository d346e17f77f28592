import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lineTimeMs, subnetVersion, WEIGHTS_LINES } from '../../src/domain/warmup.js';
import { locateRealRepo, realRepoSkip } from '../helpers/real-repo.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The warm-up is read from log lines the real validator writes (DESIGN.md §14): an
 * upstream change of their wording must fail here, not silently turn every Weights line
 * into "unknown". The f-strings of neurons/validator.py are rendered with sample values
 * and must match the patterns the parser uses.
 */
const skip = realRepoSkip();
const files = new Map<string, string>();
const read = (file: string) => files.get(file) ?? '';
const WANTED = ['neurons/validator.py', 'subnet/validator/config.py', 'subnet/__init__.py', 'scripts/validator/process/pm2.config.js'];

/** The messages of every bt.logging call: adjacent (f-)string literals joined, each {expr} replaced by a sample value. */
function loggedMessages(source: string): string[] {
  const out: string[] = [];
  const call = /bt\.logging\.(?:info|warning|debug|error)\(/g;
  let m: RegExpExecArray | null;
  while ((m = call.exec(source)) !== null) {
    let depth = 1;
    let i = m.index + m[0].length;
    const start = i;
    for (; i < source.length && depth > 0; i += 1) {
      if (source[i] === '(') depth += 1;
      else if (source[i] === ')') depth -= 1;
    }
    const args = source.slice(start, i - 1);
    const literals = [...args.matchAll(/f?"((?:[^"\\]|\\.)*)"/g)].map((l) => l[1]!);
    out.push(literals.join('').replace(/\{[^{}]*:\.1f\}/g, '12.0').replace(/\{[^{}]*\}/g, '7'));
  }
  return out;
}

describe.skipIf(skip)('the validator log lines the warm-up is read from (real repository)', () => {
  beforeAll(() => {
    const found = locateRealRepo();
    if ('skip' in found) return;
    let repo = found.path;
    if (found.kind === 'bundle') {
      repo = path.join(tempDir('alphacore-warmup-contract-'), 'repo');
      const r = spawnSync('git', ['clone', '-q', '-b', 'main', found.path, repo], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    for (const f of WANTED) files.set(f, fs.readFileSync(path.join(repo, f), 'utf8'));
  });

  it('neurons/validator.py writes the three lines in the formats the parser reads', () => {
    const messages = loggedMessages(read('neurons/validator.py'));
    const match = (re: RegExp) => messages.filter((t) => re.test(t));
    expect(match(WEIGHTS_LINES.started)).toEqual(['[WEIGHTS] Emitter started (offset=7, min_tasks=7, poll=12.0s)']);
    expect(match(WEIGHTS_LINES.epochCheck)).toEqual(['[WEIGHTS] Epoch check: epoch=7 block_in_epoch=7 offset=7 tasks=7/7']);
    expect(match(WEIGHTS_LINES.emitted)).toEqual(['✅ [WEIGHTS] Emitted weights on chain (epoch=7, block_in_epoch=7)']);
  });

  it('the task count starts at 0 with every process and grows per completed round', () => {
    const source = read('neurons/validator.py');
    expect(source).toMatch(/self\._weights_tasks_completed = 0\n/);
    expect(source).toMatch(/self\._weights_tasks_completed \+= len\(tasks or \[\]\)/);
    expect(source).toMatch(/if self\._weights_tasks_completed < self\._weights_min_tasks_before_emit:\n\s+return/);
    expect(read('subnet/validator/config.py')).toMatch(/WEIGHTS_MIN_TASKS_BEFORE_EMIT = int\(\s*os\.getenv\("ALPHACORE_WEIGHTS_MIN_TASKS_BEFORE_EMIT", "10"\)\s*\)/);
  });

  it('__version__ is read from subnet/__init__.py; pm2.config.js dates lines and writes <repo>/logs/pm2/<name>.out.log', () => {
    expect(subnetVersion(read('subnet/__init__.py'))).toMatch(/^\d+\.\d+\.\d+$/);
    const pm2Config = read('scripts/validator/process/pm2.config.js');
    expect(pm2Config).toContain("log_date_format: 'YYYY-MM-DD HH:mm:ss Z'");
    expect(pm2Config).toMatch(/process\.env\.LOG_DIR \|\| path\.join\(repoRoot, 'logs', 'pm2'\)/);
    expect(pm2Config).toContain("`${process.env.PROCESS_NAME || 'alphacore-validator'}.out.log`");
    // What PM2 makes of that format (dayjs 'YYYY-MM-DD HH:mm:ss Z', then ': ').
    expect(lineTimeMs('2026-12-07 02:44:36 +00:00: line')).toBe(Date.parse('2026-12-07T02:44:36Z'));
  });
});
