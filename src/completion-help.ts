/**
 * `alphacore completion --help`: yargs' completion command prints the script for any
 * arguments, --help included, so an operator asking how to use it got a page of bash.
 * Answered here, before yargs, with what the command does and how to install it.
 */
export function completionHelp(argv: readonly string[], write: (text: string) => void): boolean {
  if (argv[0] !== 'completion' || !argv.slice(1).some((a) => a === '--help' || a === '-h')) return false;
  write(
    [
      'alphacore completion',
      '',
      'Print the shell completion script: bash, or zsh when $SHELL is zsh. Nothing is installed;',
      'append the output to your shell\'s startup file and open a new shell.',
      '',
      'Examples:',
      '  alphacore completion >> ~/.bashrc   bash',
      '  alphacore completion >> ~/.zshrc    zsh (with SHELL=/usr/bin/zsh)',
      '',
    ].join('\n'),
  );
  return true;
}
