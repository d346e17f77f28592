import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedPm2, type IsolatedPm2 } from '../helpers/pm2.js';
import { script, statusSetup } from '../helpers/status-setup.js';
import { until } from '../helpers/poll.js';

// status against the real pm2 of devDependencies with an isolated PM2_HOME (one daemon
// for the file: starting PM2 takes seconds), and against a PM2_BIN that hangs or fails.
let root: string;
let daemon: IsolatedPm2;
let services: { ok: string; crash: string };

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alphacore-status-pm2-')));
  daemon = isolatedPm2(root);
  services = { ok: path.join(root, 'ok.cjs'), crash: path.join(root, 'crash.cjs') };
  fs.writeFileSync(services.ok, 'setInterval(() => {}, 60_000);\n');
  fs.writeFileSync(services.crash, 'process.exit(1);\n');
  daemon.pm2('ping'); // starts the daemon
});

afterAll(() => {
  daemon.kill(); // by the pid in its PM2_HOME: only the daemon this file started
  fs.rmSync(root, { recursive: true, force: true });
});

const texts = (report: Record<string, any>) => (report.advice as { level: string; text: string }[]).map((a) => `${a.level}: ${a.text}`);

describe('status: the namespace\'s PM2 processes', () => {
  it('healthy: online processes of the namespace only, with uptime and restarts', async () => {
    const s = await statusSetup();
    daemon.pm2('start', services.ok, '--name', 'validator-hotkey-test', '--namespace', s.namespace);
    daemon.pm2('start', services.ok, '--name', 'validator-hotkey-test', '--namespace', `${s.namespace}-other`, '--force');
    await until(() => daemon.list().filter((p) => p.name === 'validator-hotkey-test' && p.status === 'online').length === 2, { what: 'online', ms: 20_000, detail: () => JSON.stringify(daemon.list()) });
    const own = daemon.list().find((p) => p.namespace === s.namespace)!;
    const r = await s.status(['--json'], daemon.env);
    expect(r.exitCode).toBe(0);
    expect(r.report.pm2).toMatchObject({
      state: 'ok',
      home: daemon.home,
      processes: [{ name: 'validator-hotkey-test', pmId: own.pmId, pid: own.pid, status: 'online', restarts: 0, uptimeMs: expect.any(Number) }],
    });
    expect(r.report.pm2.processes).toHaveLength(1);
    expect(r.report.repo.relation).toBe('up-to-date');
    // Nothing is broken: what remains is about boot and the timer, never an error.
    expect(texts(r.report).filter((t) => t.startsWith('error'))).toEqual([]);
    const human = await s.status([], daemon.env);
    expect(human.stdout).toMatch(/^PM2 {10}1 process in namespace st-[0-9a-f]+$/m);
    expect(human.stdout).toMatch(/^ {13}NAME +ID +STATUS +PID +UPTIME +RESTARTS$/m);
    expect(human.stdout).toMatch(new RegExp(`^ {13}validator-hotkey-test  ${own.pmId} +online +${own.pid} +\\d+[smh]\\S* +0$`, 'm'));
  });

  it('errored validator: shown, with the pm2 commands that show why and restart it', async () => {
    const s = await statusSetup();
    daemon.pm2('start', services.crash, '--name', 'validator-crash', '--namespace', s.namespace, '--max-restarts', '1');
    await until(() => daemon.list().some((p) => p.namespace === s.namespace && p.status === 'errored'), { what: 'errored', ms: 20_000, detail: () => JSON.stringify(daemon.list()) });
    const id = daemon.list().find((p) => p.namespace === s.namespace)!.pmId;
    const r = await s.status(['--json'], daemon.env);
    expect(r.report.pm2.processes).toEqual([expect.objectContaining({ name: 'validator-crash', status: 'errored' })]);
    // The configured validator (validator-hotkey-test) does not run: no weights, whatever an old log says.
    expect(r.report.weights).toMatchObject({ state: 'unknown', why: expect.stringContaining('not in PM2') });
    expect(texts(r.report)).toContainEqual(`error: PM2 process validator-crash (id ${id}) is errored (its crash loop used up PM2's restarts): the next update run restores it; read pm2 logs ${id} --lines 100, fix the cause, then: alphacore update --config ${s.configFile}`);
  });

  it("the namespace's PM2 log files: their size, and over 1 GiB without pm2-logrotate the commands that rotate them", async () => {
    const s = await statusSetup();
    const [out, err] = [path.join(s.root, 'v.out.log'), path.join(s.root, 'v.err.log')];
    daemon.pm2('start', services.ok, '--name', 'validator-chatty', '--namespace', s.namespace, '--output', out, '--error', err);
    await until(() => daemon.list().some((p) => p.namespace === s.namespace && p.status === 'online'), { what: 'the chatty validator online' });
    // A log that grew for months, without writing a gigabyte here: a sparse file has the size PM2 appends to.
    fs.truncateSync(out, 1.5 * 1024 ** 3);
    fs.appendFileSync(err, 'x'.repeat(1000));
    const r = await s.status(['--json'], daemon.env);
    expect(r.report.pm2.logs).toEqual({ bytes: 1.5 * 1024 ** 3 + fs.statSync(err).size, files: 2, rotated: false });
    expect(texts(r.report)).toContainEqual(
      `warn: The PM2 logs of namespace ${s.namespace} take 1.5 GiB and grow without limit. Rotate them the PM2 way (needs the npm registry once): ` +
        'pm2 install pm2-logrotate && pm2 set pm2-logrotate:max_size 50M && pm2 set pm2-logrotate:retain 10 && pm2 set pm2-logrotate:compress true (or rerun alphacore launch with --pm2-logrotate).',
    );
    expect((await s.status([], daemon.env)).stdout).toMatch(/^PM2 logs {5}1\.5 GiB in 2 files \(not rotated\)$/m);
    // Small logs: the size, no advice.
    fs.truncateSync(out, 0);
    const small = await s.status(['--json'], daemon.env);
    expect(small.report.pm2.logs).toMatchObject({ files: 2, rotated: false });
    expect(texts(small.report).join('\n')).not.toContain('pm2-logrotate');
  });

  it('a namespace with no process: the validator is not running', async () => {
    const s = await statusSetup();
    const r = await s.status(['--json'], daemon.env);
    expect(r.report.pm2).toMatchObject({ state: 'ok', processes: [] });
    expect(texts(r.report)).toContainEqual(`error: No PM2 process runs in namespace ${s.namespace}: the validator is not running. Start it with alphacore launch (the same flags as before).`);
  });
});

describe('status: PM2 or the API not answering', () => {
  it('PM2_BIN hangs and the API hangs: unknown/unreachable within the probe budgets, nothing left running', async () => {
    const s = await statusSetup({ api: { hang: true } });
    const marker = 4000 + Math.floor(Math.random() * 5000);
    const hang = script(s.root, 'pm2-hang', `sleep ${marker}`);
    const r = await s.status(['--json'], { ...daemon.env, PM2_BIN: hang });
    expect(r.exitCode).toBe(0);
    // The 2 s target is measured by `npm run bench`, not asserted here; these details
    // show the probes' budgets (not pm2's 30 s timeout) ended the waits.
    expect(r.report.pm2).toMatchObject({ state: 'unknown', bin: hang, detail: `${hang} jlist did not answer within 1.5 s` });
    expect(r.report.gates.api).toMatchObject({ state: 'unreachable' });
    expect(texts(r.report)).toContainEqual(expect.stringMatching(/^warn: Could not read PM2 \(.* did not answer within 1\.5 s\)/));
    // The whole process group of the hung pm2 was killed, its `sleep` child included.
    const left = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => l.trim() === `sleep ${marker}`);
    expect(left).toEqual([]);
  });

  it('PM2_BIN fails: unknown with its exit status and message', async () => {
    const s = await statusSetup();
    const fail = script(s.root, 'pm2-fail', 'echo "connect EACCES $PM2_HOME/rpc.sock" >&2\nexit 3');
    const r = await s.status(['--json'], { ...daemon.env, PM2_BIN: fail });
    expect(r.exitCode).toBe(0);
    expect(r.report.pm2.state).toBe('unknown');
    expect(r.report.pm2.detail).toBe(`${fail} jlist: exit 3: connect EACCES ${daemon.home}/rpc.sock`);
  });

  it('a daemon that does not answer (stopped with SIGSTOP): asked over its socket, unknown within the budget', async () => {
    const s = await statusSetup();
    const pid = Number(fs.readFileSync(path.join(daemon.home, 'pm2.pid'), 'utf8').trim());
    process.kill(pid, 'SIGSTOP');
    let r;
    try {
      r = await s.status(['--json'], daemon.env);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(r.exitCode).toBe(0);
    // The socket's words, not `pm2 jlist`'s: status found the pm2 package and asked the daemon itself.
    expect(r.report.pm2).toMatchObject({ state: 'unknown', detail: 'the PM2 daemon did not answer within 1.5 s' });
    // Status neither killed nor replaced it: once resumed, the same daemon answers.
    expect((await s.status(['--json'], daemon.env)).report.pm2.state).toBe('ok');
    expect(Number(fs.readFileSync(path.join(daemon.home, 'pm2.pid'), 'utf8').trim())).toBe(pid);
  });

  it('no PM2 daemon for PM2_HOME: not-running, and pm2 is not started by status', async () => {
    const s = await statusSetup();
    const home = path.join(s.root, 'empty-pm2-home');
    const r = await s.status(['--json'], { ...daemon.env, PM2_HOME: home });
    expect(r.report.pm2).toMatchObject({ state: 'not-running', home });
    expect(fs.existsSync(path.join(home, 'pm2.pid'))).toBe(false);
  });
});
