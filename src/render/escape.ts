import { UserError } from '../core/errors.js';

/**
 * Escaping for the two consumers of what the scheduler writes. Each function
 * returns text that its consumer reads back as exactly `value`, or refuses.
 */

// A newline ends a unit-file line and a crontab entry; other control characters
// have no business in a path and would be mangled by one consumer or the other.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function refuseUnsafe(value: string, what: string): void {
  if (CONTROL.test(value)) {
    throw new UserError(`${what} contains a newline or another control character (${JSON.stringify(value)}); the scheduler cannot write it safely.`, {
      hint: 'Rename or move it to a path without control characters and run the command again.',
    });
  }
}

/**
 * The program of a unit-file command line (ExecStart=), double-quoted. systemd
 * expands `%` specifiers there but not `$`, and refuses a program path holding a
 * quote or a backslash outright ("Executable name contains special characters").
 */
export function systemdExecutable(value: string, what: string): string {
  refuseUnsafe(value, what);
  if (/["'\\]/.test(value)) {
    throw new UserError(`${what} (${value}) contains a quote or a backslash, which systemd does not accept in a program path.`, {
      hint: 'Install node in a folder without quotes or backslashes (or link it from one) and run the command again.',
    });
  }
  return `"${value.replace(/%/g, '%%')}"`;
}

/**
 * An argument of a unit-file command line, double-quoted: systemd unquotes with C
 * escapes, expands `%` specifiers and `$` variables, so each of `\`, `"`, `%` and
 * `$` is escaped.
 */
export function systemdExecArg(value: string, what: string): string {
  refuseUnsafe(value, what);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

/**
 * One `Environment=` assignment, double-quoted as a whole: systemd unquotes with C
 * escapes and expands `%` specifiers there, but not `$`.
 */
export function systemdEnvironment(name: string, value: string, what: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad environment name ${name}`);
  refuseUnsafe(value, what);
  return `Environment="${name}=${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`;
}

/**
 * One word for the /bin/sh that runs a crontab command, single-quoted. cron turns
 * every `%` not preceded by a backslash into a newline before the shell sees the
 * command, and drops that backslash; a literal `\` right before the `%` would eat
 * the escape, so each `%` goes outside the quotes as `'\%'`.
 */
export function cronWord(value: string, what: string): string {
  refuseUnsafe(value, what);
  return `'${value.replace(/'/g, `'\\''`).replace(/%/g, `'\\%'`)}'`;
}
