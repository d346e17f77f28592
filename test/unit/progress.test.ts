import { describe, expect, it } from 'vitest';
import { makeProgress, progressMode } from '../../src/core/progress.js';
import { stateFilePattern } from '../../src/commands/uninstall/plan.js';

function recorder() {
  const out: string[] = [];
  let t = 0;
  return { out, write: (s: string) => out.push(s), now: () => t, advance: (ms: number) => (t += ms) };
}

describe('progress', () => {
  it('picks live on a terminal, plain on a pipe or TERM=dumb, silent with --json', () => {
    expect(progressMode({ json: false, isTTY: true, env: {} })).toBe('live');
    expect(progressMode({ json: false, isTTY: true, env: { TERM: 'dumb' } })).toBe('plain');
    expect(progressMode({ json: false, isTTY: false, env: {} })).toBe('plain');
    expect(progressMode({ json: true, isTTY: true, env: {} })).toBe('silent');
  });

  it('plain: a start line and a done line with the elapsed time, no control characters', async () => {
    const r = recorder();
    const p = makeProgress('plain', r.write, r.now);
    await p.phase('installing requirements', async () => {
      r.advance(12_345);
      p.write('a line from inside\n');
    });
    expect(r.out.join('')).toBe('installing requirements...\na line from inside\ninstalling requirements: done (12.3s)\n');
  });

  it('live: redraws one line in place, clears it around other output, ends with a final line', async () => {
    const r = recorder();
    const p = makeProgress('live', r.write, r.now);
    await p.phase('starting', async () => {
      r.advance(2_000);
      p.write('other\n');
    });
    const text = r.out.join('');
    expect(text.startsWith('\r\x1b[2K/ starting (0s)')).toBe(true);
    expect(text).toContain('\r\x1b[2Kother\n\r\x1b[2K- starting (2s)');
    expect(text.endsWith('\r\x1b[2K+ starting: done (2.0s)\n')).toBe(true);
  });

  it('a failed phase says so and rethrows; silent mode prints nothing', async () => {
    const r = recorder();
    await expect(makeProgress('plain', r.write, r.now).phase('pip', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(r.out.at(-1)).toBe('pip: failed after 0.0s\n');
    const q = recorder();
    expect(await makeProgress('silent', q.write, q.now).phase('x', async () => 7)).toBe(7);
    expect(q.out).toEqual([]);
  });
});

describe('uninstall: the namespace state files', () => {
  it('matches exactly one namespace\'s files, never a longer namespace sharing its prefix', () => {
    const re = stateFilePattern('a.b');
    for (const f of ['a.b.log', 'a.b.log.2', 'a.b.state.json', 'a.b.state.json.corrupt', 'a.b.history.jsonl', 'a.b.lock', 'a.b.lock.owner-42', 'a.b.round.lock']) expect(re.test(f), f).toBe(true);
    for (const f of ['aXb.log', 'a.b.c.log', 'a.b.log.lock', 'a.b.state.json.state.json', 'a.log']) expect(re.test(f), f).toBe(false);
  });
});
