import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const MODULE = path.join(PROJECT_ROOT, 'dist', 'adapters', 'atomic-write.js');

/** Content big enough that a torn write would show: each writer's own marker on every line. */
const content = (writer: number) => `${Array.from({ length: 4000 }, (_, i) => `line_${i}{writer="${writer}"} ${i}`).join('\n')}\n# END ${writer}\n`;

describe('writeAtomic (the metrics file): many writers in separate processes, one reader', () => {
  it('the reader only ever sees a whole file from one writer; no temp file is left', async () => {
    const dir = tempDir('alphacore-textfile-');
    const file = path.join(dir, 'alphacore_x.prom');
    const writers = 6;
    fs.writeFileSync(file, content(0));
    const script = `
      const { writeAtomic } = await import(${JSON.stringify(MODULE)});
      const [file, writer] = process.argv.slice(1);
      const text = ${content.toString()};
      for (let i = 0; i < 40; i += 1) writeAtomic(file, text(Number(writer)), { mode: 0o644 });
    `;
    const children = Array.from({ length: writers }, (_, w) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, file, String(w + 1)], { stdio: 'inherit' });
        child.on('exit', resolve);
      }),
    );
    let done = false;
    const all = Promise.all(children).then((codes) => {
      done = true;
      return codes;
    });
    const seen = new Set<number>();
    while (!done) {
      const text = fs.readFileSync(file, 'utf8');
      const writer = Number(/# END (\d+)\n$/.exec(text)?.[1]);
      expect(text).toBe(content(writer));
      seen.add(writer);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await all).toEqual(Array(writers).fill(0));
    expect(seen.size).toBeGreaterThan(1);
    expect(fs.readdirSync(dir)).toEqual(['alphacore_x.prom']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
  });
});
