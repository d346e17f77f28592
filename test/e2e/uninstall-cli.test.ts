import { execa } from 'execa';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAlphaCoreSetup, type AlphaCoreSetup } from '../helpers/alphacore-fixture.js';
import { closedPort } from '../helpers/api.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { cliInTerminal } from '../helpers/terminal.js';
import { isolatedEnv } from '../helpers/tmp.js';
import { chownTree, runCliAs, stage, userTempDir, type StagedRun } from '../helpers/user.js';
import { holdMachineState } from './scheduler-harness.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';

/**
 * `alphacore uninstall` (issue 12) with the real `crontab` of the throwaway user (no
 * user manager here, so launch installs crontab lines; no cron daemon is needed to
 * edit a crontab) and a real PM2: only the namespace's line, processes, config and
 * updater files go; other namespaces, the operator's own crontab lines, the clone,
 * the env files and the venv stay.
 */
const staged = stage();
if (staged.skip) console.log(`uninstall e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

const OTHERS = '# the operator\'s own lines\nMAILTO=""\n0 0 1 1 *   /usr/bin/true  "keep  % spacing"\n\n';
let savedCrontab: string | undefined;

async function crontab(env: Record<string, string>, input?: string): Promise<string> {
  const r = await execa('crontab', input === undefined ? ['-l'] : ['-'], {
    uid: run.user.uid, gid: run.user.gid, env, extendEnv: false, reject: false, stripFinalNewline: false, timeout: 10_000,
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  if (input !== undefined && r.exitCode !== 0) throw new Error(`crontab - failed: ${r.stderr}`);
  return r.exitCode === 0 ? String(r.stdout) : '';
}
const baseEnv = () => ({ HOME: run.user.home, PATH: '/usr/bin:/bin' });

// The throwaway user's crontab is shared with the scheduler and migration files: hold it for this file's run.
let releaseCrontab: (() => Promise<void>) | undefined;
let releaseManager: (() => Promise<void>) | undefined;
beforeAll(async () => {
  if (staged.skip) return;
  releaseCrontab = await holdMachineState('crontab');
  // No systemd user manager of the throwaway user may run meanwhile: launch would find it and install a timer.
  releaseManager = await holdMachineState('user-manager');
  const r = await execa('crontab', ['-l'], { uid: run.user.uid, gid: run.user.gid, env: baseEnv(), extendEnv: false, reject: false, stripFinalNewline: false });
  savedCrontab = r.exitCode === 0 ? String(r.stdout) : undefined;
});
afterAll(async () => {
  if (staged.skip) return;
  if (savedCrontab !== undefined) await crontab(baseEnv(), savedCrontab);
  else await execa('crontab', ['-r'], { uid: run.user.uid, gid: run.user.gid, env: baseEnv(), extendEnv: false, reject: false });
  await releaseManager?.();
  await releaseCrontab?.();
});

const daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

interface World {
  setup: AlphaCoreSetup;
  pm2: IsolatedPm2;
  env: Record<string, string>;
  a: string;
  b: string;
  config: (ns: string) => string;
  stateDir: string;
  envFile: (hotkey: string) => string;
}

async function world(): Promise<World> {
  const root = userTempDir(run.user, 'alphacore-uninstall-e2e-');
  const setup = await createAlphaCoreSetup({ root: path.join(root, 'fx'), user: run.user });
  const pm2 = isolatedPm2(root, { packageRoot: run.packageRoot, owner: run.user });
  daemons.push(pm2);
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, JSON.stringify({ client_email: 'e2e@proj.iam.gserviceaccount.com' }));
  // No XDG_RUNTIME_DIR: systemctl --user cannot answer, so the scheduler is a crontab line.
  const env = { ...isolatedEnv(root), ...pm2.env, ...setup.control.env, HEALTH_STABLE: '2s' };
  createWallet(homeWallets(env.HOME), 'cold', ['hot-a', 'hot-b']);
  await chownTree(root, run.user);
  const id = crypto.randomBytes(3).toString('hex');
  const [a, b] = [`un-${id}-a`, `un-${id}-b`];
  await crontab(env, OTHERS);
  for (const [ns, hotkey] of [[a, 'hot-a'], [b, 'hot-b']] as const) {
    const r = await runCliAs(run, ['launch', '--wallet-name', 'cold', '--hotkey', hotkey, '--netuid', '7', '--network', 'test', '--gcp-creds-file', creds, '--disable-llm', '--disable-validation-api', '--pm2-namespace', ns, '--http-port', String(await closedPort())], { env, cwd: setup.deploy });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  }
  // The API of namespace a, as the update would have started it.
  const api = path.join(root, 'api.sh');
  fs.writeFileSync(api, '#!/usr/bin/env bash\nexec sleep 600\n', { mode: 0o755 });
  fs.chownSync(api, run.user.uid, run.user.gid);
  pm2.pm2('start', api, '--name', 'alphacore-validation-api', '--namespace', a);
  return {
    setup, pm2, env, a, b,
    config: (ns) => path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', `${ns}.env`),
    stateDir: path.join(env.XDG_STATE_HOME, 'alphacore', 'autoupdate'),
    envFile: (hotkey) => path.join(setup.deploy, 'env', 'test', `validator-cold-${hotkey}.env`),
  };
}

const names = (w: World, ns: string) => w.pm2.list().filter((p) => p.namespace === ns).map((p) => p.name).sort();

e2e('alphacore uninstall (built CLI as a non-root user, real crontab, real PM2)', () => {
  it('asks first (refuses without a terminal, exit 2; "n" changes nothing), then removes only its namespace', async () => {
    const w = await world();
    const before = await crontab(w.env);
    expect(before.startsWith(OTHERS)).toBe(true);
    expect(before).toContain(`# alphacore-autoupdate:${w.a}\n`);
    expect(before).toContain(`# alphacore-autoupdate:${w.b}\n`);
    const bPids = w.pm2.list().filter((p) => p.namespace === w.b).map((p) => p.pid);
    expect(names(w, w.a)).toEqual(['alphacore-validation-api', 'validator-hot-a-test']);

    const refused = await runCliAs(run, ['uninstall', '--namespace', w.a], { env: w.env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--yes');
    // No terminal: the preview is shown all the same, then nothing is changed.
    expect(refused.stdout).toMatch(/Will remove:\n  the auto-update crontab line/);
    expect(await crontab(w.env)).toBe(before);
    const declined = await cliInTerminal(run, ['uninstall', '--namespace', w.a], { env: w.env, input: 'n\n' });
    expect(declined.exitCode, String(declined.stdout)).toBe(1);
    expect(String(declined.stdout)).toContain('Remove these for namespace');
    expect(String(declined.stdout)).toContain('Nothing was changed.');
    expect(await crontab(w.env)).toBe(before);
    expect(fs.existsSync(w.config(w.a))).toBe(true);
    expect(names(w, w.a)).toHaveLength(2);

    const r = await cliInTerminal(run, ['uninstall', '--namespace', w.a], { env: w.env, input: 'y\n' });
    const out = String(r.stdout).replaceAll('\r\n', '\n');
    expect(r.exitCode, out).toBe(0);
    const after = await crontab(w.env);
    expect(after).not.toContain(w.a);
    // Every other line byte for byte: the operator's and namespace b's.
    expect(after).toBe(before.split('\n').filter((l) => !l.includes(`alphacore-autoupdate:${w.a}`)).join('\n'));
    expect(names(w, w.a)).toEqual([]);
    expect(w.pm2.list().filter((p) => p.namespace === w.b).map((p) => p.pid)).toEqual(bPids);
    expect(fs.readFileSync(path.join(w.pm2.home, 'dump.pm2'), 'utf8')).not.toContain('hot-a');
    expect(fs.existsSync(w.config(w.a))).toBe(false);
    expect(fs.existsSync(w.config(w.b))).toBe(true);
    expect(fs.readdirSync(w.stateDir).filter((f) => f.startsWith(`${w.a}.`))).toEqual([]);
    for (const kept of [path.join(w.setup.deploy, '.git'), w.envFile('hot-a'), w.envFile('hot-b'), path.join(w.setup.venv, 'bin', 'activate')]) expect(fs.existsSync(kept), kept).toBe(true);
    expect(out).toMatch(new RegExp(`Left in place[\\s\\S]*deploy clone: ${w.setup.deploy}`));
    expect(out).toContain(`Removed the crontab line`);
    // The preview lists exactly what goes: the updater files it named are the ones it removed (its own lock file is not one).
    const listed = /the updater's log, state and history: (.*)/.exec(out)?.[1]?.split(', ');
    const gone = /Removed the updater's files: (.*) \(in /.exec(out)?.[1]?.split(', ');
    expect(listed?.length, out).toBeGreaterThan(0);
    expect(gone).toEqual(listed);
    expect(out).toMatch(/Will remove:\n  the auto-update crontab line \(.*\):\n    remove the crontab line: .*alphacore-autoupdate:un-/);

    const again = await runCliAs(run, ['uninstall', '--namespace', w.a, '--yes'], { env: w.env });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('Nothing to remove');
  }, 400_000);

  it('--keep-processes --yes: the line and the config go, the processes keep running; --json says what was left', async () => {
    const w = await world();
    const pids = w.pm2.list().filter((p) => p.namespace === w.a).map((p) => p.pid);
    const r = await runCliAs(run, ['uninstall', '--namespace', w.a, '--keep-processes', '--yes', '--json'], { env: w.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as { removed: string[]; kept: { what: string; path: string }[] };
    expect(body.kept).toEqual(expect.arrayContaining([{ what: 'deploy clone', path: w.setup.deploy }, { what: 'validator venv', path: w.setup.venv }]));
    expect(body.kept.map((k) => k.path)).toContain('validator-hot-a-test');
    expect(await crontab(w.env)).not.toContain(w.a);
    expect(w.pm2.list().filter((p) => p.namespace === w.a).map((p) => p.pid)).toEqual(pids);
    expect(fs.existsSync(w.config(w.a))).toBe(false);
  }, 400_000);
});
