import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UpdateLog } from '../../src/core/log.js';
import { testContext } from '../helpers/context.js';

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-log-')));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("the updater log keeps a subprocess's output readable", () => {
  it('without colour or cursor codes (a PM2 table from the repo script), secrets redacted, text kept', () => {
    const file = path.join(root, 'a.log');
    const log = new UpdateLog(testContext({ HOME: root }, root), false);
    log.attach(file, 1024 * 1024, ['sk-secret']);
    const table = '\x1b[1m\x1b[36mid\x1b[39m\x1b[22m │ \x1b[1mname\x1b[22m\n\x1b[32monline\x1b[39m │ alphacore-validation-api key=sk-secret\x1b[2K\r';
    log.output('bash launch_validation_api.sh', table, '\x1b[33m[PM2] warning\x1b[39m');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toMatch(/\x1b/);
    expect(text).toContain('id │ name');
    expect(text).toContain('online │ alphacore-validation-api key=***');
    expect(text).toContain('[PM2] warning');
    expect(text).not.toContain('sk-secret');
  });
});
