import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { isolatedPm2 } from '../helpers/pm2.js';
import { updateSetup } from '../helpers/update-setup.js';

/**
 * DESIGN.md §5 step 0: `update` run as root refuses before touching anything. A
 * root `pm2` call would start a root PM2 daemon, a root fetch would leave
 * root-owned objects in the operator's clone. The run here would otherwise get
 * that far: a new release is waiting and the API is idle.
 */
function needRoot(ctx: TestContext): void {
  if (process.getuid?.() !== 0) {
    console.log('skipped: not running as root, so there is no root run to refuse (CI runs as root)');
    ctx.skip();
  }
}

/** Every file under `dir` with a hash of its content: any write shows. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, file);
    if (entry.isFile()) out[rel] = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    else if (entry.isDirectory()) out[rel] = 'dir';
  }
  return out;
}

describe('update as root', () => {
  it('exits 2 naming the fix, with no git, no PM2 and no file written', async (ctx) => {
    needRoot(ctx);
    const s = await updateSetup({ api: { active: [] } });
    s.origin.push({ 'src/app.py': 'v2\n' });
    const pm2 = isolatedPm2(s.root);
    const env = { ...s.env, ...pm2.env, PM2_BIN: path.join(pm2.env.PATH.split(':')[0]!, 'pm2') };
    const gitBefore = snapshot(path.join(s.deploy, '.git'));
    const stateDir = path.dirname(s.logFile);

    for (const args of [[], ['--dry-run']]) {
      const r = await runCli(['update', '--config', s.configFile, ...args], { env });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('alphacore: update refuses to run as root');
      expect(r.stderr).toContain('sudo -iu'); // names the fix: run it as the validator's user
      expect(r.stdout).not.toContain('result:');
    }
    // --json: the run's result event says the same, nothing on stderr.
    const json = await runCli(['update', '--config', s.configFile, '--json'], { env });
    expect([json.exitCode, json.stderr]).toEqual([2, '']);
    expect(JSON.parse(json.stdout)).toMatchObject({ event: 'result', outcome: 'invalid-usage', reason: expect.stringContaining('update refuses to run as root'), hint: expect.stringContaining('sudo -iu') });

    expect(fs.readdirSync(pm2.home)).toEqual([]); // no PM2 daemon was started
    expect(snapshot(path.join(s.deploy, '.git'))).toEqual(gitBefore); // no fetch, no reset
    expect(fs.existsSync(stateDir)).toBe(false); // no log, state or lock file
  }, 60_000);

  it('names the owner of the config in the command it advises (update, autoupdate)', async (ctx) => {
    needRoot(ctx);
    // `nobody` (uid 65534 on Debian) stands in for the validator's user: the refusal reads
    // the owner from the file, it never runs anything as that user.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-root-owner-'));
    try {
      const config = path.join(dir, 'alphacore.env');
      fs.writeFileSync(config, 'NETWORK=test\n');
      fs.chownSync(config, 65534, 65534);
      const env = { HOME: dir, PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const update = await runCli(['update', '--config', config], { env });
      expect(update.exitCode).toBe(2);
      expect(update.stderr).toContain(`sudo -iu nobody alphacore update --config ${config}`);
      const enable = await runCli(['autoupdate', 'enable', '--config', config], { env });
      expect(enable.exitCode).toBe(2);
      expect(enable.stderr).toContain(`sudo -iu nobody alphacore autoupdate enable --config ${config}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
