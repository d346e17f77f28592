import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { isolatedEnv, tempDir } from '../helpers/tmp.js';
import { chownTree, runCliAs, stage, userTempDir } from '../helpers/user.js';

/**
 * Usage errors of `alphacore autoupdate`: exit 2, the flag and the fix named, nothing
 * written. The built CLI runs as the throwaway user when the tests run as root (as root
 * it refuses first); the root refusal itself runs as root, with temp HOME and XDG dirs.
 * No XDG_RUNTIME_DIR: `systemctl --user` cannot answer, so cron would be the scheduler.
 */
const staged = stage();
const asRoot = process.getuid?.() === 0;

function needUser(ctx: TestContext): void {
  if (asRoot && staged.skip) {
    console.log(`skipped: running as root and no throwaway user to run the CLI as (${staged.skip})`);
    ctx.skip();
  }
}

function needRoot(ctx: TestContext): void {
  if (!asRoot) {
    console.log('skipped: not running as root, so there is no root run to refuse (CI runs as root)');
    ctx.skip();
  }
}

/** A temp HOME for the user the CLI runs as; every file under it, to show nothing was written. */
async function setup() {
  const root = asRoot && staged.ready ? userTempDir(staged.ready.user, 'alphacore-autoupdate-cli-') : tempDir('alphacore-autoupdate-cli-');
  const env = isolatedEnv(root, { XDG_RUNTIME_DIR: '/nonexistent' });
  if (asRoot && staged.ready) await chownTree(root, staged.ready.user);
  const cli = (args: string[]): Promise<CliResult> => (asRoot && staged.ready ? runCliAs(staged.ready, args, { env }) : runCli(args, { env }));
  return { env, cli, files: () => fs.readdirSync(env.HOME, { recursive: true }).sort() };
}

/** A namespace config in its XDG place, written as the test's user would. */
async function writeConfig(env: Record<string, string>, namespace: string): Promise<string> {
  const config = path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', `${namespace}.env`);
  fs.mkdirSync(path.dirname(config), { recursive: true });
  fs.writeFileSync(config, `PM2_NAMESPACE=${namespace}\n`);
  if (asRoot && staged.ready) await chownTree(env.HOME, staged.ready.user);
  return config;
}

describe('alphacore autoupdate usage', () => {
  it('reports a bad interval and a missing config together', async (ctx) => {
    needUser(ctx);
    const { cli, files } = await setup();
    const before = files();
    const r = await cli(['autoupdate', 'enable', '--namespace', 'ns1', '--interval', '2 fortnights']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--interval: "2 fortnights" is not a time span');
    expect(r.stderr).toMatch(/ns1\.env does not exist.*alphacore launch/);
    expect(files()).toEqual(before);
  });

  it('--json: an interval cron cannot run and a missing config are one JSON object on stdout, exit 2 (trial defects 11, 12)', async (ctx) => {
    needUser(ctx);
    const { cli, files } = await setup();
    const before = files();
    const r = await cli(['autoupdate', 'enable', '--json', '--interval', '7m', '--namespace', 'ns1']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('');
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(r.json[0]).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: 2 } });
    const problems = (r.json[0]!.error as { problems: string[] }).problems;
    expect(problems).toEqual([
      expect.stringMatching(/^--interval: cron cannot run every 7m; .*Use 6m or 10m instead/),
      expect.stringMatching(/ns1\.env does not exist/),
    ]);
    expect(files()).toEqual(before);
  });

  it('disable and status refuse the flags only enable takes, naming them, and change nothing (trial defect 2)', async (ctx) => {
    needUser(ctx);
    const { env, cli, files } = await setup();
    await writeConfig(env, 'ns1');
    const before = files();
    const r = await cli(['autoupdate', 'disable', '--namespace', 'ns1', '--interval', '5m', '--enable-linger']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('autoupdate disable: flags it does not take (nothing was changed)');
    expect(r.stderr).toContain('--interval only applies to alphacore autoupdate enable');
    expect(r.stderr).toContain('--enable-linger only applies to alphacore autoupdate enable');
    expect(r.stdout).toBe('');
    const status = await cli(['autoupdate', 'status', '--namespace', 'ns1', '--interval', '5m', '--json']);
    expect(status.exitCode).toBe(2);
    expect(status.json[0]).toMatchObject({ ok: false, error: { problems: [expect.stringContaining('--interval only applies to alphacore autoupdate enable')] } });
    expect(files()).toEqual(before);
  });

  it('disable --dry-run with nothing installed says so and changes nothing', async (ctx) => {
    needUser(ctx);
    const { cli, files } = await setup();
    const before = files();
    const r = await cli(['autoupdate', 'disable', '--namespace', 'ns1', '--dry-run', '--json']);
    expect(r.exitCode).toBe(0);
    expect(r.json[0]).toMatchObject({ kind: 'none', dryRun: true, lines: ['Nothing to remove: no timer or crontab line is installed for namespace ns1.'] });
    expect(files()).toEqual(before);
  });

  it('refuses a namespace that cannot name a unit or a crontab marker', async (ctx) => {
    needUser(ctx);
    const { cli } = await setup();
    const r = await cli(['autoupdate', 'status', '--namespace', 'a b;rm']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--namespace: "a b;rm" is not a valid namespace');
  });

  it('refuses a --namespace that contradicts the config', async (ctx) => {
    needUser(ctx);
    const { env, cli } = await setup();
    const config = path.join(env.HOME, 'b.env');
    fs.writeFileSync(config, 'PM2_NAMESPACE=other\n', { mode: 0o644 });
    const r = await cli(['autoupdate', 'enable', '--namespace', 'mine', '--config', config]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--namespace mine does not match PM2_NAMESPACE=other');
  });

  it('names the actions', async (ctx) => {
    needUser(ctx);
    const { cli } = await setup();
    const r = await cli(['autoupdate', 'start']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/enable.*disable.*status/);
  });

  it('status without anything installed says none', async (ctx) => {
    needUser(ctx);
    const { cli } = await setup();
    const r = await cli(['autoupdate', 'status', '--namespace', 'ns1', '--json']);
    expect(r.exitCode).toBe(0);
    expect(r.json[0]).toMatchObject({ namespace: 'ns1', kind: 'none', active: false });
  });
});

describe('alphacore autoupdate as root (trial defect 7)', () => {
  /** As root, in temp HOME/XDG dirs: the refusal comes before the interval, the config and the flags are looked at. */
  async function rootRun(args: string[]) {
    const env = isolatedEnv(tempDir('alphacore-autoupdate-root-'), { XDG_RUNTIME_DIR: '/nonexistent' });
    const files = () => fs.readdirSync(env.HOME, { recursive: true }).sort();
    const before = files();
    const r = await runCli(args, { env });
    expect(files()).toEqual(before);
    return r;
  }

  it('enable refuses first, naming sudo -iu <user>, not launch (which refuses root too)', async (ctx) => {
    needRoot(ctx);
    // No config and an interval cron cannot run: without the refusal first, both would be reported.
    const r = await rootRun(['autoupdate', 'enable', '--interval', '7m']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^alphacore: autoupdate enable refuses to run as root: /);
    expect(r.stderr).toContain('`sudo -iu <user> alphacore autoupdate enable`');
    expect(r.stderr).not.toContain('alphacore launch` first');
    expect(r.stderr).not.toContain('7m');
    expect(r.stdout).toBe('');
  });

  it('disable refuses first, in words that fit a removal', async (ctx) => {
    needRoot(ctx);
    const r = await rootRun(['autoupdate', 'disable', '--namespace', 'ns1', '--dry-run']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^alphacore: autoupdate disable refuses to run as root: the timer or crontab line it removes belongs to the validator's own user/);
    expect(r.stderr).toContain('`sudo -iu <user> alphacore autoupdate disable --namespace ns1`');
    expect(r.stderr).not.toContain('will not be installed');
  });

  it('with --json the refusal is one JSON object on stdout', async (ctx) => {
    needRoot(ctx);
    const r = await rootRun(['autoupdate', 'enable', '--json']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('');
    expect(r.json).toEqual([{ ok: false, error: expect.objectContaining({ kind: 'usage', exitCode: 2, message: expect.stringMatching(/^autoupdate enable refuses to run as root/) }) }]);
  });
});
