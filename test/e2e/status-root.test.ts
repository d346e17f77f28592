import fs from 'node:fs';
import { describe, expect, it, type TestContext } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { statusSetup } from '../helpers/status-setup.js';
import { isolatedEnv, tempDir } from '../helpers/tmp.js';
import { chownTree, stage } from '../helpers/user.js';

/**
 * Defect 8 of the operator trial: `alphacore status --config <another user's config>`
 * run as root printed "PM2 is not running… pm2 resurrect", "No auto-update timer…
 * autoupdate enable" and git's "dubious ownership", and never said it ran as root.
 * Here the config, clone and state belong to the throwaway user; root runs the built
 * CLI with its own temp HOME, XDG dirs and PM2_HOME (never the machine's root PM2).
 */
const staged = stage();

function needRoot(t: TestContext): NonNullable<typeof staged.ready> {
  if (process.getuid?.() !== 0) {
    console.log('skipped: not running as root, so there is no root run to check (CI runs as root)');
    t.skip();
  }
  if (!staged.ready) {
    console.log(`skipped: no throwaway user to own the validator's files: ${staged.skip}`);
    t.skip();
  }
  return staged.ready!;
}

async function othersValidator(t: TestContext) {
  const { user } = needRoot(t);
  const s = await statusSetup();
  // The user's validator has a recorded run; root's state has none.
  s.writeState({ lastRun: { at: new Date().toISOString(), outcome: 'up-to-date' } });
  await chownTree(s.root, user);
  const rootEnv = isolatedEnv(tempDir('alphacore-root-'));
  return { s, user, rootEnv };
}

describe('status and metrics as root, for another user\'s validator (defect 8)', () => {
  it('status says once and first that it runs as root, whose validator it is and the sudo -iu command; no wrong advice; no PM2 daemon', async (t) => {
    const { s, user, rootEnv } = await othersValidator(t);
    const command = `sudo -iu ${user.name} alphacore status --config ${s.configFile}`;

    const r = await runCli(['status', '--config', s.configFile, '--json'], { env: rootEnv, timeoutMs: 30_000 });
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, any>; // one JSON object
    expect(report.asRoot).toEqual({ uid: user.uid, user: user.name, owns: s.configFile, command });
    const advice = (report.advice as { level: string; text: string }[]).map((a) => `${a.level}: ${a.text}`);
    expect(advice[0]).toBe(
      `warn: status runs as root, but the validator, its PM2 and its auto-update timer belong to ${user.name} (owner of ${s.configFile}); the PM2, scheduler and update state shown here are root's and say nothing about them. Run it as that user: ${command}`,
    );
    expect(advice.filter((a) => a.includes('runs as root'))).toHaveLength(1);
    for (const wrong of ['pm2 resurrect', 'autoupdate enable', 'alphacore launch', 'dubious', 'pm2 startup']) {
      expect(advice.join('\n'), wrong).not.toContain(wrong);
    }
    // git is not run on the user's clone as root (its config could run programs as root).
    expect(report.repo.error).toMatch(new RegExp(`^not read as root: the clone belongs to ${user.name} \\(uid ${user.uid}\\)`));

    const screen = await runCli(['status', '--config', s.configFile], { env: rootEnv, timeoutMs: 30_000 });
    expect(screen.exitCode).toBe(0);
    const lines = screen.stdout.split('\n');
    expect(lines[0]).toMatch(/^alphacore status: namespace st-/);
    expect(lines[2]).toBe(`WARN  ${advice[0]!.slice('warn: '.length)}`);
    expect(screen.stdout.split('status runs as root')).toHaveLength(2);
    expect(screen.stdout).not.toMatch(/dubious|pm2 resurrect|autoupdate enable/);

    // Read-only: no PM2 daemon was started for root's PM2_HOME.
    expect(fs.existsSync(`${rootEnv.PM2_HOME}/pm2.pid`)).toBe(false);
  }, 60_000);

  it('metrics exits 2 naming the user and the command instead of printing root\'s zero counters', async (t) => {
    const { s, user, rootEnv } = await othersValidator(t);
    const m = await runCli(['metrics', '--config', s.configFile], { env: rootEnv });
    expect(m.exitCode).toBe(2);
    expect(m.stdout).toBe('');
    expect(m.stderr).toContain(`alphacore: metrics runs as root, but update never runs as root, so root has no recorded run for namespace ${s.namespace}. The update state belongs to ${user.name} (owner of ${s.configFile})`);
    expect(m.stderr).toContain(`Run it as that user: sudo -iu ${user.name} alphacore metrics --config ${s.configFile}`);
  }, 60_000);
});
