import type { Decision } from './decide.js';
import type { DeployTimings } from './deploy.js';

/** A decision with what the history line records about a swap. */
export type RestartDecision = Decision & {
  /** true when services were stopped or the clone moved: the run goes into the history. */
  changed?: boolean;
  timings?: DeployTimings;
  downtimeMs?: number;
  /** The target was quarantined by this run (said in the summary and the webhook only then). */
  quarantined?: boolean;
  /** A notification this run must not send again (a repeated rollback failure). */
  quiet?: boolean;
};
