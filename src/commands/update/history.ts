import type { AutoupdateConfig } from '../../core/config.js';
import type { HistoryPolicy } from '../../core/signature-config.js';
import type { Decision } from '../../domain/outcome.js';

/**
 * The history policy (DESIGN.md §5 step 5, §11): a signature proves who made a commit,
 * not that it is the newest release. With `forward` the branch may only move the clone
 * forward: a target that does not descend from the deployed HEAD (moved back to an old
 * signed release, or sideways to a signed work-in-progress commit of another branch)
 * is refused, whoever signed it. `--to` and PIN are the operator's own choice and pass.
 */
export function historyPolicyOf(config: Pick<AutoupdateConfig, 'historyPolicy' | 'signatures'>): HistoryPolicy {
  return config.historyPolicy ?? (config.signatures ? 'forward' : 'any');
}

export type HistoryVerdict =
  /** Ask git whether the target descends from HEAD. */
  | { kind: 'observe' }
  | { kind: 'pass'; note?: string }
  | { kind: 'refuse'; decision: Decision & { outcome: 'refused'; reason: 'not-forward'; detail: string }; text: string };

const short = (sha: string) => sha.slice(0, 7);

/** Pure: the gate, from HEAD, the target, where the target came from and (once asked) whether it descends from HEAD. */
export function judgeHistory(
  input: { head: string; target: string; source: 'branch' | 'to' | 'pin' | undefined; forward: boolean | undefined },
  config: Pick<AutoupdateConfig, 'historyPolicy' | 'signatures' | 'remote' | 'branch' | 'file'>,
): HistoryVerdict {
  const { head, target } = input;
  if (head === target || historyPolicyOf(config) === 'any') return { kind: 'pass' };
  if (input.forward === undefined) return { kind: 'observe' };
  if (input.forward) return { kind: 'pass' };
  if (input.source === 'to' || input.source === 'pin') {
    const by = input.source === 'to' ? '--to' : `PIN in ${config.file}`;
    return { kind: 'pass', note: `${short(target)} does not descend from the deployed ${short(head)}; deploying it anyway because ${by} names it (HISTORY_POLICY=forward applies to ${config.remote}/${config.branch} only)` };
  }
  const where = `${config.remote}/${config.branch}`;
  const detail = `${where} at ${target} does not descend from the deployed HEAD ${head}`;
  const text =
    `refusing ${where} at ${short(target)}: it does not descend from the deployed ${short(head)} (the branch moved back to an older commit, or sideways to a commit of another branch). ` +
    `A signature proves who made a commit, not that it is the newest release, so HISTORY_POLICY=forward refuses it. Nothing was stopped. ` +
    `If this move is intended (a deliberate downgrade), deploy it with: alphacore update --config ${config.file} --to ${target}`;
  return { kind: 'refuse', decision: { outcome: 'refused', reason: 'not-forward', detail }, text };
}
