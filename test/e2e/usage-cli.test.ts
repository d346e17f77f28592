import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, PROJECT_ROOT, runCli } from '../helpers/cli.js';
import { isolatedEnv, tempDir } from '../helpers/tmp.js';
import { updateSetup } from '../helpers/update-setup.js';

/**
 * Usage as an operator meets it (issue 10): every case runs the built CLI as a
 * process. Bad usage is exit 2 with the flag or key named and the fix, never a
 * stack trace or an errno.
 */
const VERSION = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const env = () => isolatedEnv(tempDir(), { XDG_RUNTIME_DIR: '/nonexistent' });

describe('flags', () => {
  it('update --config with no value names the flag (not EISDIR), also before another flag', async () => {
    const e = env();
    for (const args of [['update', '--config'], ['update', '--config', '--dry-run'], ['update', '--config=']]) {
      const r = await runCli(args, { env: e });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('--config needs a value (e.g. --config ~/.config/alphacore/autoupdate/alphacore.env).');
      expect(r.stderr).not.toMatch(/EISDIR|cannot read/);
    }
    const r = await runCli(['status', '--namespace'], { env: e });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--namespace needs a value');
  });

  it('update --to with no value gives a real example; a value starting with "-" is told how to pass (trial defect 14)', async () => {
    const e = env();
    const r = await runCli(['update', '--config', 'C', '--to'], { env: e });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--to needs a value (e.g. --to <commit sha of REMOTE/BRANCH>).');
    const dash = await runCli(['update', '--config', 'C', '--to', '-x'], { env: e });
    expect(dash.exitCode).toBe(2);
    expect(dash.stderr).toContain("the next word -x starts with '-', so it was read as a flag: give a value that starts with '-' as --to=-x.");
    expect(dash.stderr).not.toContain('-x: unknown flag');
  });

  it('alphacore --bogus names the unknown flag, not "Name a command" (trial defect 14)', async () => {
    const e = env();
    const r = await runCli(['--bogus'], { env: e });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--bogus: unknown flag.');
    expect(r.stderr).not.toContain('Name a command');
    const none = await runCli([], { env: e });
    expect([none.exitCode, none.stderr]).toEqual([2, expect.stringContaining('Name a command')]);
  });

  it('with --json, a usage error yargs raises is one JSON object on stdout (status, autoupdate, uninstall); for update, its result event', async () => {
    const e = env();
    for (const args of [['status', '--json', '--nmaespace', 'x'], ['autoupdate', 'status', '--json', '--bogus'], ['uninstall', '--json', '--bogus']]) {
      const r = await runCli(args, { env: e });
      expect([r.exitCode, r.stderr], args.join(' ')).toEqual([2, '']);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: 2, message: expect.stringContaining('unknown flag') } });
    }
    // update --json speaks JSON lines ending in a result event (also for a missing --config).
    for (const [args, reason] of [[['update', '--json', '--bogus'], '--bogus: unknown flag.'], [['update', '--json'], '--config is required']] as const) {
      const u = await runCli([...args], { env: e });
      expect([u.exitCode, u.stderr], args.join(' ')).toEqual([2, '']);
      expect(JSON.parse(u.stdout)).toEqual({ event: 'result', outcome: 'invalid-usage', reason: expect.stringContaining(reason), hint: 'Run alphacore update --help for its flags.', from: null, to: null });
    }
    const plain = await runCli(['update'], { env: e });
    expect([plain.exitCode, plain.stderr]).toEqual([2, expect.stringContaining('--config is required: the auto-update config file launch wrote')]);
  });

  it('a misspelled flag is named, with the nearest known flag', async () => {
    const e = env();
    const r = await runCli(['update', '--conifg', 'X'], { env: e });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--conifg: unknown flag (did you mean --config?)');
    expect(r.stderr).not.toContain('Missing required argument');
    const s = await runCli(['status', '--nmaespace', 'x'], { env: e });
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toContain('--nmaespace: unknown flag (did you mean --namespace?)');
    const a = await runCli(['autoupdate', 'status', '--intreval', '2m', '--bogus'], { env: e });
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toContain('--intreval: unknown flag (did you mean --interval?)');
    expect(a.stderr).toContain('--bogus: unknown flag.');
  });

  it('-h and -v work for every command', async () => {
    const e = env();
    for (const command of [[], ['launch'], ['update'], ['status'], ['autoupdate'], ['autoupdate', 'status']]) {
      const help = await runCli([...command, '-h'], { env: e });
      expect(help.exitCode, `${command.join(' ')} -h: ${help.stderr}`).toBe(0);
      expect(help.stdout).toContain(`alphacore${command.length ? ` ${command[0]}` : ''}`);
      expect(help.stdout).toMatch(/-h, --help/);
      const version = await runCli([...command, '-v'], { env: e });
      expect(version.exitCode, `${command.join(' ')} -v: ${version.stderr}`).toBe(0);
      expect(version.stdout.trim()).toBe(VERSION);
    }
  });

  it('--help text and the docs cite no DESIGN.md section (the repository has no such file)', async () => {
    const e = env();
    for (const command of [[], ['launch'], ['update'], ['status'], ['autoupdate']]) {
      const help = await runCli([...command, '--help'], { env: e });
      expect(help.stdout, command.join(' ')).not.toMatch(/DESIGN\.md/);
    }
    const docs = ['README.md', ...fs.readdirSync(path.join(PROJECT_ROOT, 'docs')).map((f) => `docs/${f}`), ...fs.readdirSync(path.join(PROJECT_ROOT, 'templates')).map((f) => `templates/${f}`)];
    for (const doc of docs) expect(fs.readFileSync(path.join(PROJECT_ROOT, doc), 'utf8'), doc).not.toMatch(/DESIGN\.md §/);
  });
});

describe('config keys', () => {
  it('an unknown or misspelled key and a key given twice are warned about also when other errors stop the run; the last one wins', async () => {
    const s = await updateSetup({ config: ['NETWROK=finney', 'NETUID=5', 'NETUID=abc'] });
    const r = await s.run();
    expect(r.exitCode).toBe(2);
    // The last NETUID is the one validated, as a shell would read the file.
    expect(r.stderr).toContain('NETUID=abc must be a subnet uid');
    expect(r.stderr).toMatch(/alphacore\.env:\d+: unknown key NETWROK \(did you mean NETWORK\?\); it is ignored\./);
    expect(r.stderr).toMatch(/alphacore\.env: NETUID is given 3 times \(lines 4, \d+, \d+\); the last one \(line \d+\) wins, as in a shell\./);
    // With a line that does not parse, too.
    fs.appendFileSync(s.configFile, 'BRANCH=$(id)\n');
    const parse = await s.run();
    expect(parse.exitCode).toBe(2);
    expect(parse.stderr).toMatch(/BRANCH uses \$\(\.\.\.\) command substitution/);
    expect(parse.stderr).toContain('unknown key NETWROK (did you mean NETWORK?)');
    expect(parse.stderr).toContain('NETUID is given 3 times');
  });

  it('on a run that goes ahead, the same warnings are logged and the last value wins', async () => {
    const s = await updateSetup({ config: ['NETWROK=finney', 'BRANCH=nope', 'BRANCH=release'] });
    const r = await s.run(['--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('result: up-to-date');
    expect(r.stdout).toContain('unknown key NETWROK (did you mean NETWORK?)');
    expect(r.stdout).toMatch(/BRANCH is given 2 times \(lines \d+, \d+\); the last one \(line \d+\) wins/);
  });

  it('a NUL byte: the message names the line and escapes the byte; no raw control byte reaches the terminal', async () => {
    const s = await updateSetup();
    const text = fs.readFileSync(s.configFile, 'utf8').replace('WALLET_NAME=wallet', 'WALLET_NAME=wal\0let\u001b[31m');
    fs.writeFileSync(s.configFile, text);
    const line = text.split('\n').findIndex((l) => l.startsWith('WALLET_NAME=')) + 1;
    const r = await s.run();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`alphacore.env:${line}: WALLET_NAME contains a NUL byte (\\0) at column 16`);
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('netuids are 16-bit: NETUID=99999 is refused', async () => {
    const s = await updateSetup({ config: ['NETUID=99999'] });
    const r = await s.run();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('NETUID=99999 must be a subnet uid, an integer 0-65535.');
  });
});

describe('colour', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('NO_COLOR= (empty) does not turn colour off; NO_COLOR=1 does (no-color.org)', async () => {
    const e = env();
    // util-linux `script` gives the CLI a real terminal; status of a namespace with no config still paints.
    const onTty = (noColor: string) =>
      execa('script', ['-qec', `${process.execPath} ${CLI} status --namespace nothing-here`, '/dev/null'], { env: { ...e, NO_COLOR: noColor }, extendEnv: false, reject: false, timeout: 30_000 });
    const empty = await onTty('');
    expect(empty.stdout).toMatch(/\u001b\[/);
    const set = await onTty('1');
    expect(set.stdout).toContain('alphacore status: namespace nothing-here');
    expect(set.stdout).not.toMatch(/\u001b\[/);
  });
});

describe('a closed stdout', () => {
  const sh = async (command: string, e: Record<string, string>) =>
    execa('bash', ['-c', `${command}; echo "rc=\${PIPESTATUS[0]}" >&2`], { env: e, extendEnv: false, reject: false, timeout: 60_000 });
  it('status, status --json, autoupdate status and --help piped into true or head -1: no EPIPE trace, the usual exit code', async () => {
    const e = env();
    const cli = `'${process.execPath}' '${CLI}'`;
    for (const command of [
      `${cli} status --namespace ns1 | true`,
      `${cli} status --namespace ns1 | head -1`,
      `${cli} status --namespace ns1 --json | head -1`,
      `${cli} autoupdate status --namespace ns1 | true`,
      `${cli} --help | head -1`,
    ]) {
      const r = await sh(command, e);
      expect(r.stderr, command).toBe('rc=0');
    }
  });
});
