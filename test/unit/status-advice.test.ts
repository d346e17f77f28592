import { describe, expect, it } from 'vitest';
import { adviseOn } from '../../src/commands/status/advice.js';
import { pinned } from '../../src/commands/status/collect.js';
import type { StatusReport } from '../../src/commands/status/report.js';
import { A, B, healthyReport } from '../helpers/status-report.js';

type Facts = Omit<StatusReport, 'advice'>;
const CONFIG = '/home/op/.config/alphacore/autoupdate/alphacore.env';
const HOUR = 3_600_000;

function facts(change: (f: Facts) => void = () => undefined): Facts {
  const { advice: _, ...f } = healthyReport();
  change(f);
  return f;
}
const advise = (change: (f: Facts) => void) => adviseOn(facts(change)).map((a) => `${a.level}: ${a.text}`);

describe('adviseOn: what to do next', () => {
  it('nothing on a healthy machine', () => {
    expect(adviseOn(facts())).toEqual([]);
  });

  it('timer missing, not active, or unknown', () => {
    expect(advise((f) => (f.scheduler = { kind: 'none', active: false, detail: 'nothing installed' }))).toEqual([
      'warn: No auto-update timer or crontab line for namespace alphacore: updates never run. Install it: alphacore autoupdate enable --namespace alphacore',
    ]);
    expect(advise((f) => (f.scheduler = { ...f.scheduler, active: false, detail: 'inactive (dead)' }))[0]).toBe(
      'warn: The auto-update timer alphacore-autoupdate@alphacore.timer is installed but not active: inactive (dead). Reinstall it: alphacore autoupdate enable --namespace alphacore',
    );
    expect(advise((f) => (f.scheduler = { kind: 'unknown', active: false, detail: 'could not tell: no answer within 1.5 s' }))[0]).toMatch(/^warn: Could not tell whether .*alphacore autoupdate status --namespace alphacore$/);
  });

  it('linger off, for systemd timers only', () => {
    expect(advise((f) => (f.scheduler.linger = false))).toEqual(['warn: Linger is off for op: systemd stops the timer when you log out. Run: sudo loginctl enable-linger op']);
    expect(advise((f) => (f.scheduler = { kind: 'cron', active: true, detail: 'crontab line installed', linger: false }))).toEqual([]);
  });

  it('PM2 startup not configured, or configured without a saved list', () => {
    expect(advise((f) => (f.pm2.startup = { user: 'op', configured: false, saved: true }))).toEqual([
      'warn: PM2 is not set up to start at boot for user op: after a reboot the validator stays down. Run pm2 startup, then the sudo command it prints, then pm2 save.',
    ]);
    expect(advise((f) => (f.pm2.startup.saved = false))).toEqual([
      'warn: PM2 starts at boot but has no saved process list (/home/op/.pm2/dump.pm2): run pm2 save so a reboot brings the validator back.',
    ]);
    // Unknown user: no claim either way.
    expect(advise((f) => (f.pm2.startup = { saved: false }))).toEqual([]);
  });

  it('validator errored or stopped, PM2 down or not answering, no process at all', () => {
    expect(advise((f) => (f.pm2.processes[1]!.status = 'errored'))).toEqual([
      `error: PM2 process validator-hk1-finney (id 1) is errored (its crash loop used up PM2's restarts): the next update run restores it; read pm2 logs 1 --lines 100, fix the cause, then: alphacore update --config ${CONFIG}`,
    ]);
    // Stopped by the operator (no update in progress or interrupted): left stopped, and how to start it.
    expect(advise((f) => (f.pm2.processes[1]!.status = 'stopped'))).toEqual([
      'warn: PM2 process validator-hk1-finney (id 1) is stopped (pm2 stop): the updater leaves it stopped. Start it again with: pm2 start 1',
    ]);
    expect(advise((f) => (f.pm2 = { ...f.pm2, state: 'not-running', detail: 'no PM2 daemon is running for PM2_HOME /home/op/.pm2', processes: [] }))[0]).toBe(
      `error: PM2 is not running (no PM2 daemon is running for PM2_HOME /home/op/.pm2): the validator is down. An update run restores the namespace it last saw running (now: alphacore update --config ${CONFIG}); otherwise restore the saved processes with: pm2 resurrect (or rerun alphacore launch with your flags).`,
    );
    expect(advise((f) => (f.pm2 = { ...f.pm2, state: 'unknown', detail: 'pm2 jlist did not answer within 1.5 s', processes: [] }))).toEqual([
      'warn: Could not read PM2 (pm2 jlist did not answer within 1.5 s). Check that `pm2 ls` answers; a stuck daemon is restarted, keeping its processes, by: pm2 update',
    ]);
    expect(advise((f) => (f.pm2.processes = []))[0]).toMatch(/^error: No PM2 process runs in namespace alphacore/);
  });

  it('deferred longer than MAX_DEFERRAL, with the gate that held it', () => {
    const overdue = (f: Facts) => {
      f.deferral = { since: '2026-11-28T04:00:00.000Z', forMs: 8 * HOUR, maxMs: 6 * HOUR, overdue: true, notified: true };
      f.lastRun = { at: '2026-11-28T11:58:00.000Z', outcome: 'deferred', reason: 'api-busy' };
    };
    expect(advise(overdue)).toEqual([
      `warn: Updates have been deferred for 8h (since 2026-11-28T04:00:00.000Z, last reason api-busy), longer than MAX_DEFERRAL=6h. The Validation API has reported jobs throughout: check that they finish. To deploy now regardless of the gates (may restart mid-round): alphacore update --config ${CONFIG} --force`,
    ]);
    expect(advise((f) => (f.deferral = { since: '2026-11-28T10:00:00.000Z', forMs: 2 * HOUR, maxMs: 6 * HOUR, overdue: false, notified: false }))).toEqual([]);
  });

  it('quarantined release: retry advice only while it is the target and HEAD is not there (defect 9)', () => {
    const q = (f: Facts) => (f.quarantine = [{ sha: B, at: '2026-11-28T09:00:00.000Z', reason: 'health-check' }]);
    // Later updates moved on (HEAD = target = A): `update --force` would say up-to-date, so no advice at all.
    expect(advise(q)).toEqual([]);
    const current = advise((f) => {
      q(f);
      f.repo.target = { ...f.repo.target!, sha: B };
      f.repo.relation = 'update-available';
    });
    expect(current).toEqual([
      `warn: Release b7c8d9e was rolled back 3h ago (health-check) and is quarantined; it is the current origin/release, so updates stop until the branch moves. To retry it anyway once the cause is fixed: alphacore update --config ${CONFIG} --force`,
    ]); // and no "deploy it" note for a target the updater skips
    // Pinned to it (a fleet rollout's PIN, short or full): the pin is the target, whatever the branch does.
    for (const pin of [B.slice(0, 7), B.toUpperCase()]) {
      expect(advise((f) => ((f.repo.pin = pin), q(f))).filter((a) => a.includes('quarantined'))).toEqual([
        `warn: Release b7c8d9e was rolled back 3h ago (health-check) and is quarantined; it is the PIN in ${CONFIG}, so updates stop until the pin changes. To retry it anyway once the cause is fixed: alphacore update --config ${CONFIG} --force`,
      ]);
    }
    // Pinned elsewhere: the branch tip being the quarantined commit does not matter.
    expect(advise((f) => ((f.repo.pin = A), (f.repo.target = { ...f.repo.target!, sha: B }), q(f))).filter((a) => a.includes('quarantined'))).toEqual([]);
    // HEAD is the quarantined commit (checked out by hand): update says up-to-date, so no retry advice.
    expect(advise((f) => ((f.repo.head = { ...f.repo.head!, sha: B }), (f.repo.target = { ...f.repo.target!, sha: B }), q(f)))).toEqual([]);
    // The target is not known (the clone could not be read): a plain note, no command that may do nothing.
    expect(advise((f) => (delete f.repo.target, (f.repo.relation = 'unknown'), q(f))).filter((a) => a.includes('quarantined'))).toEqual([
      'info: Release b7c8d9e was rolled back 3h ago (health-check) and stays quarantined: updates skip it while it is the target.',
    ]);
  });

  it('interrupted journal first; a running update is only a note', () => {
    const journal = (running: boolean) => (f: Facts) => {
      f.journal = { from: A, to: B, phase: 'deploy', startedAt: '2026-11-28T11:30:00.000Z', pid: 999, running };
      f.pm2.processes[1]!.status = 'stopped';
    };
    const gone = advise(journal(false));
    expect(gone[0]).toBe(`error: An update from a1b2c3d to b7c8d9e was interrupted in phase deploy (started 30m ago; pid 999 is gone). The next update run finishes or rolls it back; to do it now: alphacore update --config ${CONFIG}`);
    expect(gone[1]).toMatch(/^error: PM2 process validator-hk1-finney \(id 1\) is stopped/);
    const running = advise(journal(true));
    expect(running).toContain('info: An update is in progress: a1b2c3d -> b7c8d9e, phase deploy, pid 999, since 2026-11-28T11:30:00.000Z (30m ago). Its processes are stopped and started on purpose; run alphacore status again when it has finished.');
    expect(running).toContain('info: validator-hk1-finney (stopped): stopped by the update in progress, which starts it again (or rolls back). Check again when it has finished; do not restart it by hand meanwhile.');
    expect(running.filter((a) => a.startsWith('error:'))).toEqual([]);
  });

  it('config missing or invalid; update available; failed last run; stale lock; API down', () => {
    const missing = advise((f) => {
      f.config = { file: CONFIG, state: 'missing', problems: [] };
      f.scheduler = { kind: 'none', active: false, detail: 'nothing' };
      f.pm2.processes = [];
    });
    // One line: launch also covers the missing timer and the empty namespace.
    expect(missing).toEqual([`error: No auto-update config for namespace alphacore (${CONFIG}): run alphacore launch for this validator; it writes the config and installs the timer.`]);
    expect(advise((f) => (f.config = { file: CONFIG, state: 'invalid', problems: ['NETUID=abc must be a non-negative integer.'] }))[0]).toBe(
      `error: The auto-update config ${CONFIG} is invalid, so every update run stops at once: NETUID=abc must be a non-negative integer.`,
    );
    expect(advise((f) => ((f.repo.target = { ...f.repo.target!, sha: B }), (f.repo.relation = 'update-available')))).toEqual([
      'info: origin/release is at b7c8d9e (as of the last fetch), HEAD at a1b2c3d; the next update run deploys it once the gates allow.',
    ]);
    // A pinned host (fleet rollout, DESIGN.md §13): no "update available", the pin instead.
    expect(advise((f) => ((f.repo.target = { ...f.repo.target!, sha: B }), (f.repo.relation = 'update-available'), (f.repo.pin = A)))).toEqual([
      `info: Pinned: PIN=a1b2c3d in ${CONFIG} keeps this host on that commit whatever origin/release does (HEAD is there). A fleet rollout sets it (after a stopped rollout: ansible-playbook unpin.yml); remove the line to follow the branch again.`,
    ]);
    // The pin is why the branch's tip is not taken (status --json: repo.heldByPin).
    const held = pinned({ ...facts().repo, target: { ...facts().repo.target!, sha: B }, relation: 'update-available' }, A.slice(0, 7).toUpperCase());
    expect(held).toMatchObject({ pin: A.slice(0, 7).toUpperCase(), heldByPin: true });
    expect(advise((f) => (f.repo = held))).toEqual([
      `info: Pinned: PIN=A1B2C3D in ${CONFIG} keeps this host on that commit whatever origin/release does (HEAD is there; origin/release is at b7c8d9e and no update takes it while pinned). A fleet rollout sets it (after a stopped rollout: ansible-playbook unpin.yml); remove the line to follow the branch again.`,
    ]);
    // Pinned to the branch's tip itself, or up to date: nothing is held back.
    expect(pinned({ ...facts().repo, target: { ...facts().repo.target!, sha: B }, relation: 'update-available' }, B).heldByPin).toBeUndefined();
    expect(pinned(facts().repo, A).heldByPin).toBeUndefined();
    expect(advise((f) => (f.repo.pin = B))[0]).toContain('(HEAD is at a1b2c3d; the next update run goes to the pin)');
    expect(advise((f) => (f.lastRun = { at: '2026-11-28T11:00:00.000Z', outcome: 'refused', reason: 'dirty-worktree' }))).toEqual([
      'warn: The last update run (1h ago) ended refused (dirty-worktree): read the log in /home/op/.local/state/alphacore/autoupdate/alphacore.log. Commit or discard the changes (git -C /home/op/AlphaCore status).',
    ]);
    expect(advise((f) => (f.gates.roundLock = { file: '/tmp/r.lock', state: 'stale', detail: 'round 3: pid 77 is not running' }))).toEqual([
      'info: The round lock /tmp/r.lock is stale (round 3: pid 77 is not running): updates ignore it.',
    ]);
    expect(advise((f) => (f.gates.api = { endpoint: 'http://127.0.0.1:8888', state: 'unreachable', detail: 'ECONNREFUSED' }))[0]).toMatch(/^info: The Validation API does not answer at http:\/\/127\.0\.0\.1:8888 \(ECONNREFUSED\)/);
  });

  it('a preflight failure the sandbox sudo rule explains names the exact sudoers line and the one-time setup, not "read the log"', () => {
    const script = '/home/op/AlphaCore/modules/evaluation/validation/sandbox/setup.sh';
    const rule = `op ALL=(root) NOPASSWD: /usr/bin/bash ${script}`;
    const failed = (f: Facts) => (f.lastRun = { at: '2026-11-28T11:00:00.000Z', outcome: 'failed', reason: 'preflight' });
    expect(advise((f) => (failed(f), (f.sandboxSudo = { ok: false, script, rule, detail: 'exit 1: sudo: a password is required' })))).toEqual([
      'error: The last update run (1h ago) ended failed (preflight): sudo asks for a password to run the sandbox setup (exit 1: sudo: a password is required), which this release needs, so every run stops there (nothing is stopped). ' +
        `Add this rule with \`sudo visudo -f /etc/sudoers.d/alphacore-sandbox\`: ${rule} (and run the one-time sandbox setup first if it never ran on this machine: sudo bash ${script}), ` +
        'or set SANDBOX_SETUP=never in the auto-update config and run it yourself after updates that change the sandbox. ' +
        'That rule makes whoever can change the script root (this user, and without ALLOWED_SIGNERS whoever can push a release): docs/trust.md has a safer layout.',
    ]);
    // sudo allows it: the cause is elsewhere, the log says which.
    expect(advise((f) => (failed(f), (f.sandboxSudo = { ok: true, script, rule })))[0]).toMatch(/ended failed \(preflight\): read the log in /);
  });

  it('installed, but this session cannot reach the user manager: no "reinstall", the reason and the fix', () => {
    const unreachable = 'this session has no XDG_RUNTIME_DIR (su/sudo -i sessions have none), and /run/user/1000 has no systemd user manager socket of this user';
    expect(advise((f) => (f.scheduler = { ...f.scheduler, kind: 'unknown', active: false, detail: 'x', unreachable }))[0]).toBe(
      `warn: The auto-update timer alphacore-autoupdate@alphacore.timer is installed, but this session cannot reach your systemd user manager to tell whether it runs (${unreachable}). Run status from a login session (ssh) of the user, or with XDG_RUNTIME_DIR=/run/user/$(id -u).`,
    );
  });

  it('most urgent first: errors, then warnings, then notes', () => {
    const levels = adviseOn(
      facts((f) => {
        f.gates.roundLock = { file: '/tmp/r.lock', state: 'stale', detail: 'old' };
        f.scheduler.linger = false;
        f.pm2.processes[0]!.status = 'errored';
      }),
    ).map((a) => a.level);
    expect(levels).toEqual(['error', 'warn', 'info']);
  });
});
