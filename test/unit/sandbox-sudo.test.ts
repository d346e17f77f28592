import { describe, expect, it } from 'vitest';
import { sandboxSudoersRule } from '../../src/domain/sandbox-sudo.js';

describe('the sudoers line for the sandbox setup', () => {
  it('allows exactly `bash <script>` as root without a password', () => {
    expect(sandboxSudoersRule('op', '/home/op/AlphaCore/modules/evaluation/validation/sandbox/setup.sh')).toBe(
      'op ALL=(root) NOPASSWD: /usr/bin/bash /home/op/AlphaCore/modules/evaluation/validation/sandbox/setup.sh',
    );
  });

  it("escapes what sudoers reads as syntax in an argument (',', ':', '=', '\\\\', whitespace)", () => {
    expect(sandboxSudoersRule('op', '/srv/a b,c:d=e\\f/setup.sh')).toBe('op ALL=(root) NOPASSWD: /usr/bin/bash /srv/a\\ b\\,c\\:d\\=e\\\\f/setup.sh');
  });
});
