import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/core/envfile.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runAs, runCliAs, stage, userTempDir, type StagedRun } from '../helpers/user.js';
import { until } from '../helpers/poll.js';

/**
 * `alphacore logs` (issue 12): the updater's log and both PM2 processes' logs (files
 * from PM2's jlist), one place to look; -f follows all of them; `| head` is no error.
 */
const staged = stage();
if (staged.skip) console.log(`logs e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

const daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

async function world() {
  const root = userTempDir(run.user, 'alphacore-logs-e2e-');
  const pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  daemons.push(pm2);
  const env = { ...isolatedEnv(root), ...pm2.env };
  const configDir = path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate');
  const stateDir = path.join(env.XDG_STATE_HOME, 'alphacore', 'autoupdate');
  fs.mkdirSync(configDir, { recursive: true });
  fs.mkdirSync(stateDir, { recursive: true });
  // The names come from the config: the validator's is set explicitly, the API's is the default.
  fs.writeFileSync(path.join(configDir, 'alphacore.env'), 'NETWORK=test\nWALLET_NAME=cold\nWALLET_HOTKEY=hot\nNETUID=7\nVALIDATOR_PROCESS_NAME=my-validator\n');
  const updaterLog = path.join(stateDir, 'alphacore.log');
  fs.writeFileSync(updaterLog, '[2026-11-30T00:00:00.000Z] [autoupdate] result: up-to-date (up to date at abc1234)\n');
  const script = (name: string, body: string) => {
    const file = path.join(root, `${name}.sh`);
    fs.writeFileSync(file, `#!/usr/bin/env bash\n${body}\nexec sleep 600\n`, { mode: 0o755 });
    return file;
  };
  const api = script('api', 'echo "api: serving on 8888"; echo "api: a warning" >&2');
  const validator = script('validator', 'echo "validator: round 7 started"; echo "validator: traceback here" >&2');
  const other = script('other', 'echo "bystander: not ours"');
  await chownTree(root, run.user);
  pm2.pm2('start', api, '--name', 'alphacore-validation-api', '--namespace', 'alphacore');
  pm2.pm2('start', validator, '--name', 'my-validator', '--namespace', 'alphacore');
  pm2.pm2('start', other, '--name', 'bystander', '--namespace', 'other');
  const procs = pm2.list();
  const mine = procs.find((p) => p.name === 'my-validator')!;
  await until(() => fs.existsSync(mine.errorLog!) && fs.readFileSync(mine.errorLog!, 'utf8').includes('traceback'), { what: 'the validator\'s PM2 log', ms: 20_000, everyMs: 100 });
  await until(() => fs.readFileSync(procs.find((p) => p.name === 'alphacore-validation-api')!.errorLog!, 'utf8').includes('warning'), { what: 'the API\'s PM2 log', ms: 20_000, everyMs: 100 });
  return { root, pm2, env, updaterLog, validator: mine };
}

e2e('alphacore logs (built CLI as a non-root user, real PM2)', () => {
  it('prints the updater log and both processes\' stdout and stderr, from PM2\'s own paths; another namespace is not shown', async () => {
    const w = await world();
    const r = await runCliAs(run, ['logs'], { env: w.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`==> updater: ${w.updaterLog}`);
    expect(r.stdout).toContain('result: up-to-date');
    expect(r.stdout).toContain(`==> my-validator out: ${w.validator.outLog}`);
    expect(r.stdout).toContain(`==> my-validator err: ${w.validator.errorLog}`);
    for (const line of ['api: serving on 8888', 'api: a warning', 'validator: round 7 started', 'validator: traceback here']) expect(r.stdout).toContain(line);
    expect(r.stdout).not.toContain('bystander');
    expect(r.stderr).toBe('');

    const one = await runCliAs(run, ['logs', '--lines', '0'], { env: w.env });
    expect(one.stdout).not.toContain('round 7 started');
    const bad = await runCliAs(run, ['logs', '--lines', '-3'], { env: w.env });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--lines');
    // The word typed, not yargs' NaN; and no value at all is not the default.
    const word = await runCliAs(run, ['logs', '--lines', 'abc'], { env: w.env });
    expect([word.exitCode, word.stderr]).toEqual([2, expect.stringContaining('--lines abc is not a whole number of lines')]);
    const none = await runCliAs(run, ['logs', '--lines'], { env: w.env });
    expect([none.exitCode, none.stderr]).toEqual([2, expect.stringContaining('--lines needs a value')]);
  });

  it('-f follows all of them, each line labelled, until interrupted (exit 0)', async () => {
    const w = await world();
    const child = execa(process.execPath, [run.cli, 'logs', '-f', '--lines', '1'], {
      uid: run.user.uid, gid: run.user.gid, env: { ...w.env, USER: run.user.name }, extendEnv: false, cwd: w.env.HOME, reject: false, timeout: 60_000, stdin: 'ignore',
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('Following'), { what: 'the follow banner', ms: 20_000, everyMs: 100 });
    fs.appendFileSync(w.updaterLog, '[2026-11-30T00:02:00.000Z] [autoupdate] result: updated (updated abc1234 -> def5678)\n');
    fs.appendFileSync(w.validator.errorLog!, 'validator: a new error line\n');
    await until(() => out.includes('[updater] [2026-11-30T00:02:00.000Z]') && out.includes('[my-validator err] validator: a new error line'), { what: 'the followed lines', ms: 20_000, everyMs: 100 });
    child.kill('SIGINT');
    const done = await child;
    expect(done.exitCode, String(done.stderr)).toBe(0);
  });

  it('survives | head: no error, exit 0', async () => {
    const w = await world();
    fs.appendFileSync(w.updaterLog, Array.from({ length: 20_000 }, (_, i) => `[2026-11-30T00:00:00.000Z] [autoupdate] line ${i} ${'x'.repeat(60)}`).join('\n') + '\n');
    const cmd = `${[process.execPath, run.cli, 'logs', '--lines', '20000'].map(shellQuote).join(' ')} | head -n 3; echo "status=\${PIPESTATUS[0]}" >&2`;
    const r = await runAs(run.user, 'bash', ['-c', cmd], { env: w.env });
    expect(String(r.stdout).split('\n')).toHaveLength(3); // head's three lines (the final newline stripped)
    expect(String(r.stderr).trim()).toBe('status=0');
  });
});
