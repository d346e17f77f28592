import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, CLI } from '../helpers/cli.js';
import { isolatedEnv, tempDir } from '../helpers/tmp.js';
import { runAs, stage, userTempDir } from '../helpers/user.js';

/**
 * `alphacore completion` (yargs' script) sourced by a real bash, then asked to
 * complete; and the -h / -v aliases. As the throwaway user when the tests run as
 * root, else as the current user (nothing here needs root).
 */
const staged = stage();

async function bash(script: string, env: Record<string, string>) {
  if (staged.ready) return runAs(staged.ready.user, 'bash', ['--norc', '--noprofile', '-c', script], { env });
  const { execa } = await import('execa');
  return execa('bash', ['--norc', '--noprofile', '-c', script], { env, extendEnv: false, reject: false, timeout: 60_000, stdin: 'ignore' });
}

describe('shell completion and -h/-v', () => {
  it('the bash script sources without error and completes commands and flags', async () => {
    const root = staged.ready ? userTempDir(staged.ready.user, 'alphacore-completion-') : tempDir('alphacore-completion-');
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    // `alphacore` on PATH, as after an install: the script calls it back for every completion.
    fs.symlinkSync(staged.ready ? staged.ready.cli : CLI, path.join(bin, 'alphacore'));
    const env = { ...isolatedEnv(root), PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`, SHELL: '/bin/bash' };
    if (staged.ready) fs.chownSync(root, staged.ready.user.uid, staged.ready.user.gid);
    const script = [
      'set -e',
      'source <(alphacore completion)',
      'complete -p alphacore',
      'complete_line() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _alphacore_yargs_completions; echo "[$*] -> ${COMPREPLY[*]}"; }',
      'complete_line alphacore unin',
      'complete_line alphacore l',
      'complete_line alphacore logs --fo',
    ].join('\n');
    const r = await bash(script, env);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stderr)).toBe('');
    const out = String(r.stdout);
    expect(out).toContain('complete -o bashdefault -o default -F _alphacore_yargs_completions alphacore');
    expect(out).toContain('[alphacore unin] -> uninstall\n');
    expect(out).toMatch(/\[alphacore l\] -> (launch logs|logs launch)\n/);
    expect(out).toContain('[alphacore logs --fo] -> --follow');
  });

  it('zsh: the script yargs writes when $SHELL is zsh', async () => {
    const r = await runCli(['completion'], { env: { ...isolatedEnv(), SHELL: '/usr/bin/zsh' } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('#compdef alphacore');
    expect(r.stdout).toContain('compdef _alphacore_yargs_completions alphacore');
  });

  it('-h is --help and -v is --version', async () => {
    const env = isolatedEnv();
    const version = (JSON.parse(fs.readFileSync(path.join(path.dirname(CLI), '..', 'package.json'), 'utf8')) as { version: string }).version;
    expect((await runCli(['-v'], { env })).stdout.trim()).toBe(version);
    const help = await runCli(['-h'], { env });
    expect(help.exitCode).toBe(0);
    for (const command of ['launch', 'update', 'status', 'autoupdate', 'logs', 'uninstall', 'completion']) expect(help.stdout).toContain(`alphacore ${command}`);
    const sub = await runCli(['uninstall', '-h'], { env });
    expect(sub.stdout).toContain('--keep-processes');
    // completion's own help is help, not the script (yargs prints the script for any arguments).
    for (const flag of ['--help', '-h']) {
      const r = await runCli(['completion', flag], { env });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('alphacore completion >> ~/.bashrc');
      expect(r.stdout).not.toContain('complete -o bashdefault');
    }
  });
});
