import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { isolatedEnv, tempDir } from '../helpers/tmp.js';

/** Usage errors of `alphacore autoupdate`: exit 2, the flag and the fix named, nothing written. */
function setup() {
  const env = isolatedEnv(tempDir(), { XDG_RUNTIME_DIR: '/nonexistent' });
  return { env, files: () => fs.readdirSync(env.HOME, { recursive: true }).sort() };
}

describe('alphacore autoupdate usage', () => {
  it('reports a bad interval and a missing config together', async () => {
    const { env, files } = setup();
    const before = files();
    const r = await runCli(['autoupdate', 'enable', '--namespace', 'ns1', '--interval', '2 fortnights'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--interval: "2 fortnights" is not a time span');
    expect(r.stderr).toMatch(/ns1\.env does not exist.*alphacore launch/);
    expect(files()).toEqual(before);
  });

  it('refuses a namespace that cannot name a unit or a crontab marker', async () => {
    const { env } = setup();
    const r = await runCli(['autoupdate', 'status', '--namespace', 'a b;rm'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--namespace: "a b;rm" is not a valid namespace');
  });

  it('refuses to install for root or to touch root\'s crontab', async (ctx) => {
    if (process.getuid?.() !== 0) {
      console.log('skipped: not running as root');
      ctx.skip();
    }
    const { env } = setup();
    const config = path.join(env.XDG_CONFIG_HOME, 'alphacore', 'autoupdate', 'ns1.env');
    fs.mkdirSync(path.dirname(config), { recursive: true });
    fs.writeFileSync(config, 'PM2_NAMESPACE=ns1\n');
    const r = await runCli(['autoupdate', 'disable', '--namespace', 'ns1'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('will not be installed for root');
  });

  it('refuses a --namespace that contradicts the config', async () => {
    const { env } = setup();
    const config = path.join(env.HOME, 'b.env');
    fs.writeFileSync(config, 'PM2_NAMESPACE=other\n');
    const r = await runCli(['autoupdate', 'enable', '--namespace', 'mine', '--config', config], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--namespace mine does not match PM2_NAMESPACE=other');
  });

  it('names the actions', async () => {
    const { env } = setup();
    const r = await runCli(['autoupdate', 'start'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/enable.*disable.*status/);
  });

  it('status without anything installed says none', async () => {
    const { env } = setup();
    const r = await runCli(['autoupdate', 'status', '--namespace', 'ns1', '--json'], { env });
    expect(r.exitCode).toBe(0);
    expect(r.json[0]).toMatchObject({ namespace: 'ns1', kind: 'none', active: false });
  });
});
