import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApi } from '../helpers/api.js';
import { git } from '../helpers/repo.js';
import { updateSetup } from '../helpers/update-setup.js';

describe('update: notifications and the deferral watch', () => {
  it('POSTs a failure to the webhook once per episode, with text, content and the structured part; the URL never appears in output', async () => {
    const hook = await startApi();
    const url = `${hook.url}/hooks/secret-token-123`;
    const s = await updateSetup({ config: [`NOTIFY_WEBHOOK_URL=${url}`] });
    git(s.deploy, 'remote', 'set-url', 'origin', path.join(s.root, 'gone.git'));
    const first = await s.run(['--json']);
    expect(first.result).toMatchObject({ outcome: 'failed', reason: 'fetch-failed' });
    expect(hook.requests).toHaveLength(1);
    const body = JSON.parse(hook.requests[0]!.body);
    expect(hook.requests[0]).toMatchObject({ method: 'POST', url: '/hooks/secret-token-123' });
    expect(body.text).toContain('failed (fetch-failed)');
    expect(body.content).toBe(body.text);
    expect(body.alphacore).toMatchObject({ namespace: 'alphacore', outcome: 'failed', reason: 'fetch-failed' });
    // The same failure again: not sent again.
    await s.run();
    expect(hook.requests).toHaveLength(1);
    for (const text of [first.stdout, first.stderr, fs.readFileSync(s.logFile, 'utf8')]) expect(text).not.toContain('secret-token-123');
  });

  it('a hook that never answers is given up on (5 s) and does not change the outcome', async () => {
    const hook = await startApi({ hang: true });
    const s = await updateSetup({ config: [`NOTIFY_WEBHOOK_URL=${hook.url}/hang`] });
    git(s.deploy, 'remote', 'set-url', 'origin', path.join(s.root, 'gone.git'));
    const r = await s.run(['--json']);
    expect(r.exitCode).toBe(1);
    expect(r.result).toMatchObject({ outcome: 'failed', reason: 'fetch-failed' });
    expect(r.stdout).toContain('notification not delivered: no answer within 5000 ms');
  });

  it('a hook answering 500 is logged, the outcome stays', async () => {
    const hook = await startApi({ status: 500, body: 'oops' });
    const s = await updateSetup({ config: [`NOTIFY_WEBHOOK_URL=${hook.url}/x`] });
    git(s.deploy, 'remote', 'set-url', 'origin', path.join(s.root, 'gone.git'));
    const r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'failed' });
    expect(r.stdout).toContain('the webhook answered HTTP 500');
  });

  it('warns and notifies once when updates have been deferred longer than MAX_DEFERRAL', async () => {
    const hook = await startApi();
    const s = await updateSetup({ config: [`NOTIFY_WEBHOOK_URL=${hook.url}/d`, 'MAX_DEFERRAL=1h'] });
    s.origin.push({ 'src/app.py': 'v2\n' });
    fs.writeFileSync(s.roundLock, JSON.stringify({ round_id: 1, block: 1, ts: Date.now() / 1000, pid: process.pid }));
    // First deferral: the episode starts, nothing to say yet.
    let r = await s.run(['--json']);
    expect(r.result).toMatchObject({ outcome: 'deferred', reason: 'round-active' });
    expect(hook.requests).toHaveLength(0);
    // Pretend the episode started 2 hours ago.
    const state = JSON.parse(fs.readFileSync(s.stateFile, 'utf8'));
    state.deferral.since = new Date(Date.now() - 2 * 3_600_000).toISOString();
    fs.writeFileSync(s.stateFile, JSON.stringify(state));
    r = await s.run();
    expect(r.stdout).toMatch(/WARNING: updates have been deferred for 2h/);
    expect(hook.requests).toHaveLength(1);
    expect(JSON.parse(hook.requests[0]!.body).alphacore).toMatchObject({ outcome: 'deferred-long', reason: 'round-active' });
    r = await s.run();
    expect(r.stdout).toMatch(/WARNING: updates have been deferred/);
    expect(hook.requests).toHaveLength(1);
    // The episode ends when a run is not deferred (a dry run records nothing: a real run at HEAD).
    fs.rmSync(s.roundLock);
    await s.run(['--to', git(s.deploy, 'rev-parse', 'HEAD')]);
    expect(JSON.parse(fs.readFileSync(s.stateFile, 'utf8')).deferral).toBeUndefined();
  });
});
