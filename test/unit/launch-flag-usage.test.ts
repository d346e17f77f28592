import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OperationError, UserError } from '../../src/core/errors.js';
import { missingValues, needsValue } from '../../src/core/flag-value.js';
import { parseLaunchArgv } from '../../src/domain/launch/options.js';
import { resolveLaunchOptions, type LaunchFacts, type LaunchOptions } from '../../src/domain/launch/validate.js';
import { folderProblem, writeStep } from '../../src/domain/launch/writable.js';
import { launchWorld } from '../helpers/launch-world.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The operator trial's launch defects (trial-defects.md 3, 14, 15): what only the typed
 * words show (a flag with no value, a flag given twice) and folders launch cannot write,
 * all reported as bad input together with every other problem.
 */
const world = (facts: Partial<LaunchFacts> = {}) => launchWorld(facts, 'alphacore-launch-usage-');

const BASE = ['--wallet-name', 'cold', '--hotkey', 'hot', '--netuid', '66', '--network', 'finney', '--no-autoupdate'];

async function outcome(argv: string[], facts: Partial<LaunchFacts> = {}, purpose: 'launch' | 'relaunch' = 'launch'): Promise<LaunchOptions | string[]> {
  const w = world(facts);
  try {
    return resolveLaunchOptions(await parseLaunchArgv([...argv, '--gcp-creds-file', w.creds]), w.facts, purpose);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).problems;
  }
}

describe('a repeated flag (trial defect 15)', () => {
  it('--netuid 66 ... --netuid 67 is refused naming both values, not silently the last', async () => {
    const problems = await outcome([...BASE, '--netuid', '67']);
    expect(problems).toContain('--netuid was given twice (66, 67); give it once.');
  });

  it('with every other problem, and through an alias; the same value twice is no conflict', async () => {
    const problems = await outcome([...BASE, '--epoch-slots', '2', '--validator.epoch_slots', '3', '--http-port', 'x']);
    expect(problems).toEqual(expect.arrayContaining(['--epoch-slots was given twice (2, 3); give it once.', '--http-port x must be an integer port 1-65535.']));
    const same = (await outcome([...BASE, '--netuid', '66'])) as LaunchOptions;
    expect(same.netuid).toBe('66');
  });

  it('a secret given twice is named without its values', async () => {
    const problems = (await outcome([...BASE, '--openai-api-key', 'sk-one', '--openai-api-key', 'sk-two'])) as string[];
    expect(problems).toContain('--openai-api-key was given twice; give it once.');
    expect(problems.join('\n')).not.toContain('sk-one');
  });

  it("a relaunch (the update's VALIDATOR_EXTRA_ARGS after the config's keys) keeps last-wins", async () => {
    const o = (await outcome([...BASE, '--netuid', '67'], {}, 'relaunch')) as LaunchOptions;
    expect(o.netuid).toBe('67');
  });
});

describe('a flag typed with no value (trial defect 14)', () => {
  it('--netuid at the end or before another flag: "needs a value", not "is required"', async () => {
    for (const argv of [[...BASE.filter((w) => w !== '66'), '--dry-run'], ['--wallet-name', 'cold', '--hotkey', 'hot', '--network', 'finney', '--no-autoupdate', '--netuid']]) {
      const problems = (await outcome(argv)) as string[];
      expect(problems, argv.join(' ')).toContain('--netuid needs a value (e.g. --netuid 66).');
      expect(problems.join('\n')).not.toContain('--netuid is required');
    }
  });

  it('--wallet-name -x: the value that starts with "-" is named, as for --wallet-name=-x; no "--x: unknown flag", no "is required"', async () => {
    const spaced = (await outcome(['--wallet-name', '-x', ...BASE.slice(2)])) as string[];
    const joined = (await outcome(['--wallet-name=-x', ...BASE.slice(2)])) as string[];
    expect(spaced).toEqual(joined);
    expect(spaced).toContain('--wallet-name "-x" starts with \'-\', which a program would read as a flag (it names files and the PM2 process).');
    expect(spaced.join('\n')).not.toMatch(/unknown flag|is required/);
  });

  it('--venv-dir -v2: needs a value, and how to give one that starts with "-"', async () => {
    const problems = (await outcome([...BASE, '--venv-dir', '-v2'])) as string[];
    expect(problems).toEqual([
      "--venv-dir needs a value (e.g. --venv-dir PATH); the next word -v2 starts with '-', so it was read as a flag: give a value that starts with '-' as --venv-dir=-v2.",
    ]);
  });

  it('the shared helper: a known flag next means a forgotten value; a negative number is a value', () => {
    expect(needsValue('to', '<commit sha of REMOTE/BRANCH>', '--dry-run', new Set(['dry-run']))).toBe('--to needs a value (e.g. --to <commit sha of REMOTE/BRANCH>).');
    expect(missingValues(['--netuid', '-5'], ['netuid'])).toEqual([]);
    expect(missingValues(['--netuid'], ['netuid'])).toEqual([{ next: undefined }]);
    expect(missingValues(['--', '--netuid'], ['netuid'])).toEqual([]);
  });
});

describe('folders launch cannot write (trial defect 3)', () => {
  // Root may write anywhere: the folders this user "cannot write" are told by the facts.
  const locked = (dir: string) => (d: string) => !(d === dir || d.startsWith(`${dir}/`));

  it('--venv-dir and --env-out under a folder this user cannot write: both named with the folder it cannot create, with the other problems', async () => {
    const w = world();
    const ro = path.join(w.root, 'ro');
    fs.mkdirSync(ro);
    const problems = (await outcome([...BASE, '--venv-dir', `${ro}/x/venv`, '--env-out', `${ro}/y/v.env`, '--netuid', 'abc'], { writableDir: locked(ro) })) as string[];
    expect(problems).toEqual(
      expect.arrayContaining([
        `--venv-dir ${ro}/x/venv: cannot create ${ro}/x (permission denied: ${ro} is not writable by this user); pass a folder you can write.`,
        `--env-out ${ro}/y/v.env: cannot create ${ro}/y (permission denied: ${ro} is not writable by this user); pass a path in a folder you can write.`,
        '--netuid abc must be a subnet uid, an integer 0-65535.',
      ]),
    );
  });

  it('a complete venv in a folder this user cannot write is only read: accepted', async () => {
    const w = world();
    const venv = path.join(w.root, 'ro', 'venv');
    fs.mkdirSync(path.join(venv, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(venv, 'bin', 'activate'), '');
    const o = (await outcome([...BASE, '--venv-dir', venv], { writableDir: locked(path.join(w.root, 'ro')) })) as LaunchOptions;
    expect(o.venvDir).toBe(venv);
  });

  it('a file where a folder must be: named', () => {
    const root = tempDir('alphacore-launch-usage-');
    fs.writeFileSync(path.join(root, 'file'), '');
    expect(folderProblem('--venv-dir X', path.join(root, 'file', 'venv'), { exists: (f) => fs.existsSync(f) }, 'pass a folder you can write')).toBe(
      `--venv-dir X: ${path.join(root, 'file')} is not a folder; pass a folder you can write.`,
    );
  });

  it('a write that still fails while applying is an OperationError naming what and the fix', async () => {
    const root = tempDir('alphacore-launch-usage-');
    fs.writeFileSync(path.join(root, 'file'), '');
    const failed = writeStep('the validator env file F', 'Pass --env-out elsewhere.', () => fs.promises.mkdir(path.join(root, 'file', 'sub'), { recursive: true }));
    await expect(failed).rejects.toBeInstanceOf(OperationError);
    await expect(failed).rejects.toThrow(/^Could not write the validator env file F: ENOTDIR.*\. Pass --env-out elsewhere\.$/);
    await expect(writeStep('x', 'y', () => Promise.reject(new Error('a bug')))).rejects.not.toBeInstanceOf(OperationError);
  });
});
