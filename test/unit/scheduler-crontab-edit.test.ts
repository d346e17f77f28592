import { describe, expect, it } from 'vitest';
import { findLine, removeLine, upsertLine } from '../../src/scheduler/crontab-edit.js';

const ours = (ns: string, schedule = '*/2 * * * *') => `${schedule} '/usr/bin/node' '/cli' update --config '/c/${ns}.env' >/dev/null 2>&1 # alphacore-autoupdate:${ns}`;
const others = '# m h dom mon dow command\nMAILTO=""\n*/5 * * * * /usr/bin/backup  --quiet   # keep  spacing\n\n@reboot echo "% not ours"\n';

describe('crontab edits', () => {
  it('adds a line at the end of an empty or absent crontab', () => {
    expect(upsertLine('', 'alphacore', ours('alphacore'))).toBe(`${ours('alphacore')}\n`);
  });

  it('keeps every other line byte for byte', () => {
    const after = upsertLine(others, 'alphacore', ours('alphacore'));
    expect(after).toBe(`${others}${ours('alphacore')}\n`);
    expect(removeLine(after, 'alphacore')).toBe(others);
  });

  it('replaces in place and leaves exactly one line when re-run', () => {
    const once = upsertLine(others, 'alphacore', ours('alphacore'));
    const withB = upsertLine(once, 'testnet', ours('testnet'));
    const changed = upsertLine(withB, 'alphacore', ours('alphacore', '*/5 * * * *'));
    expect(changed).toBe(`${others}${ours('alphacore', '*/5 * * * *')}\n${ours('testnet')}\n`);
    expect(upsertLine(changed, 'alphacore', ours('alphacore', '*/5 * * * *'))).toBe(changed);
  });

  it('collapses duplicates left by hand edits into one', () => {
    const dup = `${ours('alphacore')}\nX=1\n${ours('alphacore')}\n`;
    expect(upsertLine(dup, 'alphacore', ours('alphacore', '*/3 * * * *'))).toBe(`${ours('alphacore', '*/3 * * * *')}\nX=1\n`);
  });

  it('never matches another namespace whose name starts the same', () => {
    const text = `${ours('ab')}\n${ours('a.b')}\n`;
    expect(findLine(text, 'a')).toBeUndefined();
    expect(removeLine(text, 'a')).toBe(text);
    expect(findLine(text, 'ab')).toBe(ours('ab'));
  });

  it('does not take a comment that merely mentions the marker', () => {
    const text = '# alphacore-autoupdate:alphacore was here\n';
    expect(findLine(text, 'alphacore')).toBeUndefined();
    expect(upsertLine(text, 'alphacore', ours('alphacore'))).toBe(`${text}${ours('alphacore')}\n`);
  });

  it('terminates a hand-edited last line without a newline', () => {
    expect(upsertLine('X=1', 'alphacore', ours('alphacore'))).toBe(`X=1\n${ours('alphacore')}\n`);
    expect(removeLine(`${ours('alphacore')}\n`, 'alphacore')).toBe('');
  });
});
