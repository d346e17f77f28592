import fs from 'node:fs';
import path from 'node:path';
import { openOwnedAppend } from '../adapters/owned-files.js';
import type { Context } from './context.js';

export type Level = 'info' | 'warn' | 'error';

/** Replaces every secret value with *** before text leaves the process. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}

/**
 * The updater's output (DESIGN.md §5.3): `[<ISO time>] [autoupdate] <message>` on
 * stdout (or JSON lines with --json) and always appended to the log file, which is
 * rotated by size with 3 old files kept.
 */
export class UpdateLog {
  private file: string | undefined;
  private maxBytes = 5 * 1024 * 1024;
  private secrets: readonly string[] = [];
  private fd: number | undefined;

  constructor(
    private readonly ctx: Context,
    private readonly json: boolean,
  ) {}

  /** Starts writing to the log file (once the config says where and how big). */
  attach(file: string, maxBytes: number, secrets: readonly string[]): void {
    this.file = file;
    this.maxBytes = maxBytes;
    this.secrets = secrets;
  }

  info(message: string): void {
    this.line('info', message);
  }
  warn(message: string): void {
    this.line('warn', message);
  }
  error(message: string): void {
    this.line('error', message);
  }

  /** A machine-readable record (JSON mode on stdout; summarised in the log file). */
  event(record: Record<string, unknown>): void {
    if (this.json) this.ctx.stdout(`${redact(JSON.stringify({ ts: this.ctx.now().toISOString(), ...record }), this.secrets)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private line(level: Level, message: string): void {
    const ts = this.ctx.now().toISOString();
    const text = redact(level === 'info' ? message : `${level === 'warn' ? 'WARNING' : 'ERROR'}: ${message}`, this.secrets);
    const human = `[${ts}] [autoupdate] ${text}\n`;
    if (this.json) this.ctx.stdout(`${JSON.stringify({ ts, event: 'log', level, message: redact(message, this.secrets) })}\n`);
    else this.ctx.stdout(human);
    this.append(human);
  }

  private append(text: string): void {
    if (!this.file) return;
    try {
      if (this.fd === undefined) {
        fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
        this.rotateIfNeeded();
        // Never through a symlink planted at the log's path.
        this.fd = openOwnedAppend(this.file, 0o600);
      }
      fs.writeSync(this.fd, text);
    } catch (error) {
      // A full disk or a read-only log must not stop the update; say it once.
      this.ctx.stderr(`alphacore: cannot write log ${this.file}: ${(error as Error).message}\n`);
      this.file = undefined;
    }
  }

  private rotateIfNeeded(): void {
    const file = this.file!;
    let size = 0;
    try {
      const stat = fs.lstatSync(file);
      if (!stat.isFile()) return;
      size = stat.size;
    } catch {
      return;
    }
    if (size < this.maxBytes) return;
    for (let i = 2; i >= 1; i -= 1) {
      try {
        fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
      } catch {
        // that generation does not exist yet
      }
    }
    fs.renameSync(file, `${file}.1`);
  }
}
