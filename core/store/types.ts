import type { FunctionSpec } from '../spec.ts';

/** Who made a change: the token's `sub` and, when the token has one, its username claim. */
export interface Actor {
  readonly sub: string;
  readonly username?: string;
}

/** What every change carries into its audit record. */
export interface ChangeContext {
  readonly actor: Actor;
  /** API Gateway's request id (`requestContext.requestId`), or the caller's own id outside HTTP. */
  readonly requestId: string;
}

/**
 * The version a writer read: a draft's `version`; several (`If-Match: "3", "4"`: any of them);
 * or `'*'` (`If-Match: *`) for "whatever version is current, as long as the draft exists".
 * An empty list matches nothing.
 */
export type ExpectedVersion = number | readonly number[] | '*';

/**
 * A draft's lifecycle state: `open` accepts edits; `frozen` is being deployed and refuses them;
 * `deployed` became the live model (a committed deployment) and refuses them for good. An
 * aborted or vetoed deployment turns a frozen draft back to `open`.
 */
export type DraftState = 'open' | 'frozen' | 'deployed';

/** A draft's metadata (its head item), without its functions. */
export interface DraftSummary {
  readonly draftId: string;
  /** +1 per change, from 1; the draft's ETag is `"<version>"`. */
  readonly version: number;
  readonly state: DraftState;
  /** The deployment that froze (or deployed) the draft; absent while `open`. */
  readonly deploymentId?: string;
  /**
   * The live epoch the draft is based on: the one live when it was created, or the one it was last
   * rebased onto (0: no deployment yet). Absent on drafts written before greco recorded it: their
   * base is unknown, they deploy only after a rebase (`stale-draft` otherwise).
   */
  readonly baseEpoch?: number;
  readonly functionCount: number;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly createdBy: Actor;
  /** ISO 8601 UTC. */
  readonly updatedAt: string;
  readonly updatedBy: Actor;
}

/** A draft with its whole model: functions sorted by name (code-unit order). */
export interface Draft extends DraftSummary {
  readonly functions: readonly FunctionSpec[];
}

/** The live model of a workspace: epoch 0 and no functions until a deployment commits. */
export interface LiveModel {
  readonly epoch: number;
  /** Snapshot holding the functions; absent at epoch 0. */
  readonly snapshotId?: string;
  /** Sorted by name (code-unit order). */
  readonly functions: readonly FunctionSpec[];
}

/** Audit actions greco records. */
export type AuditAction =
  | 'draft.create'
  | 'draft.replace'
  | 'draft.rebase'
  | 'draft.delete'
  | 'draft.function.put'
  | 'draft.function.delete'
  | 'live.set'
  | 'deployment.start'
  | 'deployment.commit'
  | 'deployment.abort';

/** One append-only audit record. */
export interface AuditRecord {
  /** ISO 8601 UTC time of the change. */
  readonly at: string;
  readonly actor: Actor;
  readonly action: AuditAction;
  /** What changed, as an API path, e.g. `drafts/<id>/functions/<name>`. */
  readonly target: string;
  readonly draftId?: string;
  readonly requestId: string;
  /** Always `'succeeded'`: a change that fails writes nothing, its audit record included. */
  readonly result: 'succeeded';
  /** Action-specific facts, e.g. `{ version: 4, functionCount: 12 }`. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** One page of the audit log, newest first. */
export interface AuditPage {
  readonly records: readonly AuditRecord[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  readonly nextCursor?: string;
}
