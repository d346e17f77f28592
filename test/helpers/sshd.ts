import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { closedPort } from './api.js';
import { killUserProcesses } from './fleet-users.js';

/**
 * The operator's topology of DESIGN.md §13 on this machine: a real sshd on 127.0.0.1 (its
 * own config, host key and port), an unprivileged admin account it lets in by key, with
 * NOPASSWD sudo from a sudoers.d file made here and removed by stop(). Ansible connects
 * as that admin and becomes each validator's user.
 *
 * `hideSetfacl`: the admin's ssh sessions get a PATH (~/.ssh/environment) holding every
 * program of /usr/bin and /usr/sbin but setfacl and getfacl, as on a Debian host without
 * the acl package: Ansible runs setfacl as the connecting user, from that PATH, to share
 * a temporary file with an unprivileged become user, and fails without it.
 */
export interface AdminSsh {
  admin: string;
  port: number;
  keyFile: string;
  /** Inventory vars that make Ansible connect through this sshd as the admin. */
  vars: Record<string, unknown>;
  /** Runs a command as the admin over ssh (what its sessions see). */
  run(command: string): Promise<{ exitCode: number; stdout: string }>;
  stop(): Promise<void>;
}

export function sshdMissing(): string | undefined {
  if (!fs.existsSync('/usr/sbin/sshd')) return 'no /usr/sbin/sshd (Debian package openssh-server)';
  if (!fs.existsSync('/usr/bin/sudo')) return 'no /usr/bin/sudo (Debian package sudo)';
  if (process.getuid?.() !== 0) return 'starting sshd and adding a sudoers.d file need root';
  return undefined;
}

function farmWithout(dir: string, hidden: Set<string>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const from of ['/usr/local/bin', '/usr/bin', '/usr/sbin']) {
    for (const name of fs.readdirSync(from)) {
      const link = path.join(dir, name);
      if (hidden.has(name) || fs.existsSync(link)) continue;
      fs.symlinkSync(path.join(from, name), link);
    }
  }
}

export async function startAdminSsh(root: string, admin: string, options: { hideSetfacl?: boolean } = {}): Promise<AdminSsh> {
  const dir = path.join(root, 'sshd');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const home = path.join(root, admin);
  const sudoers = path.join('/etc/sudoers.d', admin);
  let daemon: ChildProcess | undefined;
  const stop = async () => {
    if (daemon?.pid && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon!.once('exit', resolve));
    }
    fs.rmSync(sudoers, { force: true });
    // Its sessions' processes (ssh leaves none once Ansible is done; a killed run might).
    killUserProcesses(admin);
    await execa('userdel', [admin], { reject: false });
  };
  try {
    await execa('useradd', ['--create-home', '--home-dir', home, '--shell', '/bin/bash', admin]);
    // Not locked ("!"), no password: sshd (UsePAM no) lets it in by key only.
    await execa('usermod', ['-p', '*', admin]);
    const tmpRule = path.join(dir, 'sudoers');
    fs.writeFileSync(tmpRule, `${admin} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
    await execa('visudo', ['-c', '-q', '-f', tmpRule]);
    fs.copyFileSync(tmpRule, sudoers);
    fs.chmodSync(sudoers, 0o440);

    const keyFile = path.join(dir, 'id_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleet-test', '-f', keyFile]);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_ed25519')]);
    const sshDir = path.join(home, '.ssh');
    fs.mkdirSync(sshDir, { mode: 0o700 });
    fs.copyFileSync(`${keyFile}.pub`, path.join(sshDir, 'authorized_keys'));
    if (options.hideSetfacl) {
      const bin = path.join(dir, 'bin-without-acl');
      farmWithout(bin, new Set(['setfacl', 'getfacl']));
      fs.writeFileSync(path.join(sshDir, 'environment'), `PATH=${bin}\n`);
    }
    execFileSync('chown', ['-R', `${admin}:${admin}`, home]);
    // sshd's privilege-separation folder (the openssh-server service makes it at boot).
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

    const port = await closedPort();
    const config = path.join(dir, 'sshd_config');
    fs.writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${path.join(dir, 'host_ed25519')}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AllowUsers ${admin}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PermitRootLogin no',
        'PermitUserEnvironment yes',
        // The temp root is below /tmp (world-writable): sshd's path check would refuse it.
        'StrictModes no',
        'Subsystem sftp /usr/lib/openssh/sftp-server',
        '',
      ].join('\n'),
    );
    daemon = spawn('/usr/sbin/sshd', ['-D', '-e', '-p', String(port), '-f', config], { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'sshd.log'), 'a')] });
    const sshArgs = ['-i', keyFile, '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
    const run = async (command: string) => {
      const r = await execa('ssh', [...sshArgs, `${admin}@127.0.0.1`, command], { reject: false, timeout: 60_000, stdin: 'ignore' });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout) };
    };
    // Until sshd listens (it has no readiness signal).
    for (let i = 0; ; i++) {
      if ((await run('true')).exitCode === 0) break;
      if (daemon.exitCode !== null || i > 100) throw new Error(`sshd did not let ${admin} in: ${fs.readFileSync(path.join(dir, 'sshd.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      admin,
      port,
      keyFile,
      run,
      stop,
      vars: {
        ansible_connection: 'ssh',
        ansible_host: '127.0.0.1',
        ansible_port: port,
        ansible_user: admin,
        ansible_ssh_private_key_file: keyFile,
        ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes',
        ansible_become_method: 'sudo',
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
