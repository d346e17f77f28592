import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushRelease } from '../helpers/alphacore-fixture.js';
import { restartWorld, type RestartWorld } from '../helpers/restart-world.js';
import { git } from '../helpers/repo.js';
import { statusSetup } from '../helpers/status-setup.js';
import { runCliAs, stage, type StagedRun } from '../helpers/user.js';

/**
 * `status` in the states the update cycle leaves (issue 10, DESIGN.md §7): during a
 * real update, after a real rollback that failed, with the config's own process
 * names, with a config that does not parse, and after a run the config stopped.
 */
const staged = stage();
if (staged.skip) console.log(`status/update e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;
type Advice = { level: string; text: string };
const texts = (report: Record<string, any>) => (report.advice as Advice[]).map((a) => `${a.level}: ${a.text}`);

async function status(w: RestartWorld, json = true) {
  const r = await runCliAs(run, ['status', '--config', w.configFile, ...(json ? ['--json'] : [])], { env: w.env, timeoutMs: 30_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return { ...r, report: json ? (JSON.parse(r.stdout) as Record<string, any>) : {} };
}

e2e('status while the update cycle is busy or broken (real update, real PM2, as the user)', () => {
  it('during an update: says an update is in progress (phase, pid, since), never calls its stopped processes errors', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const from = w.head();
    // The new API takes 15 s to be ready: the update sits in phase api with the validator stopped.
    const to = pushRelease(w.setup.origin, { version: '1.1.0', api: 'slow', slowMs: 15_000 });
    const child = spawn(process.execPath, [run.cli, 'update', '--config', w.configFile], {
      uid: run.user.uid, gid: run.user.gid, env: { ...w.env, USER: run.user.name }, cwd: w.env.HOME, stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      let seen: Record<string, any> | undefined;
      const observed = new Set<string>();
      for (const deadline = Date.now() + 60_000; Date.now() < deadline && !seen; ) {
        await new Promise((r) => setTimeout(r, 200));
        const journal = (w.state() as { journal?: { phase: string } }).journal;
        const validator = w.validator()?.status;
        observed.add(`${journal?.phase ?? '-'}/${validator ?? '-'}`);
        // In the slow API's 15 s (the phases before it are brief, but longer on a loaded machine).
        if (journal && ['api', 'validator'].includes(journal.phase) && validator !== 'online') seen = journal;
      }
      expect(seen, `the update never stopped the validator while its journal was written; saw ${[...observed].join(', ')}`).toBeDefined();
      // status gives pm2 1.5 s; on a loaded machine ask again (the update is still busy).
      let report: Record<string, any> = {};
      for (let i = 0; i < 10 && report.pm2?.state !== 'ok' && (i === 0 || report.journal?.running); i += 1) report = (await status(w)).report;
      expect(report.pm2.state, 'pm2 never answered status within its budget').toBe('ok');
      expect(report.journal).toMatchObject({ from, to, running: true, pid: child.pid });
      const advice = texts(report);
      expect(advice.filter((a) => a.startsWith('error:'))).toEqual([]);
      expect(advice).toContainEqual(expect.stringMatching(new RegExp(`^info: An update is in progress: ${from.slice(0, 7)} -> ${to.slice(0, 7)}, phase (api|validator), pid ${child.pid}, since \\S+ \\(\\d+s ago\\)`)));
      // One line names every process the update stopped (the API too when it is stopped as well).
      expect(advice).toContainEqual(expect.stringMatching(/^info: ([\w.-]+ \(stopped\), )*validator-hot-test \(stopped\)(, [\w.-]+ \(stopped\))*: stopped by the update in progress/));
      let screen = (await status(w, false)).stdout;
      for (let i = 0; i < 2 && screen.includes('jlist did not answer'); i += 1) screen = (await status(w, false)).stdout;
      expect(screen).toMatch(new RegExp(`^Journal +update in progress: ${from.slice(0, 7)} -> ${to.slice(0, 7)}, phase \\w+, pid ${child.pid}, since `, 'm'));
      expect(screen).toContain('(stopped by the update in progress)');
      expect(screen).not.toContain('pm2 restart');
    } finally {
      await exited;
    }
    expect(w.head()).toBe(to);
  }, 300_000);

  it('after a rollback that failed: says the rollback failed, not "interrupted" nor "rolled back"', async () => {
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' } });
    const good = w.head();
    const bad = pushRelease(w.setup.origin, { version: '2.0.0' });
    fs.writeFileSync(path.join(w.setup.control.dir, 'api-launch-fails'), '');
    const r = await w.update(['--json']);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'rollback-failed' });
    const { report } = await status(w);
    const advice = texts(report);
    expect(advice[0]).toMatch(new RegExp(`^error: The rollback of the update ${good.slice(0, 7)} -> ${bad.slice(0, 7)} FAILED \\(phase \\w+, started \\d+s ago\\): the validator may be down`));
    expect(advice[0]).toContain('pm2 logs validator-hot-test --lines 100');
    expect(advice[0]).toContain(`retry now: alphacore update --config ${w.configFile}`);
    expect(advice).toContainEqual(`warn: Release ${bad.slice(0, 7)} failed (${report.quarantine[0].reason}) and is quarantined, but it was NOT rolled back: the rollback failed (see above).`);
    for (const a of advice) {
      expect(a).not.toMatch(/interrupted|pid \d+ is gone/);
      expect(a).not.toMatch(new RegExp(`Release ${bad.slice(0, 7)} was rolled back`));
    }
    const screen = (await status(w, false)).stdout;
    expect(screen).toMatch(/^Journal +ROLLBACK FAILED: update /m);
    expect(screen).toMatch(new RegExp(`^Quarantine +${bad.slice(0, 7)} failed .*; NOT rolled back: the rollback failed$`, 'm'));
  }, 300_000);
});

describe('status and the config (built CLI, real git and API)', () => {
  it('API advice names VALIDATION_PROCESS_NAME when it differs from the default', async () => {
    const s = await statusSetup({ api: 'closed', config: ['VALIDATION_PROCESS_NAME=my-validation-api'] });
    const r = await s.status();
    expect(r.exitCode).toBe(0);
    const api = texts(r.report).find((t) => t.includes('does not answer'));
    expect(api).toMatch(/check: pm2 logs my-validation-api --lines 100$/);
    expect(texts(r.report).join('\n')).not.toContain('alphacore-validation-api');
    expect(r.report.config.processes).toEqual({ validator: 'validator-hotkey-test', validationApi: 'my-validation-api' });
  });

  it('a config that does not parse is shown with its errors and warnings (exit 0), and the rest of the screen still comes', async () => {
    const s = await statusSetup({ config: ['BRANCH=$(id)', 'NETWROK=test'] });
    const r = await s.status();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.report.config).toMatchObject({ state: 'invalid', problems: [expect.stringMatching(/alphacore\.env:\d+: BRANCH uses \$\(\.\.\.\) command substitution/)] });
    expect(r.report.config.warnings).toEqual([expect.stringContaining('unknown key NETWROK (did you mean NETWORK?)')]);
    expect(r.report.repo).toMatchObject({ dir: s.deploy, relation: 'up-to-date' });
    expect(texts(r.report)[0]).toMatch(/^error: The auto-update config .* is invalid, so every update run stops at once: .*BRANCH uses \$\(\.\.\.\)/);
    const screen = await s.status([]);
    expect(screen.exitCode).toBe(0);
    expect(screen.stdout).toMatch(/^Config +\S+alphacore\.env \(invalid\)\n +\S+alphacore\.env:\d+: BRANCH uses/m);
    expect(screen.stdout).toMatch(/^ +warning: \S+: unknown key NETWROK \(did you mean NETWORK\?\)/m);
  });

  it('a commit subject from the remote with control bytes is shown escaped, never raw', async () => {
    const s = await statusSetup();
    s.origin.push({ 'src/app.py': 'print("v2")\n' }, 'evil \u001b[2J\u001b]0;pwned\u0007 release');
    git(s.deploy, 'fetch', '--quiet', 'origin', 'release');
    const r = await s.status([]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('evil \\x1b[2J\\x1b]0;pwned\\x07 release');
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('shows the configError the updater recorded (a run stopped by its config, e.g. under cron)', async () => {
    const s = await statusSetup();
    const at = new Date(Date.now() - 120_000).toISOString();
    s.writeState({ configError: { at, file: s.configFile, problems: ['GCP_CREDS_FILE=/gone.json does not exist; point it at the service-account JSON key.'] } });
    const r = await s.status();
    expect(r.exitCode).toBe(0);
    expect(r.report.configError).toEqual({ at, file: s.configFile, problems: [expect.stringContaining('GCP_CREDS_FILE=/gone.json')] });
    expect(texts(r.report)).toContainEqual(`error: The last update run (2m ago) stopped at once: it could not use its config ${s.configFile}: GCP_CREDS_FILE=/gone.json does not exist; point it at the service-account JSON key. Fix it; the next run clears this.`);
    expect((await s.status([])).stdout).toMatch(/^Config error +the last update run \(2m ago\) could not use /m);
    // The form the updater writes: its whole message.
    s.writeState({ configError: { at, file: s.configFile, message: `Invalid auto-update config ${s.configFile}:\n  - NETUID=abc must be a subnet uid, an integer 0-65535.\n  - REPO_DIR is required.` } });
    const m = await s.status();
    expect(texts(m.report)).toContainEqual(expect.stringContaining(`could not use its config ${s.configFile}: NETUID=abc must be a subnet uid, an integer 0-65535. REPO_DIR is required. Fix it`));
  });
});
