import { execa, type ResultPromise } from 'execa';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAtomic } from '../../src/adapters/atomic-write.js';
import { tempDir } from '../helpers/tmp.js';
import { stage } from '../helpers/user.js';

/**
 * The atomic writer against a second, real local account (DESIGN.md §5.7): METRICS_DIR
 * is often node_exporter's shared directory, sticky and world-writable, where another
 * user watches for our temp files and races to put a symlink to one of our private
 * files in their place. The account is this file's own, made here and removed after.
 */
const root = process.getuid?.() === 0;
const inotify = (() => {
  try {
    execFileSync('inotifywait', ['--help'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    return (error as { status?: number }).status !== undefined; // --help exits 1 on some versions
  }
})();
const skip = !root ? 'not running as root: cannot create the second local account the attack needs' : !inotify ? 'inotifywait is not installed (Debian package inotify-tools)' : undefined;
if (skip) console.warn(`atomic-write-users.test.ts skipped: ${skip}`);

const account = { name: `acaw${crypto.randomBytes(3).toString('hex')}`, uid: 0, gid: 0 };

beforeAll(async () => {
  if (skip) return;
  await execa('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', account.name]);
  account.uid = Number(execFileSync('id', ['-u', account.name], { encoding: 'utf8' }).trim());
  account.gid = Number(execFileSync('id', ['-g', account.name], { encoding: 'utf8' }).trim());
});

afterAll(async () => {
  if (!skip) await execa('userdel', [account.name], { reject: false });
});

/** A directory like node_exporter's textfile one at its loosest: mode 1777, owned by root. */
function stickyShared(): string {
  const dir = path.join(tempDir('alphacore-atomic-users-'), 'textfile');
  fs.mkdirSync(dir);
  fs.chmodSync(path.dirname(dir), 0o755);
  fs.chmodSync(dir, 0o1777);
  return dir;
}

/**
 * The other user: on every file created in `dir` that looks like a temp file, plant a
 * symlink to `victim` under that name (rename over it), and try the same on the target.
 * Prints one line per attempt; exits (ending its watch) when `.done` appears.
 */
const ATTACKER = `
dir=$1 victim=$2 target=$3
coproc WATCH { exec inotifywait -m -e create --format '%f' "$dir"; }
while IFS= read -r name <&"\${WATCH[0]}"; do
  if [ "$name" = .done ]; then kill "$WATCH_PID"; echo done; exit 0; fi
  case "$name" in .*.tmp) ;; *) continue ;; esac
  ln -sfn "$victim" "$dir/.swap.$$"
  if mv -fT "$dir/.swap.$$" "$dir/$name" 2>/dev/null; then echo "swapped $name"; else echo "refused $name"; fi
  if ln -sfn "$victim" "$dir/$target" 2>/dev/null; then echo "target-swapped"; else echo "target-refused"; fi
done
`;

describe.skipIf(skip !== undefined)('writeAtomic with another local user in the directory', () => {
  it('in a sticky world-writable dir, a racing user never gets a private file of ours chmod-ed or written', async () => {
    const dir = stickyShared();
    const victim = path.join(tempDir('alphacore-atomic-victim-'), 'wallet-password');
    fs.writeFileSync(victim, 'secret\n', { mode: 0o600 });
    const target = 'alphacore_x.prom';
    writeAtomic(path.join(dir, target), 'metric 0\n', { mode: 0o644 });

    const attacker: ResultPromise = execa('bash', ['-c', ATTACKER, 'attacker', dir, victim, target], {
      uid: account.uid,
      gid: account.gid,
      env: { PATH: '/usr/bin:/bin' },
      extendEnv: false,
      reject: false,
      timeout: 120_000,
    });
    // Writes start only once the watch is in place, so every temp file is seen.
    await new Promise<void>((resolve, reject) => {
      attacker.stderr!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Watches established')) resolve();
      });
      attacker.on('exit', () => reject(new Error('the attacker exited before watching')));
    });
    // Large, durable writes keep each temp file in place for a while: the window the attacker aims at.
    const writes = 60;
    const body = `${'# padding\n'.repeat(400_000)}`;
    for (let i = 1; i <= writes; i += 1) {
      writeAtomic(path.join(dir, target), `${body}metric ${i}\n`, { mode: 0o644, durable: true });
      await new Promise((resolve) => setImmediate(resolve));
    }
    fs.writeFileSync(path.join(dir, '.done'), '');
    const result = await attacker;
    const lines = String(result.stdout).split('\n');
    const count = (prefix: string) => lines.filter((l) => l.startsWith(prefix)).length;
    console.log(`attacker: ${count('refused')} swaps refused, ${count('swapped')} planted at a name already renamed away, ${count('target-refused')} target swaps refused, ${count('target-swapped')} succeeded`);

    expect(lines).toContain('done');
    expect(count('refused') + count('swapped')).toBe(writes); // it raced on every temp file
    expect(fs.readFileSync(victim, 'utf8')).toBe('secret\n');
    const v = fs.statSync(victim);
    expect([v.mode & 0o7777, v.uid]).toEqual([0o600, 0]);
    const t = fs.lstatSync(path.join(dir, target));
    expect([t.isFile(), t.mode & 0o7777, t.uid]).toEqual([true, 0o644, 0]);
    expect(fs.readFileSync(path.join(dir, target), 'utf8')).toBe(`${body}metric ${writes}\n`);
    expect(count('target-swapped')).toBe(0);
    // What is left of ours is the target alone (the attacker's own links may remain).
    const ours = fs.readdirSync(dir).filter((n) => fs.lstatSync(path.join(dir, n)).uid === 0 && n !== '.done');
    expect(ours).toEqual([target]);
  });

  it('as a user who cannot write the directory: EACCES, and no temp file is left', async () => {
    const s = stage();
    if (!s.ready) {
      console.warn(`skipped: ${s.skip}`);
      return;
    }
    const dir = path.join(tempDir('alphacore-atomic-ro-'), 'readonly');
    fs.mkdirSync(dir);
    fs.chmodSync(path.dirname(dir), 0o755);
    fs.writeFileSync(path.join(dir, 'state.json'), 'old\n', { mode: 0o644 });
    fs.chownSync(dir, account.uid, account.gid);
    fs.chmodSync(dir, 0o555);
    const module = path.join(s.ready.packageRoot, 'dist', 'adapters', 'atomic-write.js');
    const script = `const { writeAtomic } = await import(${JSON.stringify(module)});
      try { writeAtomic(process.argv[1], 'new\\n', { mode: 0o600, durable: true }); console.log('written'); }
      catch (error) { console.log(error.code); }`;
    const result = await execa(process.execPath, ['--input-type=module', '-e', script, path.join(dir, 'state.json')], {
      uid: account.uid,
      gid: account.gid,
      env: { PATH: '/usr/bin:/bin', HOME: os.tmpdir() },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    expect(result.stdout.trim()).toBe('EACCES');
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
    expect(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).toBe('old\n');
  });
});
