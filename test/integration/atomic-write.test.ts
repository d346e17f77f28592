import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempNameFor, writeAtomic } from '../../src/adapters/atomic-write.js';
import { tempDir } from '../helpers/tmp.js';

/** A random source that gives these names in turn (the temp name an attacker predicted). */
const names = (...list: string[]) => {
  let i = 0;
  return () => list[Math.min(i++, list.length - 1)]!;
};

const modeOf = (file: string) => fs.lstatSync(file).mode & 0o7777;

describe('writeAtomic against the real filesystem', () => {
  it('creates the folder with its mode, the file with its mode whatever the umask, and replaces it whole', () => {
    const root = tempDir('alphacore-atomic-');
    const file = path.join(root, 'a', 'b', 'state.json');
    const old = process.umask(0o077);
    try {
      writeAtomic(file, 'one\n', { mode: 0o644, dirMode: 0o750, durable: true });
    } finally {
      process.umask(old);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('one\n');
    expect(modeOf(file)).toBe(0o644);
    expect(modeOf(path.dirname(file))).toBe(0o700 & 0o750); // created under umask 077
    fs.chmodSync(file, 0o666);
    const before = fs.statSync(file).ino;
    writeAtomic(file, Buffer.from('two\n'), { mode: 0o600 });
    expect(fs.readFileSync(file, 'utf8')).toBe('two\n');
    expect(modeOf(file)).toBe(0o600);
    expect(fs.statSync(file).ino).not.toBe(before); // a new file renamed over, never written in place
    expect(fs.readdirSync(path.dirname(file))).toEqual(['state.json']);
  });

  it('without dirMode the folder must exist: nothing is created', () => {
    const root = tempDir('alphacore-atomic-');
    expect(() => writeAtomic(path.join(root, 'missing', 'x.prom'), 'x', { mode: 0o644 })).toThrow(/ENOENT/);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('a target that is a directory: the error is thrown, no temp file is left, nothing else changes', () => {
    const root = tempDir('alphacore-atomic-');
    fs.writeFileSync(path.join(root, 'state.json'), 'old\n');
    const blocked = path.join(root, 'dir-in-the-way');
    fs.mkdirSync(path.join(blocked, 'x'), { recursive: true });
    expect(() => writeAtomic(blocked, 'new\n', { mode: 0o600, durable: true })).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(fs.readdirSync(root).sort()).toEqual(['dir-in-the-way', 'state.json']);
    expect(fs.readdirSync(blocked)).toEqual(['x']);
    expect(fs.readFileSync(path.join(root, 'state.json'), 'utf8')).toBe('old\n');
  });

  it('a symlink planted at the predicted temp name is neither followed nor removed; another name is used', () => {
    const root = tempDir('alphacore-atomic-');
    const victim = path.join(root, 'victim');
    fs.writeFileSync(victim, 'secret\n', { mode: 0o600 });
    fs.chmodSync(victim, 0o600);
    const shared = path.join(root, 'shared');
    fs.mkdirSync(shared);
    const file = path.join(shared, 'alphacore_x.prom');
    const planted = tempNameFor(file, 'predicted');
    fs.symlinkSync(victim, planted);
    writeAtomic(file, 'metric 1\n', { mode: 0o644, random: names('predicted', 'fresh') });
    expect(fs.readFileSync(victim, 'utf8')).toBe('secret\n');
    expect(modeOf(victim)).toBe(0o600);
    expect(fs.readlinkSync(planted)).toBe(victim);
    expect(fs.readFileSync(file, 'utf8')).toBe('metric 1\n');
    expect(modeOf(file)).toBe(0o644);
    expect(fs.readdirSync(shared).sort()).toEqual([path.basename(planted), 'alphacore_x.prom'].sort());
  });

  it('every name taken: EEXIST after a few tries, and nothing planted is touched', () => {
    const root = tempDir('alphacore-atomic-');
    const file = path.join(root, 'state.json');
    const planted = tempNameFor(file, 'same');
    fs.writeFileSync(planted, 'theirs\n');
    expect(() => writeAtomic(file, 'ours\n', { mode: 0o600, random: () => 'same' })).toThrow(/EEXIST/);
    expect(fs.readFileSync(planted, 'utf8')).toBe('theirs\n');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a symlink at the target is replaced by our file; what it pointed to is untouched', () => {
    const root = tempDir('alphacore-atomic-');
    const victim = path.join(root, 'victim');
    fs.writeFileSync(victim, 'secret\n', { mode: 0o600 });
    const file = path.join(root, 'alphacore_x.prom');
    fs.symlinkSync(victim, file);
    writeAtomic(file, 'metric 1\n', { mode: 0o644 });
    expect(fs.lstatSync(file).isFile()).toBe(true);
    expect(fs.readFileSync(victim, 'utf8')).toBe('secret\n');
    expect(modeOf(victim)).toBe(0o600);
  });

  it.skipIf(process.getuid?.() !== 0)('as root, gives the file to its owner on the descriptor, mode intact', () => {
    const root = tempDir('alphacore-atomic-');
    const file = path.join(root, 'validator.env');
    writeAtomic(file, 'A=1\n', { mode: 0o640, owner: { uid: 4242, gid: 4343 }, durable: true });
    const stat = fs.statSync(file);
    expect([stat.uid, stat.gid, stat.mode & 0o7777]).toEqual([4242, 4343, 0o640]);
  });
});
