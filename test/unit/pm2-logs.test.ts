import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Pm2Process } from '../../src/adapters/pm2.js';
import { formatBytes, logrotateCommands, pm2Logs } from '../../src/domain/pm2-logs.js';
import { tempDir } from '../helpers/tmp.js';

const proc = (name: string, namespace: string, outLog?: string, errorLog?: string, status = 'online'): Pm2Process =>
  ({ name, namespace, pmId: 0, pid: 1, status, restarts: 0, env: {}, outLog, errorLog }) as Pm2Process;

describe("the namespace's PM2 log files", () => {
  it('sums out and error logs, each file once, missing ones skipped; pm2-logrotate counts only when online', () => {
    const dir = tempDir('alphacore-pm2-logs-');
    const [out, err, shared] = ['v.out.log', 'v.err.log', 'api.log'].map((f) => path.join(dir, f));
    fs.writeFileSync(out, 'x'.repeat(300));
    fs.writeFileSync(err, 'x'.repeat(20));
    fs.writeFileSync(shared, 'x'.repeat(5));
    const mine = [proc('validator', 'ns', out, err), proc('api', 'ns', shared, shared), proc('new', 'ns', path.join(dir, 'none.log'), '/dev/null')];
    expect(pm2Logs(mine, mine)).toEqual({ bytes: 325, files: 3, rotated: false });
    expect(pm2Logs(mine, [...mine, proc('pm2-logrotate', 'default')]).rotated).toBe(true);
    expect(pm2Logs(mine, [...mine, proc('pm2-logrotate', 'default', undefined, undefined, 'stopped')]).rotated).toBe(false);
  });

  it('sizes read as an operator reads them; the commands as typed', () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(1.5 * 1024 ** 3)]).toEqual(['512 B', '1.5 KiB', '1.5 GiB']);
    expect(logrotateCommands(true)).toEqual(['pm2 set pm2-logrotate:max_size 50M', 'pm2 set pm2-logrotate:retain 10', 'pm2 set pm2-logrotate:compress true']);
    expect(logrotateCommands(false)[0]).toBe('pm2 install pm2-logrotate');
  });
});
