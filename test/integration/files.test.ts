import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileSafely } from '../../src/adapters/files.js';
import { tempDir } from '../helpers/tmp.js';

describe('writeFileSafely', () => {
  it('creates the folder with its mode, the file with its mode whatever the umask, and replaces it whole', async () => {
    const root = tempDir('alphacore-files-');
    const file = path.join(root, 'a', 'b', 'state.json');
    const old = process.umask(0o077);
    try {
      await writeFileSafely(file, 'one\n', 0o644, 0o750);
    } finally {
      process.umask(old);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('one\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700 & 0o750); // created under umask 077
    fs.chmodSync(file, 0o666);
    const before = fs.statSync(file).ino;
    await writeFileSafely(file, 'two\n', 0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe('two\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(file).ino).not.toBe(before); // a new file renamed over, never written in place
    expect(fs.readdirSync(path.dirname(file))).toEqual(['state.json']);
  });

  it('a failed write leaves the old file and no temp file', async () => {
    const root = tempDir('alphacore-files-');
    const file = path.join(root, 'state.json');
    fs.writeFileSync(file, 'old\n');
    // A directory where the file should be: the rename fails.
    const blocked = path.join(root, 'dir-in-the-way');
    fs.mkdirSync(path.join(blocked, 'x'), { recursive: true });
    await expect(writeFileSafely(blocked, 'new\n', 0o600)).rejects.toThrow();
    expect(fs.readdirSync(root).sort()).toEqual(['dir-in-the-way', 'state.json']);
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
  });
});
