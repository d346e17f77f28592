/** no-color.org: colour is off when NO_COLOR is present *and not empty*; never off a TTY. */
export function colourAllowed(env: Readonly<Record<string, string | undefined>>, isTTY: boolean): boolean {
  return isTTY && !env.NO_COLOR;
}
