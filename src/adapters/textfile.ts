import fs from 'node:fs';
import path from 'node:path';

/**
 * Replaces a file for node_exporter's textfile collector atomically: a temp file in the
 * same directory, then rename, so a scrape (or a reader) sees the old or the new file,
 * never half of one. The temp name starts with a dot and does not end in `.prom`: the
 * collector reads only `*.prom`. Mode 0644: node_exporter runs as another user. No
 * fsync: the next run rewrites the file within minutes, and the timer's no-op path
 * should not wait on the disk.
 */
export function replaceTextfile(file: string, content: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    fs.writeFileSync(tmp, content, { mode: 0o644, flag: 'wx' });
    fs.chmodSync(tmp, 0o644); // the umask may have taken read bits away
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}
