import { cronMarker } from '../render/scheduler.js';

/**
 * Pure edits of a user's crontab text. Lines that are not ours stay byte for
 * byte; ours are found by the marker comment that ends them, so a namespace
 * `a` never matches `ab`'s line.
 */
export function isOurLine(line: string, namespace: string): boolean {
  return line.endsWith(` ${cronMarker(namespace)}`);
}

export function findLine(crontab: string, namespace: string): string | undefined {
  return crontab.split('\n').find((line) => isOurLine(line, namespace));
}

/**
 * Puts `line` in place of the namespace's line(s), where the first one was, or
 * at the end. Re-running leaves exactly one.
 */
export function upsertLine(crontab: string, namespace: string, line: string): string {
  const lines = splitLines(crontab);
  const at = lines.findIndex((l) => isOurLine(l, namespace));
  const kept = lines.filter((l) => !isOurLine(l, namespace));
  kept.splice(at === -1 ? kept.length : at, 0, line);
  return joinLines(kept);
}

export function removeLine(crontab: string, namespace: string): string {
  return joinLines(splitLines(crontab).filter((l) => !isOurLine(l, namespace)));
}

// A crontab is a list of newline-terminated lines; a missing final newline (a
// hand edit) gets one, since cron ignores an unterminated last line anyway.
function splitLines(crontab: string): string[] {
  if (crontab === '') return [];
  const lines = crontab.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function joinLines(lines: string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
