import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nonRootOwner, userNameOf } from '../../src/adapters/file-owner.js';
import { adviseOn } from '../../src/commands/status/advice.js';
import { renderStatus } from '../../src/commands/status/render.js';
import type { StatusReport } from '../../src/commands/status/report.js';
import { B, healthyReport } from '../helpers/status-report.js';

// Defect 8: `alphacore status` run as root for another user's validator. Root's PM2,
// crontab and state say nothing about that validator, and pm2 resurrect / autoupdate
// enable / launch as root would be wrong advice.
type Facts = Omit<StatusReport, 'advice'>;
const CONFIG = '/home/op/.config/alphacore/autoupdate/alphacore.env';
const COMMAND = `sudo -iu op alphacore status --config ${CONFIG}`;
const ROOT_LINE = `warn: status runs as root, but the validator, its PM2 and its auto-update timer belong to op (owner of ${CONFIG}); the PM2, scheduler and update state shown here are root's and say nothing about them. Run it as that user: ${COMMAND}`;

/** What root sees: its own PM2 (no daemon), no scheduler (never installed for root), a clone git will not read. */
function asRoot(change: (f: Facts) => void = () => undefined): Facts {
  const { advice: _, ...f } = healthyReport();
  f.asRoot = { user: 'op', uid: 1000, owns: CONFIG, command: COMMAND };
  f.pm2 = { state: 'not-running', detail: 'no PM2 daemon is running for PM2_HOME /root/.pm2', bin: 'pm2', home: '/root/.pm2', processes: [], startup: { user: 'root', configured: false, saved: false } };
  f.scheduler = { kind: 'none', active: false, detail: 'the scheduler is per user and never installed for root; run as the validator user' };
  f.repo = { dir: '/home/op/AlphaCore', remote: 'origin', branch: 'release', relation: 'unknown', notReadAsRoot: true, error: "not read as root: the clone belongs to uid 1000, and git run as root refuses another user's repository (safe.directory)" };
  delete f.lastRun;
  delete f.lastChange;
  change(f);
  return f;
}
const advise = (f: Facts) => adviseOn(f).map((a) => `${a.level}: ${a.text}`);

describe('status as root (defect 8)', () => {
  it('says once, first, whose validator it is and the command; no pm2 resurrect, autoupdate enable or git error', () => {
    expect(advise(asRoot())).toEqual([ROOT_LINE]);
    // The same facts without the root view: the misleading advice the trial saw.
    const { asRoot: _, ...notRoot } = asRoot();
    const before = advise(notRoot).join('\n');
    expect(before).toMatch(/pm2 resurrect/);
    expect(before).toMatch(/autoupdate enable/);
    expect(before).toMatch(/Cannot read the deploy clone/);
  });

  it('stays first ahead of errors; the other advice names no command root cannot use', () => {
    const advice = advise(
      asRoot((f) => {
        f.config = { file: CONFIG, state: 'invalid', problems: ['NETUID=abc must be a subnet uid, an integer 0-65535.'] };
        f.gates.api = { endpoint: 'http://127.0.0.1:8888', state: 'unreachable', detail: 'ECONNREFUSED' };
      }),
    );
    expect(advice[0]).toBe(ROOT_LINE);
    expect(advice[1]).toMatch(/^error: The auto-update config .* is invalid/);
    expect(advice[2]).toBe("info: The Validation API does not answer at http://127.0.0.1:8888 (ECONNREFUSED); unless it is disabled on purpose, check its PM2 logs as the validator's user");
    expect(advice).toHaveLength(3);
    // A clone root can read (root-owned) with an update waiting: no `alphacore update` for root to run.
    const waiting = advise(
      asRoot((f) => {
        f.repo = { ...healthyReport().repo, target: { ...healthyReport().repo.target!, sha: B }, relation: 'update-available' };
      }),
    );
    expect(waiting[1]).toBe("info: origin/release is at b7c8d9e (as of the last fetch), HEAD at a1b2c3d; an update run as the validator's user deploys it.");
  });

  it('without a config (root has none): no "run alphacore launch", the user unknown', () => {
    const advice = advise(
      asRoot((f) => {
        f.config = { file: '/root/.config/alphacore/autoupdate/alphacore.env', state: 'missing', problems: [] };
        f.asRoot = { command: 'sudo -iu <user> alphacore status' };
      }),
    );
    expect(advice).toEqual([
      "warn: status runs as root, but the validator, its PM2 and its auto-update timer belong to the validator's own user (the one that ran alphacore launch); the PM2, scheduler and update state shown here are root's and say nothing about them. Run it as that user: sudo -iu <user> alphacore status",
    ]);
  });

  it('the screen: the root line under the title, not repeated in "What to do next", no "All good"', () => {
    const f = asRoot();
    const text = renderStatus({ ...f, advice: adviseOn(f) });
    const lines = text.split('\n');
    expect(lines.slice(0, 3)).toEqual(['alphacore status: namespace alphacore at 2026-11-28T12:00:00Z', '', `WARN  ${ROOT_LINE.slice('warn: '.length)}`]);
    expect(text.split('status runs as root')).toHaveLength(2);
    expect(text).not.toContain('All good');
    expect(text).toContain('Nothing more that root can tell: run the command above.');
  });
});

describe('nonRootOwner: whose files these are', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'owner-'));
    made.push(d);
    return d;
  };

  it('the first path owned by someone other than root, named from the passwd file', () => {
    const dir = tmp();
    const passwd = path.join(dir, 'passwd');
    fs.writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nop:x:4242:4242::/home/op:/bin/bash\n');
    const config = path.join(dir, 'a.env');
    const clone = path.join(dir, 'clone');
    fs.writeFileSync(config, '');
    fs.mkdirSync(clone);
    const mine = process.getuid!();
    expect(userNameOf(4242, passwd)).toBe('op');
    expect(userNameOf(4243, passwd)).toBeUndefined();
    if (mine !== 0) {
      expect(nonRootOwner([path.join(dir, 'missing'), config], passwd)).toEqual({ uid: mine, path: config });
      return;
    }
    // As root: root-owned paths are skipped, the next one that belongs to a user names it.
    fs.chownSync(clone, 4242, 4242);
    expect(nonRootOwner([undefined, path.join(dir, 'missing'), config, clone], passwd)).toEqual({ uid: 4242, user: 'op', path: clone });
    expect(nonRootOwner([config], passwd)).toBeUndefined();
    fs.chownSync(config, 4243, 4243);
    expect(nonRootOwner([config, clone], passwd)).toEqual({ uid: 4243, path: config });
  });
});
