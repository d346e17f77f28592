import path from 'node:path';
import type { Pm2, Pm2App, Pm2Process } from '../../adapters/pm2.js';
import type { Context } from '../../core/context.js';
import { UserError } from '../../core/errors.js';
import { VALIDATOR_WRAPPER } from './plan.js';

/** Validators (the repo's wrapper under PM2) in the app's namespace other than the app itself. */
export function otherValidators(procs: readonly Pm2Process[], app: Pm2App): Pm2Process[] {
  const wrapper = path.basename(VALIDATOR_WRAPPER);
  return procs.filter((p) => p.namespace === app.namespace && p.name !== app.name && p.script !== undefined && path.basename(p.script) === wrapper);
}

/**
 * One namespace holds one validator: its auto-update config names one hotkey, so after
 * every update only that one would come back (DESIGN.md §4). A second is refused unless
 * --replace, which deletes the other one (by id, in this namespace only).
 */
export async function guardNamespace(pm2: Pm2, app: Pm2App, replace: boolean): Promise<Pm2Process[]> {
  const others = otherValidators(await pm2.list(app.namespace), app);
  if (others.length === 0) return [];
  const names = others.map((p) => `${p.name}${p.env?.ENV_FILE ? ` (ENV_FILE ${p.env.ENV_FILE})` : ''}`).join(', ');
  if (!replace) {
    throw new UserError(`PM2 namespace ${app.namespace} already runs another validator: ${names}. Nothing was changed.`, {
      hint: `One namespace holds one validator (its auto-update config names one hotkey; after an update only that one would come back). Launch this hotkey in its own namespace with --pm2-namespace <name>, or pass --replace to stop and delete ${others.map((p) => p.name).join(', ')}.`,
    });
  }
  return others;
}

/** --replace: deletes the validators guardNamespace found (just before the new one starts). */
export async function replaceValidators(ctx: Context, pm2: Pm2, app: Pm2App, others: readonly Pm2Process[]): Promise<void> {
  for (const p of others) {
    await pm2.deleteProcess(p.name, app.namespace);
    ctx.stdout(`Replaced: deleted validator ${p.name} from PM2 namespace ${app.namespace} (--replace).\n`);
  }
}
