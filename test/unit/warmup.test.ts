import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeWarmup, lineTimeMs, parseWarmupLog, subnetVersion } from '../../src/domain/warmup.js';
import { observeWarmup, pm2ProcessStartMs, readTail } from '../../src/domain/warmup-read.js';
import { tempDir } from '../helpers/tmp.js';

// Lines as the validator writes them through bittensor's logger, with PM2's
// log_date_format prefix ('YYYY-MM-DD HH:mm:ss Z', scripts/validator/process/pm2.config.js).
const pm2 = (time: string, text: string) => `${time} +00:00: ${time}.123 |       INFO       | bittensor:validator.py:773 | ${text}`;
const started = (t: string, m = 10) => pm2(t, `[WEIGHTS] Emitter started (offset=0, min_tasks=${m}, poll=12.0s)`);
const check = (t: string, e: number, k: number, m = 10) => pm2(t, `[WEIGHTS] Epoch check: epoch=${e} block_in_epoch=3 offset=0 tasks=${k}/${m}`);
const emitted = (t: string, e: number) => pm2(t, `✅ [WEIGHTS] Emitted weights on chain (epoch=${e}, block_in_epoch=17)`);
const noise = (t: string) => pm2(t, '[WEIGHTS] Weights age OK: last_set=100 current=200 delta=100');
const log = '/srv/AlphaCore/logs/pm2/v.out.log';
const at = (iso: string) => new Date(`${iso.replace(' ', 'T')}Z`).toISOString();

describe('the warm-up read from the validator log (pure)', () => {
  it("reads PM2's date prefix, with or without a zone colon; none without a zone", () => {
    expect(lineTimeMs('2026-12-07 02:44:36 +00:00: x')).toBe(Date.parse('2026-12-07T02:44:36Z'));
    expect(lineTimeMs('2026-12-07 04:44:36 +0200: x')).toBe(Date.parse('2026-12-07T02:44:36Z'));
    expect(lineTimeMs('2026-12-07T02:44:36.500Z: x')).toBe(Date.parse('2026-12-07T02:44:36.500Z'));
    expect(lineTimeMs('2026-12-07 02:44:36: x')).toBeUndefined();
    expect(lineTimeMs('[WEIGHTS] Emitter started')).toBeUndefined();
  });

  it('warming up: tasks K of M since the last start; an emission before that start does not count', () => {
    const text = [
      started('2026-12-06 10:00:00'),
      check('2026-12-06 10:00:05', 100, 0),
      emitted('2026-12-06 22:00:00', 110),
      started('2026-12-07 00:00:00'),
      noise('2026-12-07 00:00:01'),
      check('2026-12-07 00:00:05', 112, 0),
      check('2026-12-07 01:12:05', 113, 1),
      check('2026-12-07 02:24:05', 114, 2),
      '',
    ].join('\n');
    const parsed = parseWarmupLog(text);
    expect(judgeWarmup(parsed, { log })).toEqual({
      log,
      state: 'warming-up',
      tasksDone: 2,
      tasksNeeded: 10,
      lastEmitEpoch: 110,
      lastEmitAt: at('2026-12-06 22:00:00'),
      startedAt: at('2026-12-07 00:00:00'),
    });
  });

  it('emitting: the last epoch with weights and when; a start just now with no epoch check yet is 0/M', () => {
    const warm = [started('2026-12-07 00:00:00', 3), check('2026-12-07 03:36:00', 115, 3, 3), emitted('2026-12-07 03:36:12', 115)].join('\n');
    expect(judgeWarmup(parseWarmupLog(warm), { log })).toMatchObject({ state: 'emitting', tasksDone: 3, tasksNeeded: 3, lastEmitEpoch: 115, lastEmitAt: at('2026-12-07 03:36:12') });
    const fresh = `${warm}\n${started('2026-12-07 04:00:00', 3)}\n`;
    expect(judgeWarmup(parseWarmupLog(fresh), { log })).toMatchObject({ state: 'warming-up', tasksDone: 0, tasksNeeded: 3, lastEmitEpoch: 115, startedAt: at('2026-12-07 04:00:00') });
  });

  it("a tail that no longer reaches the start line: emissions in it are since the start; PM2's start time stands in", () => {
    const text = [check('2026-12-07 03:36:00', 115, 14), emitted('2026-12-07 03:36:12', 115)].join('\n');
    expect(judgeWarmup(parseWarmupLog(text), { log, processStartMs: Date.parse('2026-12-06T12:00:00Z') })).toMatchObject({ state: 'emitting', startedAt: '2026-12-06T12:00:00.000Z', tasksDone: 14 });
  });

  it('without dates (no log_date_format): the state still, the times unknown', () => {
    const text = ['[WEIGHTS] Emitter started (offset=0, min_tasks=10, poll=12.0s)', '✅ [WEIGHTS] Emitted weights on chain (epoch=7, block_in_epoch=1)'].join('\n');
    const view = judgeWarmup(parseWarmupLog(text), { log });
    expect(view).toMatchObject({ state: 'emitting', lastEmitEpoch: 7 });
    expect(view.lastEmitAt).toBeUndefined();
    expect(view.startedAt).toBeUndefined();
  });

  it('unknown, with why: no log, or no emitter line in it; burn-only weights are not real weights', () => {
    expect(judgeWarmup(undefined, { log, problem: 'no validator log at x' })).toEqual({ log, state: 'unknown', why: 'no validator log at x' });
    const burn = [pm2('2026-12-07 00:00:00', '✅ [WEIGHTS] Burn-only allocation (uid=0) reason=stale weights 4100 blocks'), noise('2026-12-07 00:00:01')].join('\n');
    expect(judgeWarmup(parseWarmupLog(burn), { log })).toMatchObject({ state: 'unknown', why: expect.stringMatching(/no \[WEIGHTS\] emitter line/) });
  });

  it('__version__ of subnet/__init__.py', () => {
    expect(subnetVersion('import sys\n\n__version__ = "1.0.0"\n__least_acceptable_version__ = "1.0.0"\n')).toBe('1.0.0');
    expect(subnetVersion("__version__ = '2.1.3'  # bump\n")).toBe('2.1.3');
    expect(subnetVersion('version = "1"\n')).toBeUndefined();
  });
});

describe('reading the log (a real file)', () => {
  it('reads only the tail, drops the cut line, never follows a symlink', () => {
    const dir = tempDir('alphacore-warmup-read-');
    const file = path.join(dir, 'v.out.log');
    const filler = `${pm2('2026-12-06 00:00:00', 'x'.repeat(200))}\n`.repeat(2000);
    fs.writeFileSync(file, `${started('2026-12-06 00:00:00', 99)}\n${filler}${started('2026-12-07 00:00:00', 4)}\n${check('2026-12-07 00:00:01', 1, 2, 4)}\n`);
    const tail = readTail(file, 64 * 1024);
    expect('text' in tail && tail.text.length).toBeLessThanOrEqual(64 * 1024);
    expect('text' in tail && tail.text.split('\n')[0]!.startsWith('2026-12-06 00:00:00 +00:00: ')).toBe(true);
    expect(observeWarmup({ log: file })).toMatchObject({ state: 'warming-up', tasksDone: 2, tasksNeeded: 4 });
    const link = path.join(dir, 'link.log');
    fs.symlinkSync(file, link);
    expect(observeWarmup({ log: link })).toMatchObject({ state: 'unknown', why: expect.stringMatching(/symlink/) });
    expect(observeWarmup({ log: path.join(dir, 'none.log') })).toMatchObject({ state: 'unknown', why: expect.stringMatching(/no validator log/) });
  });

  it("the start from PM2's pid file of the process when the log's tail no longer has the start line", () => {
    const dir = tempDir('alphacore-warmup-pids-');
    const home = path.join(dir, 'pm2');
    fs.mkdirSync(path.join(home, 'pids'), { recursive: true });
    const pid = path.join(home, 'pids', 'validator-hot-test-3.pid');
    fs.writeFileSync(pid, '4242');
    fs.writeFileSync(path.join(home, 'pids', 'validator-hot-test-extra-4.pid'), '1');
    const started = new Date('2026-12-06T12:00:00Z');
    fs.utimesSync(pid, started, started);
    fs.utimesSync(path.join(home, 'pids', 'validator-hot-test-extra-4.pid'), new Date(), new Date());
    expect(pm2ProcessStartMs(home, 'validator-hot-test')).toBe(started.getTime());
    expect(pm2ProcessStartMs(home, 'other')).toBeUndefined();
    const log = path.join(dir, 'v.out.log');
    fs.writeFileSync(log, `${check('2026-12-07 03:36:00', 115, 14)}\n${emitted('2026-12-07 03:36:12', 115)}\n`);
    expect(observeWarmup({ log, pm2Home: home, processName: 'validator-hot-test' })).toMatchObject({ state: 'emitting', startedAt: started.toISOString() });
  });
});
