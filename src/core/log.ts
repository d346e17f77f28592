import fs from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { openOwnedAppend } from '../adapters/owned-files.js';
import type { Context } from './context.js';
import { makeProgress, progressMode, seconds, type Progress } from './progress.js';

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
  private readonly progress: Progress;

  /** `tag` names the writer in each line: `autoupdate` for the updater, `launch` for launch. */
  constructor(
    private readonly ctx: Context,
    private readonly json: boolean,
    private readonly tag = 'autoupdate',
  ) {
    const mode = progressMode({ json, isTTY: ctx.isTTY, env: ctx.env });
    // A plain phase line looks like the rest of the writer's output: a log line for the
    // updater, a bare line for launch (whose report lines are bare).
    const plainLine = tag === 'autoupdate' ? (text: string) => this.info(text) : (text: string) => this.write(`${text}\n`);
    this.progress = makeProgress(mode, (text) => ctx.stdout(text), () => ctx.now().getTime(), plainLine);
  }

  /**
   * A long step: a live line with its elapsed time on a terminal, plain lines otherwise,
   * nothing extra on stdout with --json. The log file gets the start and the end in every mode.
   */
  async phase<T>(title: string, fn: () => Promise<T>): Promise<T> {
    if (this.progress.mode === 'plain') return this.progress.phase(title, fn); // its lines go to the file too
    this.record(`${title}...`);
    const start = this.ctx.now().getTime();
    try {
      const value = await this.progress.phase(title, fn);
      this.record(`${title}: done (${seconds(this.ctx.now().getTime() - start)})`);
      return value;
    } catch (error) {
      this.record(`${title}: failed after ${seconds(this.ctx.now().getTime() - start)}`);
      throw error;
    }
  }

  /** Other output (launch's report lines): to stdout without breaking a live line, and each line to the log file. */
  write(text: string): void {
    this.progress.write(redact(text, this.secrets));
    for (const line of text.split('\n')) if (line.trim()) this.record(line);
  }

  /** Writes a line to the log file only (not stdout). */
  record(message: string): void {
    this.append(`[${this.ctx.now().toISOString()}] [${this.tag}] ${redact(message, this.secrets)}\n`);
  }

  /** The full output of a subprocess, to the log file only: the terminal shows the phase, the log keeps pip's every line. */
  output(command: string, stdout: string, stderr: string): void {
    // PM2's tables and pip's progress come with colour and cursor codes: the log is read with less and grep.
    const body = [stdout.trimEnd(), stderr.trimEnd()].map((t) => stripVTControlCharacters(t)).filter(Boolean).join('\n');
    if (!body) return;
    this.record(`output of ${command}:`);
    this.append(`${redact(body, this.secrets)}\n`);
  }

  /** Starts writing to the log file (once the config says where and how big); `file` undefined: no file (a dry run), secrets still masked. */
  attach(file: string | undefined, maxBytes: number, secrets: readonly string[]): void {
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
    const human = `[${ts}] [${this.tag}] ${text}\n`;
    if (this.json) this.ctx.stdout(`${JSON.stringify({ ts, event: 'log', level, message: redact(message, this.secrets) })}\n`);
    else this.progress.write(human);
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
