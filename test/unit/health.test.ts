import { describe, expect, it } from 'vitest';
import type { HttpResult } from '../../src/adapters/http.js';
import type { Pm2Process } from '../../src/adapters/pm2.js';
import type { PortHolder } from '../../src/adapters/proc-net.js';
import { apiPort, waitHealthy, type HealthWatch } from '../../src/domain/health.js';

// The judgement of §5.6 on data: PM2's list, who holds the port and what /health says
// are given per poll (the real /proc and HTTP are covered by test/integration/proc-net
// and the e2e tests). The clock advances by one second per poll.

const API = { name: 'api', api: { endpoint: 'http://127.0.0.1:18888', port: 18888 } };
const VALIDATOR = { name: 'validator' };
const proc = (name: string, over: Partial<Pm2Process> = {}): Pm2Process => ({ name, pmId: 0, namespace: 'ns', status: 'online', pid: 100, restarts: 0, ...over });

interface Poll {
  procs?: Pm2Process[] | 'silent';
  holder?: PortHolder;
  health?: HttpResult;
}

function watch(polls: Poll[], over: Partial<HealthWatch> = {}): HealthWatch & { asked: number } {
  let clock = 0;
  let i = -1;
  const current = () => polls[Math.min(i, polls.length - 1)]!;
  const w = {
    asked: 0,
    namespace: 'ns',
    now: () => clock,
    stableMs: 3000,
    timeoutMs: 10_000,
    pm2: {
      list: async () => {
        i += 1;
        w.asked += 1;
        clock += 1000;
        const p = current().procs ?? [proc('api'), proc('validator')];
        if (p === 'silent') throw new Error('no answer from the daemon');
        return p;
      },
      pollMs: async () => 0,
    },
    holder: () => current().holder ?? ({ kind: 'ours', pid: 100 } as PortHolder),
    probe: async () => current().health ?? ({ kind: 'response', status: 200, body: '{}' } as HttpResult),
    ...over,
  };
  return w;
}

describe('waitHealthy: ours, stable, answering (DESIGN.md §5.6)', () => {
  it('both services online, the port ours, /health 200, for HEALTH_STABLE: healthy', async () => {
    const r = await waitHealthy(watch([{}]), [API, VALIDATOR]);
    expect(r).toMatchObject({ ok: true, onlineAt: { api: 1000, validator: 1000 } });
  });

  it('a port held by another process fails at once with api-port-taken, naming the holder', async () => {
    const holder: PortHolder = { kind: 'other', pid: 4242, uid: 1001, user: 'mallory' };
    const w = watch([{ holder: { kind: 'free' } }, { holder }]);
    const r = await waitHealthy(w, [API, VALIDATOR]);
    expect(r).toMatchObject({ ok: false, fault: 'api-port-taken', service: 'api', holder });
    expect(r.ok ? '' : r.detail).toContain('port 18888 is held by pid 4242 (user mallory)');
    expect(w.asked).toBe(3); // at once: the poll that saw it, and PM2 asked again (a restart is not a stranger)
  });

  it('another user\'s holder whose pid /proc hides is named by its user', async () => {
    const r = await waitHealthy(watch([{ holder: { kind: 'other', uid: 1001, user: 'mallory' } }]), [API]);
    expect(r.ok ? '' : r.detail).toContain('held by a process of user mallory (its pid is not visible to this user)');
  });

  it('an API that answers and then crashes inside HEALTH_STABLE is a crash, like a validator', async () => {
    const r = await waitHealthy(watch([{}, { procs: [proc('api', { restarts: 1 }), proc('validator')] }]), [API, VALIDATOR]);
    expect(r).toMatchObject({ ok: false, fault: 'crashed', service: 'api' });
  });

  it('PM2 restarting the API between its list and the look at the port: the new process is not a stranger, the restart is a crash', async () => {
    // The list still shows the old pid 100; the port is already held by PM2's new process, 200.
    const restarted: PortHolder = { kind: 'other', pid: 200, uid: 1000, user: 'validator' };
    const polls: Poll[] = [{}, { holder: restarted }, { procs: [proc('api', { pid: 200, restarts: 1 }), proc('validator')] }];
    const w = watch(polls, { holder: (_port, owner) => (owner === 200 ? { kind: 'ours', pid: 200 } : w.asked >= 2 ? restarted : { kind: 'ours', pid: 100 }) });
    expect(await waitHealthy(w, [API, VALIDATOR])).toMatchObject({ ok: false, fault: 'crashed', service: 'api' });
    // PM2 asked again shows the same pid: the holder is a stranger.
    const same = watch([{}, { holder: restarted }]);
    expect(await waitHealthy(same, [API, VALIDATOR])).toMatchObject({ ok: false, fault: 'api-port-taken', holder: restarted });
  });

  it('an API in a crash loop because another process holds its port is api-port-taken, not a crash of the release', async () => {
    const holder: PortHolder = { kind: 'other', pid: 4242, uid: 65534, user: 'nobody' };
    const looping = { procs: [proc('api', { restarts: 1, status: 'waiting restart', pid: 0 }), proc('validator')], holder };
    expect(await waitHealthy(watch([{}, looping]), [API, VALIDATOR])).toMatchObject({ ok: false, fault: 'api-port-taken', service: 'api', holder });
    const errored = { procs: [proc('api', { status: 'errored', pid: 0 })], holder };
    expect(await waitHealthy(watch([errored]), [API])).toMatchObject({ ok: false, fault: 'api-port-taken' });
    // Its port free (or its own): the crash is the release's.
    expect(await waitHealthy(watch([{ ...errored, holder: { kind: 'free' } }]), [API])).toMatchObject({ ok: false, fault: 'crashed' });
  });

  it('an API that stops answering is not stable: its clock starts again, and at the deadline it is api-not-answering', async () => {
    const down: Poll = { health: { kind: 'error', message: 'ECONNREFUSED' } };
    const r = await waitHealthy(watch([{}, {}, down]), [API]);
    expect(r).toMatchObject({ ok: false, fault: 'api-not-answering', service: 'api' });
    expect(r.ok ? '' : r.detail).toContain('/health did not answer (ECONNREFUSED)');
  });

  it('an older API without /health answers on /validate/active', async () => {
    const asked: string[] = [];
    const probe = async (url: string): Promise<HttpResult> => {
      asked.push(url);
      return url.endsWith('/health') ? { kind: 'response', status: 404, body: '' } : { kind: 'response', status: 200, body: '{"active":[]}' };
    };
    expect(await waitHealthy(watch([{}], { probe }), [API])).toMatchObject({ ok: true });
    expect(asked.slice(0, 2)).toEqual(['http://127.0.0.1:18888/health', 'http://127.0.0.1:18888/validate/active']);
  });

  it('a PM2 daemon that never answers is pm2-silent (a machine fault), not the release\'s', async () => {
    expect(await waitHealthy(watch([{ procs: 'silent' }]), [VALIDATOR])).toMatchObject({ ok: false, fault: 'pm2-silent' });
  });

  it('a signal ends the wait at once with fault interrupted; stableMs 0 is healthy at the first good look', async () => {
    const w = watch([{}], { interrupted: () => 'SIGINT' });
    expect(await waitHealthy(w, [API, VALIDATOR])).toMatchObject({ ok: false, fault: 'interrupted', detail: expect.stringContaining('interrupted by SIGINT') });
    expect(w.asked).toBe(0);
    const once = watch([{}], { stableMs: 0 });
    expect(await waitHealthy(once, [API])).toMatchObject({ ok: true });
    expect(once.asked).toBe(1);
  });

  it('a process seen running (or started by the caller) that PM2 no longer has vanished; one never there is missing', async () => {
    // Seen online at the first poll, gone at the second (pm2 kill deletes the processes before the daemon exits).
    expect(await waitHealthy(watch([{}, { procs: [proc('validator')] }]), [API, VALIDATOR])).toMatchObject({ ok: false, fault: 'vanished', service: 'api' });
    expect(await waitHealthy({ ...watch([{ procs: [proc('validator')] }]), started: ['api', 'validator'] }, [API, VALIDATOR])).toMatchObject({ ok: false, fault: 'vanished' });
    // Started by a script, then every entry PM2 listed before is gone too (pm2 kill wipes the stopped validator's): vanished.
    expect(await waitHealthy({ ...watch([{ procs: [] }]), present: ['validator'] }, [API])).toMatchObject({ ok: false, fault: 'vanished' });
    expect(await waitHealthy({ ...watch([{ procs: [proc('validator', { status: 'stopped' })] }]), present: ['validator'] }, [API])).toMatchObject({ ok: false, fault: 'missing' });
    // Never there (a release that renamed its process): the release's.
    expect(await waitHealthy(watch([{ procs: [proc('validator')] }]), [API, VALIDATOR])).toMatchObject({ ok: false, fault: 'missing' });
  });

  it('an API that does not answer because its process is stopped (SIGSTOP) is process-stopped at the deadline, not the release\'s api-not-answering', async () => {
    const silent = { health: { kind: 'error', message: 'timeout' } as HttpResult };
    const stopped = await waitHealthy({ ...watch([{}, silent]), stopped: (pid) => pid === 100 }, [API, VALIDATOR]);
    expect(stopped).toMatchObject({ ok: false, fault: 'process-stopped', service: 'api' });
    expect(stopped.ok ? '' : stopped.detail).toContain('stopped by a signal');
    expect(await waitHealthy({ ...watch([{}, silent]), stopped: () => false }, [API, VALIDATOR])).toMatchObject({ ok: false, fault: 'api-not-answering' });
  });

  it('a process left running with restarts keeps its baseline; a missing or errored process fails at once', async () => {
    expect(await waitHealthy(watch([{ procs: [proc('validator', { restarts: 4 })] }], { baselineRestarts: { validator: 4 } }), [VALIDATOR])).toMatchObject({ ok: true });
    expect(await waitHealthy(watch([{ procs: [] }]), [VALIDATOR])).toMatchObject({ ok: false, fault: 'missing' });
    expect(await waitHealthy(watch([{ procs: [proc('validator', { status: 'errored' })] }]), [VALIDATOR])).toMatchObject({ ok: false, fault: 'crashed' });
  });

  it('apiPort: VALIDATION_HTTP_PORT, else a local endpoint\'s port, else the repo script\'s 8888', () => {
    expect(apiPort('18711', 'http://127.0.0.1:9999')).toBe(18711);
    expect(apiPort(undefined, 'http://localhost:9999')).toBe(9999);
    expect(apiPort(undefined, 'https://api.example.org')).toBe(8888);
  });
});
