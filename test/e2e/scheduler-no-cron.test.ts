import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stage, userTempDir, type StagedRun } from '../helpers/user.js';
import { createWallet, homeWallets } from '../helpers/wallet.js';
import { holdMachineState } from './scheduler-harness.js';

/**
 * A crontab line is only as good as the cron daemon (DESIGN.md §6). Each case runs in
 * private PID and mount namespaces (util-linux `unshare`, as root): /proc there shows
 * only the processes of the case, so "no cron daemon" is real whatever runs on the
 * machine, and the crontab spool and /run are private copies, so the real cron daemon
 * started in one case reads only the line of this test and nothing leaks out. The
 * built CLI runs inside as the throwaway user (setpriv).
 */
const staged = stage();
const hasTools = ['unshare', 'setpriv', 'crontab'].every((t) => spawnSync('which', [t]).status === 0) && fs.existsSync('/usr/sbin/cron');
const skip = staged.skip ?? (hasTools ? undefined : 'unshare, setpriv, crontab or /usr/sbin/cron missing (.ci/run installs util-linux and cron)');
if (skip) console.log(`no-cron e2e tests skipped: ${skip}`);
const e2e = skip ? describe.skip : describe;
const run = staged.ready as StagedRun;

const SCRIPT = String.raw`
set -eu
out="$1"; uid="$2"; gid="$3"; home="$4"; ns="$5"; daemon="$6"; shift 6
spool=$(mktemp -d)
chown root:crontab "$spool"; chmod 1730 "$spool"
mount --bind "$spool" /var/spool/cron/crontabs
mount -t tmpfs tmpfs /run
as_user() { setpriv --reuid="$uid" --regid="$gid" --init-groups env -i HOME="$home" USER=alphacore-ci LOGNAME=alphacore-ci PATH=/usr/local/bin:/usr/bin:/bin NO_COLOR=1 XDG_CONFIG_HOME="$home/.config" XDG_STATE_HOME="$home/.local/state" "$@"; }
printf '%s\n' "*/2 * * * * '/usr/bin/node' '/x/alphacore.js' update --config '/x/$ns.env' >/dev/null 2>&1 # alphacore-autoupdate:$ns" | as_user crontab -
if [ "$daemon" = yes ]; then cron -f -L 0 & sleep 0.5; fi
set +e
as_user "$@" autoupdate status --namespace "$ns" --json >"$out/autoupdate.json" 2>"$out/autoupdate.err"; echo $? >"$out/autoupdate.rc"
as_user "$@" autoupdate status --namespace "$ns" >"$out/autoupdate.txt" 2>&1
as_user "$@" status --namespace "$ns" --json >"$out/status.json" 2>"$out/status.err"; echo $? >"$out/status.rc"
as_user "$@" status --namespace "$ns" >"$out/status.txt" 2>&1
if [ -n "\${LAUNCH_REPO:-}" ]; then
  # What an operator looks at first: launch and enable, dry runs, for another namespace.
  (cd "$LAUNCH_REPO" && as_user "$@" launch --wallet-name cold --hotkey hot --netuid 7 --network test --gcp-creds-file "$home/sa.json" --disable-llm --pm2-namespace "$ns-new" --dry-run) >"$out/launch.txt" 2>&1; echo $? >"$out/launch.rc"
  as_user "$@" autoupdate enable --namespace "$ns" --dry-run --json >"$out/enable.json" 2>"$out/enable.err"
fi
exit 0
`;

async function inNamespace(daemon: boolean, withLaunch = false) {
  const dir = userTempDir(run.user, 'alphacore-nocron-');
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  let repo: string | undefined;
  if (withLaunch) {
    // Enough of a deploy clone for a dry run: a git repo with the validator wrapper; a wallet and creds in HOME.
    repo = path.join(dir, 'AlphaCore');
    fs.mkdirSync(path.join(repo, 'scripts', 'validator', 'process'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'scripts', 'validator', 'process', 'start_validator_pm2.sh'), '#!/bin/bash\n');
    spawnSync('git', ['init', '-q', repo]);
    createWallet(homeWallets(home), 'cold', ['hot']);
    fs.writeFileSync(path.join(home, 'sa.json'), '{"client_email":"v@p.iam.gserviceaccount.com"}\n');
    spawnSync('chown', ['-R', `${run.user.uid}:${run.user.gid}`, repo]);
  }
  fs.chownSync(home, run.user.uid, run.user.gid);
  const script = path.join(dir, 'case.sh');
  fs.writeFileSync(script, SCRIPT);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const ns = 'nocron';
  // A config, so that status advises on the scheduler (without one it advises launch).
  const configDir = path.join(home, '.config', 'alphacore', 'autoupdate');
  fs.mkdirSync(configDir, { recursive: true });
  const complete = repo ? `WALLET_NAME=cold\nWALLET_HOTKEY=hot\nNETUID=7\nGCP_CREDS_FILE=${home}/sa.json\nREPO_DIR=${repo}\n` : '';
  fs.writeFileSync(path.join(configDir, `${ns}.env`), `PM2_NAMESPACE=${ns}\nNETWORK=test\n${complete}`);
  spawnSync('chown', ['-R', `${run.user.uid}:${run.user.gid}`, home]);
  // A cron daemon in the namespace is still a cron daemon in the machine's /proc: while it
  // runs, the files that need none running (the fleet's no-cron case) wait on this lock.
  const release = daemon ? await holdMachineState('crontab') : undefined;
  const r = await execa('unshare', ['--pid', '--fork', '--mount-proc', '--mount', 'bash', script, out, String(run.user.uid), String(run.user.gid), home, ns, daemon ? 'yes' : 'no', process.execPath, run.cli], {
    reject: false,
    timeout: 60_000,
    env: { ...process.env, LAUNCH_REPO: repo ?? '' },
  }).finally(() => release?.());
  expect(r.exitCode, r.stderr).toBe(0);
  const read = (f: string) => fs.readFileSync(path.join(out, f), 'utf8');
  return { ns, read, json: (f: string) => JSON.parse(read(f)) as Record<string, any> };
}

e2e('a crontab line with no cron daemon running', () => {
  it('is never called active: autoupdate status and status say it will never run and how to fix it', async () => {
    const c = await inNamespace(false);
    const au = c.json('autoupdate.json');
    expect(au).toMatchObject({ kind: 'cron', active: false, cronDaemon: 'not-running' });
    expect(au.nextRun).toBeUndefined();
    expect(au.detail).toContain('no cron daemon runs, so it will never run');
    expect(au.detail).toContain('sudo systemctl enable --now cron');
    expect(au.detail).toContain('sudo apt-get install cron');
    expect(au.detail).toContain('systemd user timer');
    expect(c.read('autoupdate.rc').trim()).toBe('1');
    const text = c.read('autoupdate.txt');
    expect(text).not.toContain('(active)');
    expect(text).toContain('scheduler: cron (NOT active)');
    expect(text).toContain('ERROR: no cron daemon runs: the crontab line will never run');

    const st = c.json('status.json');
    expect(c.read('status.rc').trim()).toBe('0');
    expect(st.scheduler).toMatchObject({ kind: 'cron', active: false, cronDaemon: 'not-running' });
    const errors = (st.advice as { level: string; text: string }[]).filter((a) => a.level === 'error').map((a) => a.text);
    expect(errors).toContainEqual(expect.stringMatching(/^No cron daemon runs: the crontab line for namespace nocron will never run, so updates never happen\. Start it: sudo systemctl enable --now cron/));
    const screen = c.read('status.txt');
    expect(screen).toMatch(/^Scheduler +crontab line, every 2m, NEVER RUNS: no cron daemon runs$/m);
    expect(screen).not.toMatch(/next run/);
  }, 90_000);

  it('launch --dry-run and autoupdate enable --dry-run say so first, and a line that cannot run has no next run', async () => {
    const c = await inNamespace(false, true);
    const launch = c.read('launch.txt');
    expect(c.read('launch.rc').trim(), launch).toBe('0');
    expect(launch).toMatch(/^Scheduler \(cron, every 2m\):\n {4}WARNING: no cron daemon runs on this machine: the crontab line will never run until one does\. .*sudo systemctl enable --now cron/m);
    expect(launch).toContain('Would add to your crontab');
    expect(launch).not.toMatch(/next run/i);
    const enable = c.json('enable.json');
    expect(enable).toMatchObject({ kind: 'cron', namespace: c.ns });
    expect(enable.nextRun).toBeUndefined();
    expect(enable.lines[0]).toMatch(/^WARNING: no cron daemon runs on this machine/);
  }, 90_000);

  it('with the real cron daemon running: active, with its pid and the next run', async () => {
    const c = await inNamespace(true, true);
    expect(c.read('launch.txt')).not.toContain('no cron daemon');
    expect(c.read('launch.rc').trim()).toBe('0');
    const au = c.json('autoupdate.json');
    expect(au).toMatchObject({ kind: 'cron', active: true, cronDaemon: 'running', detail: expect.stringMatching(/^crontab line installed; cron runs \(pid \d+\)$/) });
    expect(au.nextRun).toEqual(expect.any(String));
    expect(c.read('autoupdate.rc').trim()).toBe('0');
    expect(c.read('autoupdate.txt')).toContain('scheduler: cron (active)');
    expect(c.json('status.json').scheduler).toMatchObject({ kind: 'cron', active: true });
  }, 90_000);
});
