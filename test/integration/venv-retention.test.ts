import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPm2 } from '../../src/adapters/pm2.js';
import { describePlan, planUninstall } from '../../src/commands/uninstall/plan.js';
import { retainVenvs, venvRoot } from '../../src/commands/update/prepare.js';
import { fallbackValidatorVenv } from '../../src/commands/update/observe.js';
import { goLive, openRun, type LiveRun } from '../../src/commands/update/run.js';
import { loadConfig } from '../../src/core/config.js';
import { UpdateLog } from '../../src/core/log.js';
import { readState, type UpdateState } from '../../src/core/state.js';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { testContext } from '../helpers/context.js';
import { isolatedEnv, tempDir } from '../helpers/tmp.js';

// Defects 1 and 5 of the operator trial: the prepared-venv root is shared by every
// namespace of the user. Real files throughout (state files, configs, venv folders as
// plain dirs) and a real PM2 daemon (the devDependency, own PM2_HOME).
let daemons: IsolatedPm2[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.kill();
});

const hex = (c: string) => c.repeat(16);

function world() {
  const root = tempDir('alphacore-venvs-');
  const pm2 = isolatedPm2(root);
  daemons.push(pm2);
  const env = { ...isolatedEnv(root), ...pm2.env };
  const out: string[] = [];
  const ctx = testContext(env, root, { out, uid: 4242 });
  const repo = path.join(root, 'alphacore');
  fs.mkdirSync(path.join(repo, '.git'), { recursive: true });
  const creds = path.join(root, 'sa.json');
  fs.writeFileSync(creds, '{"client_email":"v@proj.iam.gserviceaccount.com"}');
  fs.mkdirSync(ctx.paths.autoupdateStateDir, { recursive: true });
  fs.mkdirSync(ctx.paths.autoupdateConfigDir, { recursive: true });
  /** A venv as prepare.ts leaves it (plain folders, no Python), prepared `ageMs` ago (3 days by default). */
  const venv = (name: string, ageMs = 3 * 86_400_000): string => {
    const dir = path.join(venvRoot(ctx), name);
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'pyvenv.cfg'), 'home = /usr/bin\n');
    fs.writeFileSync(path.join(dir, 'bin', 'activate'), '# venv\n');
    fs.writeFileSync(path.join(dir, '.alphacore-complete'), 'x\n');
    const then = new Date(Date.now() - ageMs);
    for (const f of [path.join(dir, '.alphacore-complete'), dir]) fs.utimesSync(f, then, then);
    return dir;
  };
  /** An auto-update config as launch writes it, with the operator's comment at the end. */
  const config = (ns: string, venvDir: string, file = ctx.paths.autoupdateConfig(ns)): string => {
    const text = [
      `NETWORK="test"`, `PM2_NAMESPACE="${ns}"`, `WALLET_NAME="cold"`, `WALLET_HOTKEY="hot-${ns}"`, `NETUID="7"`,
      `GCP_CREDS_FILE="${creds}"`, `VALIDATOR_VENV_DIR="${venvDir}"`, `REPO_DIR="${repo}"`, '# my own note: keep this', '',
    ].join('\n');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  const state = (ns: string, s: Partial<UpdateState>) => fs.writeFileSync(ctx.paths.state(ns), JSON.stringify({ quarantine: [], ...s }, null, 2));
  const run = (configFile: string): LiveRun => {
    const c = loadConfig(configFile, {}, {}, ctx.paths);
    const opened = openRun({ ctx, config: c, relaunch: { disableValidationApi: false, autoupdate: false, enableLinger: false, disableLlm: false, allowLlmFallback: false, register: false, yes: false, timed: false, replace: false, dryRun: false, json: false, unknown: [] }, log: new UpdateLog(ctx, false), state: readState(ctx.paths.state(c.namespace), ctx.now()), force: false });
    opened.close();
    return goLive(opened);
  };
  return { root, ctx, pm2, out, venv, config, state, run, repo };
}

describe('retainVenvs: the venv root is shared by every namespace', () => {
  it('an update of one namespace removes only the venvs nothing names: other namespaces\' states, configs, PM2 (live and saved) keep theirs', async () => {
    const w = world();
    // Namespace alphacore: before this update current X, previous W; the update moves it to Y.
    const [W, X, Y] = [w.venv(`validator-${hex('a')}`), w.venv(`validator-${hex('b')}`), w.venv(`validator-${hex('c')}`)];
    w.state('alphacore', { venvs: { current: { validator: X }, previous: { validator: W } } });
    const cfg = w.config('alphacore', X);
    // Namespace testnet: its state records its current and previous venvs (as the trial's did).
    const [B1, B0] = [w.venv(`validator-${hex('d')}`), w.venv(`api-${hex('d')}`)];
    w.state('testnet', { venvs: { current: { validator: B1 }, previous: { api: B0 } } });
    // Namespace side: no state yet, only a config naming a venv.
    const S = w.venv(`validator-${hex('e')}`);
    w.config('side', S);
    // A process of another namespace runs on L (launched with --venv-dir, no update yet);
    // one on D was saved (pm2 save), then deleted: a reboot's resurrect brings it back.
    const [L, D] = [w.venv(`validator-${hex('f')}`), w.venv(`api-${hex('9')}`)];
    const eco = (name: string, venvDir: string) => {
      const file = path.join(w.root, `${name}.config.json`);
      fs.writeFileSync(file, JSON.stringify({ apps: [{ name, script: '/bin/sleep', args: '600', interpreter: 'none', namespace: 'other', env: { VENV_DIR: venvDir } }] }));
      return file;
    };
    w.pm2.pm2('start', eco('live-validator', L));
    w.pm2.pm2('start', eco('saved-api', D));
    w.pm2.pm2('save');
    w.pm2.pm2('delete', 'saved-api');
    // Not ours: no sign of being prepared, a symlink with our name, another name.
    const bare = path.join(venvRoot(w.ctx), `validator-${hex('7')}`);
    fs.mkdirSync(bare);
    fs.writeFileSync(path.join(bare, 'notes.txt'), 'mine\n');
    const old = new Date(Date.now() - 3 * 86_400_000);
    fs.utimesSync(bare, old, old);
    const link = path.join(venvRoot(w.ctx), `api-${hex('8')}`);
    fs.symlinkSync(W, link);
    const other = path.join(venvRoot(w.ctx), 'my-venv');
    fs.mkdirSync(other);
    // Named nowhere yet, but prepared an hour ago: another namespace's update between its prepare and its swap.
    const fresh = w.venv(`validator-${hex('6')}`, 3_600_000);

    const r = w.run(cfg);
    const processes = await openPm2(w.ctx).list();
    expect(processes.map((p) => p.name)).toEqual(['live-validator']);
    retainVenvs(r, { validator: Y }, { validator: X }, processes);

    expect(fs.existsSync(W)).toBe(false);
    expect(w.out.join('')).toContain(`removed the old prepared venv ${W}`);
    for (const kept of [X, Y, B1, B0, S, L, D, bare, other, fresh]) expect(fs.existsSync(kept), kept).toBe(true);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(r.state.venvs).toEqual({ current: { validator: Y }, previous: { validator: X } });
    // The other namespace's files are read, never written.
    expect(JSON.parse(fs.readFileSync(w.ctx.paths.state('testnet'), 'utf8')).venvs.current.validator).toBe(B1);
  });

  it('the run\'s own config outside the config dir keeps the venv it names; with PM2 unknown nothing is removed', () => {
    const w = world();
    const [W, X, Y, Z] = ['1', '2', '3', '4'].map((c) => w.venv(`validator-${hex(c)}`)) as [string, string, string, string];
    w.state('alphacore', { venvs: { current: { validator: X }, previous: { validator: W } } });
    const cfg = w.config('alphacore', Z, path.join(w.root, 'elsewhere', 'my.env'));

    retainVenvs(w.run(cfg), { validator: Y }, { validator: X }, undefined);
    for (const kept of [W, X, Y, Z]) expect(fs.existsSync(kept), kept).toBe(true);
    expect(w.out.join('')).toContain('could not list the PM2 processes, so no old prepared venv is removed this time');

    const r = w.run(cfg);
    retainVenvs(r, { validator: Y }, { validator: X }, []);
    expect(fs.existsSync(W)).toBe(false);
    for (const kept of [X, Y, Z]) expect(fs.existsSync(kept), kept).toBe(true);
  });
});

describe('after an update the config\'s VALIDATOR_VENV_DIR may be older than the state (defect 5)', () => {
  it('uninstall lists the venv the state records, the config\'s older one only while it exists, never a missing path', () => {
    const w = world();
    const [old, cur] = [w.venv(`validator-${hex('a')}`), w.venv(`validator-${hex('b')}`)];
    const cfg = w.config('alphacore', old);
    const before = fs.readFileSync(cfg, 'utf8');
    w.state('alphacore', { venvs: { current: { validator: cur }, previous: {} } });
    const plan = () => planUninstall(w.ctx, 'alphacore', { scheduler: { kind: 'none', active: false }, processes: [], keepProcesses: false });

    expect(plan().kept.filter((k) => /venv/.test(k.what) && !k.what.startsWith('prepared'))).toEqual([
      { what: 'validator venv', path: cur },
      { what: 'older validator venv the config still names (VALIDATOR_VENV_DIR)', path: old },
    ]);
    // The trial's machine: an older updater removed the venv the config names.
    fs.rmSync(old, { recursive: true });
    const lines = describePlan(plan()).join('\n');
    expect(lines).toContain(`validator venv: ${cur}`);
    expect(lines).not.toContain(old);
    // No state recorded (never updated): the config's venv, when it exists.
    fs.rmSync(w.ctx.paths.state('alphacore'));
    expect(plan().kept.filter((k) => k.what.includes('validator venv'))).toEqual([]);
    const own = path.join(w.repo, 'venv');
    fs.mkdirSync(own);
    const text = fs.readFileSync(w.config('alphacore', own), 'utf8');
    expect(plan().kept.filter((k) => k.what.includes('validator venv'))).toEqual([{ what: 'validator venv', path: own }]);
    // Planning never rewrites the config (nor did the plans above).
    expect(fs.readFileSync(cfg, 'utf8')).toBe(text);
    expect(before).toContain('# my own note: keep this');
  });

  it('the update\'s fallback venv: the config\'s while it exists, else the complete venv the state records', () => {
    const w = world();
    const [old, cur] = [w.venv(`validator-${hex('a')}`), w.venv(`validator-${hex('b')}`)];
    const cfg = w.config('alphacore', old);
    w.state('alphacore', { venvs: { current: { validator: cur } } });
    expect(fallbackValidatorVenv(w.run(cfg).config.given.validatorVenvDir, w.run(cfg).config.repoDir, w.run(cfg).state)).toEqual({ dir: old });
    fs.rmSync(old, { recursive: true });
    expect(fallbackValidatorVenv(w.run(cfg).config.given.validatorVenvDir, w.run(cfg).config.repoDir, w.run(cfg).state)).toEqual({ dir: cur, override: cur });
    // Not a complete prepared venv: the config's path stays (launch then says what is missing).
    fs.rmSync(path.join(cur, '.alphacore-complete'));
    expect(fallbackValidatorVenv(w.run(cfg).config.given.validatorVenvDir, w.run(cfg).config.repoDir, w.run(cfg).state)).toEqual({ dir: old });
    // Nothing named: launch's default in the clone.
    const bare = w.config('alphacore', '');
    expect(fallbackValidatorVenv(w.run(bare).config.given.validatorVenvDir, w.run(bare).config.repoDir, { quarantine: [] })).toEqual({ dir: path.join(w.repo, 'venv') });
  });
});
