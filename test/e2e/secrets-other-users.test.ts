import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pushRelease } from '../helpers/alphacore-fixture.js';
import { startApi } from '../helpers/api.js';
import { otherAccount } from '../helpers/other-account.js';
import { restartWorld, type RestartWorld } from '../helpers/restart-world.js';
import { runAs, stage, type StagedRun, type TestUser } from '../helpers/user.js';

/**
 * Secrets stay in 0600 files (DESIGN.md §5.7). A secret is planted through each input
 * path (the --openai-api-key flag, ALPHACORE_OPENAI_API_KEY and GOOGLE_OAUTH_ACCESS_TOKEN
 * in the environment, the config's ALPHACORE_OPENAI_API_KEY, NOTIFY_WEBHOOK_URL in the
 * config and in the environment); after launch and after a real update a second local
 * account searches every file it can read under the validator's (0755, as an older
 * Ubuntu makes it) home, /tmp, /var/tmp and /dev/shm, and every /proc/<pid>/cmdline and
 * environ, for any of them. The built CLI as the validator's user, a real PM2.
 */
const staged = stage();
if (staged.skip) console.log(`secret e2e tests skipped: ${staged.skip}`);
const run = staged.ready as StagedRun;
const e2e = staged.skip ? describe.skip : describe;

let mallory: TestUser & { remove(): Promise<void> };
beforeAll(async () => {
  if (!staged.skip) mallory = await otherAccount('ac-mallory-sec');
});
afterAll(async () => {
  await mallory?.remove();
});
const controls: ChildProcess[] = [];
afterEach(async () => {
  for (const c of controls.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  }
});

const secret = (what: string) => `${what}-SECRET-${crypto.randomBytes(8).toString('hex')}`;

/**
 * What mallory finds: `file <path>` and `proc <pid>/<entry>` lines, one per hit. The
 * patterns file is mallory's own, excluded by name; patterns never go into an argv.
 */
async function scanAsMallory(secrets: string[], roots: string[], skip: string[]): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-scan-'));
  const name = `patterns-${crypto.randomBytes(6).toString('hex')}`;
  const patterns = path.join(dir, name);
  fs.writeFileSync(patterns, `${secrets.join('\n')}\n`, { mode: 0o600 });
  fs.chownSync(patterns, mallory.uid, mallory.gid);
  fs.chownSync(dir, mallory.uid, mallory.gid);
  fs.chmodSync(dir, 0o700);
  const script = [
    'p="$1"; n="$2"; shift 2',
    // Files: whatever mallory may read (grep skips the rest silently).
    'grep -rlsaF --exclude-dir=node_modules --exclude="$n" -f "$p" "$@" | sed "s/^/file /"',
    'for d in /proc/[0-9]*; do',
    '  for e in cmdline environ; do',
    '    if tr "\\0" "\\n" < "$d/$e" 2>/dev/null | grep -qaF -f "$p"; then echo "proc ${d#/proc/}/$e"; fi',
    '  done',
    'done',
    'exit 0',
  ].join('\n');
  try {
    const r = await runAs(mallory, '/bin/bash', ['-c', script, '_', patterns, name, ...roots], { env: { PATH: '/usr/bin:/bin', HOME: '/' }, cwd: '/', timeoutMs: 180_000 });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return String(r.stdout)
      .split('\n')
      .filter(Boolean)
      .filter((line) => !skip.some((s) => line.startsWith(`file ${s}`)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The root of the world, opened as a 0755 home is: whatever the toolkit does not make private is readable. */
function openHome(w: RestartWorld): string {
  const root = path.dirname(w.env.HOME!);
  fs.chmodSync(root, 0o755);
  fs.chmodSync(w.env.HOME!, 0o755);
  return root;
}

/** Evidence that the scan can fail: a readable file and a process argv with a control secret, both found. */
async function controlHits(root: string, w: RestartWorld): Promise<string[]> {
  const control = secret('control');
  const file = path.join(root, 'control.txt');
  fs.writeFileSync(file, `${control}\n`, { mode: 0o644 });
  const proc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)', control], { uid: run.user.uid, gid: run.user.gid, stdio: 'ignore' });
  controls.push(proc);
  await new Promise((resolve, reject) => proc.once('spawn', resolve).once('error', reject)); // exec'd: its argv holds the control
  const hits = await scanAsMallory([control], [root], [w.setup.control.dir]);
  fs.rmSync(file);
  return hits.map((h) => h.replace(String(proc.pid), '<pid>'));
}

function expectPrivate(w: RestartWorld, secrets: string[]): void {
  // Where the secrets do live: 0600 files, a 0700 PM2_HOME; never in dump.pm2 itself.
  const mode = (f: string) => fs.statSync(f).mode & 0o777;
  expect(mode(w.pm2.home)).toBe(0o700);
  const dump = path.join(w.pm2.home, 'dump.pm2');
  expect(mode(dump)).toBe(0o600);
  const dumped = fs.readFileSync(dump, 'utf8');
  for (const s of secrets) expect(dumped, 'a secret in dump.pm2').not.toContain(s);
  expect(mode(w.configFile)).toBe(0o600);
  expect(mode(path.join(w.setup.deploy, 'env', 'test', 'validator-cold-hot.env'))).toBe(0o600);
}

e2e('no other local user can read a secret, whatever path it came by', () => {
  it('the OpenAI key from the environment, the token in the update\'s environment, the webhook in the config: after launch and after an update', async () => {
    const hook = await startApi();
    const envKey = secret('sk-env');
    const token = secret('ya29-token');
    const hookUrl = `${hook.url}/${secret('hook')}`;
    const w = await restartWorld(run, { behaviour: { version: '1.0.0' }, openaiKeyInEnv: envKey, config: [`NOTIFY_WEBHOOK_URL=${hookUrl}`] });
    const root = openHome(w);
    expect(await controlHits(root, w)).toEqual([`file ${path.join(root, 'control.txt')}`, 'proc <pid>/cmdline']);
    const all = [envKey, token, hookUrl.split('/').at(-1)!];
    const roots = [root, '/tmp', '/var/tmp', '/dev/shm'];
    expect(await scanAsMallory(all, roots, [w.setup.control.dir])).toEqual([]);

    pushRelease(w.setup.origin, { version: '1.1.0' });
    w.env.GOOGLE_OAUTH_ACCESS_TOKEN = token;
    const r = await w.update(['--json']);
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'updated' });
    expect(hook.requests.length).toBeGreaterThan(0); // the webhook was used, by its secret URL
    // The validator still has its key: from the env file its start script sources.
    expect(w.setup.control.validatorStarts().at(-1)!.env).toMatchObject({ ALPHACORE_OPENAI_API_KEY: envKey });
    expectPrivate(w, all);
    expect(await scanAsMallory(all, roots, [w.setup.control.dir])).toEqual([]);
  }, 300_000);

  it('the key given as --openai-api-key (then the config key on update), the webhook in the update\'s environment, a bash-era 0755 ~/.pm2 with a 0644 dump', async () => {
    const hook = await startApi();
    const flagKey = secret('sk-flag');
    const hookUrl = `${hook.url}/${secret('hook-env')}`;
    const w = await restartWorld(run, {
      behaviour: { version: '1.0.0' },
      launchFlags: ['--openai-api-key', flagKey],
    });
    const root = openHome(w);
    expect(fs.readFileSync(w.configFile, 'utf8')).toContain(flagKey); // the config key the update reads
    const all = [flagKey, hookUrl.split('/').at(-1)!];
    const roots = [root, '/tmp', '/var/tmp', '/dev/shm'];
    expect(await scanAsMallory(all, roots, [w.setup.control.dir])).toEqual([]);

    // A bash-era PM2 home: open to everyone until the update's save makes it private.
    fs.chmodSync(w.pm2.home, 0o755);
    fs.chmodSync(path.join(w.pm2.home, 'dump.pm2'), 0o644);
    pushRelease(w.setup.origin, { version: '1.1.0' });
    w.env.NOTIFY_WEBHOOK_URL = hookUrl;
    const r = await w.update(['--json']);
    expect(r.result, r.stdout + r.stderr).toMatchObject({ outcome: 'updated' });
    expect(hook.requests.length).toBeGreaterThan(0);
    expectPrivate(w, all);
    expect(await scanAsMallory(all, roots, [w.setup.control.dir])).toEqual([]);
  }, 300_000);
});
