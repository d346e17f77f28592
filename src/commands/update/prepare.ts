import type { UpdatePlan } from './decide.js';
import type { SwapVenvs } from './deploy.js';
import type { RunIo, Session } from './session.js';

/** §5.4 prepare stage (filled in by the venv work): what each side of the swap runs with. */
export async function prepareVenvs(_run: RunIo, _s: Session, _plan: Extract<UpdatePlan, { kind: 'swap' }>): Promise<{ to: SwapVenvs; from: SwapVenvs }> {
  return { to: {}, from: {} };
}
