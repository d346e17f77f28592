import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePlanned } from '../../src/domain/launch/apply.js';
import { tempDir } from '../helpers/tmp.js';

const modeOf = (file: string) => fs.lstatSync(file).mode & 0o7777;

describe('writePlanned (launch writing its env file, config and units)', () => {
  it('created, unchanged, mode-fixed by a rewrite (never a chmod through the path), updated', async () => {
    const root = tempDir('alphacore-planned-');
    const file = { path: path.join(root, 'env', 'test', 'validator-w-h.env'), content: 'A=1\n', mode: 0o600, dirMode: 0o700 };
    expect(await writePlanned(file)).toBe('created');
    expect([modeOf(file.path), modeOf(path.dirname(file.path))]).toEqual([0o600, 0o700]);
    expect(await writePlanned(file)).toBe('unchanged');
    fs.chmodSync(file.path, 0o644);
    const before = fs.statSync(file.path).ino;
    expect(await writePlanned(file)).toBe('mode-fixed');
    expect(modeOf(file.path)).toBe(0o600);
    expect(fs.statSync(file.path).ino).not.toBe(before);
    expect(await writePlanned({ ...file, content: 'A=2\n' })).toBe('updated');
    expect(fs.readFileSync(file.path, 'utf8')).toBe('A=2\n');
    expect(fs.readdirSync(path.dirname(file.path))).toEqual(['validator-w-h.env']);
  });

  it('a symlink at the path to a file with the same content: the link is replaced, its target keeps its mode', async () => {
    const root = tempDir('alphacore-planned-');
    const victim = path.join(root, 'shared.env');
    fs.writeFileSync(victim, 'A=1\n');
    fs.chmodSync(victim, 0o644);
    const file = { path: path.join(root, 'validator.env'), content: 'A=1\n', mode: 0o600, dirMode: 0o700 };
    fs.symlinkSync(victim, file.path);
    expect(await writePlanned(file)).toBe('mode-fixed');
    expect(modeOf(victim)).toBe(0o644);
    expect(fs.lstatSync(file.path).isFile()).toBe(true);
    expect(modeOf(file.path)).toBe(0o600);
  });
});
