import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureGit, pushRelease } from '../helpers/alphacore-fixture.js';
import { toCliResult } from '../helpers/cli.js';
import { restartWorld } from '../helpers/restart-world.js';
import { statusSetup } from '../helpers/status-setup.js';
import { updateSetup } from '../helpers/update-setup.js';
import { chownTree, runAs, stage, type StagedRun } from '../helpers/user.js';

/**
 * What passed before issue 10 and must keep passing, through the built CLI: hostile
 * config values, CRLF, BOM, a 1 MB value, secrets in no output or file, 0600 files
 * under umask 000, and 20 runs at once of which exactly one acts.
 */
const staged = stage();
const run = staged.ready as StagedRun;
const asUser = staged.skip ? describe.skip : describe;

describe('hostile config values', () => {
  it('$(...), backticks, ${VAR}, ;, |, && and unbalanced quotes: exit 2, each named by file and line, nothing runs', async () => {
    const s = await updateSetup();
    const marker = path.join(s.root, 'pwned');
    const hostile = [
      `BRANCH=$(touch ${marker})`,
      `REMOTE=\`touch ${marker}\``,
      'PROFILE=${HOME}',
      `SANDBOX_SETUP=auto;touch ${marker}`,
      `DEPS_REFRESH=auto|touch ${marker}`,
      `HEALTH_STABLE=20s&&touch ${marker}`,
      'CHAIN_ENDPOINT="wss://x',
      "METRICS_DIR='/tmp/x",
    ];
    const first = fs.readFileSync(s.configFile, 'utf8').split('\n').length;
    fs.appendFileSync(s.configFile, `${hostile.join('\n')}\n`);
    const r = await s.run();
    expect(r.exitCode).toBe(2);
    const expected = [/BRANCH uses \$\(\.\.\.\) command substitution/, /REMOTE uses backtick/, /PROFILE uses `\$` expansion/, /SANDBOX_SETUP has an unquoted `;`/, /DEPS_REFRESH has an unquoted `\|`/, /HEALTH_STABLE has an unquoted `&`/, /CHAIN_ENDPOINT unbalanced double quote/, /METRICS_DIR unbalanced single quote/];
    expected.forEach((re, i) => expect(r.stderr).toMatch(new RegExp(`alphacore\\.env:${first + i}: ${re.source}`)));
    expect(fs.existsSync(marker)).toBe(false);
    // The namespace's log records the refusal (a timer's output goes nowhere); nothing else ran.
    expect(fs.readFileSync(s.logFile, 'utf8')).toMatch(/BRANCH uses \$\(\.\.\.\) command substitution/);
  });

  it('CRLF line ends and a byte-order mark read as plain lines', async () => {
    const s = await updateSetup();
    const text = fs.readFileSync(s.configFile, 'utf8');
    fs.writeFileSync(s.configFile, `\uFEFF${text.replace(/\n/g, '\r\n')}`);
    const r = await s.run(['--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('result: up-to-date');
    expect(r.stdout).not.toMatch(/WARNING/);
  });

  it('a 1 MB value neither crashes nor floods: an operator key is kept quietly, a bad one is shown clipped', async () => {
    const s = await updateSetup({ config: [`MY_NOTES=${'n'.repeat(1024 * 1024)}`] });
    const ok = await s.run(['--dry-run']);
    expect(ok.exitCode, ok.stderr.slice(0, 500)).toBe(0);
    expect(ok.stdout.length).toBeLessThan(10_000);
    fs.appendFileSync(s.configFile, `BRANCH=${'b'.repeat(1024 * 1024)}~\n`);
    const bad = await s.run();
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/BRANCH=b{100}\.\.\. \(1048577 characters\) is not a valid branch name/);
    expect(bad.stderr.length).toBeLessThan(10_000);
  });

  it('secrets appear in no output and no file: update, update --json, status, status --json, the log and the state', async () => {
    const webhook = 'https://hooks.example.com/T0/B0/HOOKSECRET-1234';
    const key = 'sk-SECRET-openai-5678';
    const s = await statusSetup({ config: [`NOTIFY_WEBHOOK_URL=${webhook}`, `ALPHACORE_OPENAI_API_KEY=${key}`, 'NOTIFY_WEBHOOK_URL = https://hooks.example.com/HOOKSECRET-in-a-bad-line'] });
    const outputs: string[] = [];
    const parseError = await s.run();
    expect(parseError.exitCode).toBe(2);
    expect(parseError.stderr).toContain('NOTIFY_WEBHOOK_URL=*** (value hidden)');
    outputs.push(parseError.stdout, parseError.stderr, (await s.status()).stdout, (await s.status([])).stdout);
    const lines = fs.readFileSync(s.configFile, 'utf8').split('\n').filter((l) => !l.includes('bad-line'));
    fs.writeFileSync(s.configFile, lines.join('\n'));
    s.origin.push({ 'src/app.py': 'print("v2")\n' }, 'release 2');
    for (const args of [['--dry-run'], ['--dry-run', '--json']]) {
      const r = await s.run(args);
      expect(r.exitCode, r.stderr).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    outputs.push((await s.status(['--json'])).stdout);
    const stateDir = path.dirname(s.stateFile);
    for (const f of fs.readdirSync(stateDir)) outputs.push(fs.readFileSync(path.join(stateDir, f), 'utf8'));
    for (const text of outputs) {
      expect(text).not.toContain('HOOKSECRET');
      expect(text).not.toContain(key);
    }
  });
});

asUser('files under umask 000 (as the user)', () => {
  it('the log, state and their folder are private (0600, 0700) even with umask 000', async () => {
    // A real run (a dry run writes nothing): nothing new on the branch, so it records up-to-date.
    const s = await updateSetup();
    await chownTree(s.root, run.user);
    const r = toCliResult(await runAs(run.user, 'bash', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, run.cli, 'update', '--config', s.configFile], { env: s.env }));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('result: up-to-date');
    const mode = (f: string) => (fs.statSync(f).mode & 0o777).toString(8);
    expect(mode(s.logFile)).toBe('600');
    expect(mode(s.stateFile)).toBe('600');
    expect(mode(path.dirname(s.logFile))).toBe('700');
  });
});

asUser('20 runs at once (real PM2, as the user)', () => {
  it('exactly one acts: one update, 19 locked, one history line, the bystander keeps its pid', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const from = w.head();
    const to = pushRelease(w.setup.origin, { version: '1.1.0' });
    const runs = await Promise.all(Array.from({ length: 20 }, () => w.update(['--json'])));
    const outcomes = runs.map((r) => (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { outcome: string }).outcome).sort();
    expect(outcomes.filter((o) => o === 'updated')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'locked')).toHaveLength(19);
    expect(runs.every((r) => r.exitCode === 0)).toBe(true);
    expect(w.head()).toBe(to);
    expect(w.history().map((h) => [h.outcome, h.from, h.to])).toEqual([['updated', from, to]]);
    expect(w.pm2.list().find((p) => p.name === 'bystander')).toMatchObject({ status: 'online', pid: w.bystanderPid });
    expect(fixtureGit(w.setup.deploy, 'status', '--porcelain', '--untracked-files=no')).toBe('');
  }, 240_000);
});
