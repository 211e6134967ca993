/**
 * The interface a conductor adapter implements: what is specific to one kind of runtime resource.
 * Everything else of the contract (docs/conductors.md) is the kit's: request validation, loading
 * the change set and the results, batching under a time budget, the progress records and their
 * preconditions, idempotent re-runs, the answer and the vote tally. An adapter never writes a
 * `RESULT#` item itself.
 *
 * @module
 */
import type { ChangeItem, Reason, ResultItem } from '../../deployments/types.ts';
import type { Staging } from './progress.ts';

/**
 * Where a conductor writes its batch log: a subset of Powertools' `Logger`, so that a handler can
 * hand in its logger (with the Lambda context injected) and tests a recorder.
 */
export interface ConductorLogger {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/** A {@link ConductorLogger} that drops everything (the default). */
export const silentLogger: ConductorLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** One call of an action: whose deployment, and when the call must stop starting work. */
export interface ConductorCall {
  readonly workspace: string;
  readonly deploymentId: string;
  /** The epoch the deployment makes live if it commits. */
  readonly targetEpoch: number;
  /** When the call stops starting new changes, in ms since the Unix epoch (`Date.now()`'s clock). */
  readonly deadline: number;
  readonly logger: ConductorLogger;
  /**
   * What an adapter shares between the changes of this call (e.g. the Lambda adapter's workspace
   * role, ensured once per call): a new map per call, never kept across calls or invocations.
   * @default - no sharing: each change does its own work
   */
  readonly scratch?: Map<string, unknown>;
}

/** One change's staging in prepare: the call, and what has been staged so far. */
export interface StageCall extends ConductorCall {
  /**
   * What prepare has staged for this change so far, from the previous attempt's record. The
   * adapter updates it as it goes; the kit records it with the change's next status (`staged`,
   * `vetoed`, or `pending` when the attempt is cut short).
   */
  readonly staging: Staging;
  /** Whether an earlier attempt of this change was recorded (`pending`): re-read the data plane. */
  readonly rerun: boolean;
  /**
   * Records {@link staging} at once with the change still `pending`: call it right after a
   * data-plane write that abort must know of even if this attempt crashes (e.g. a resource created).
   */
  checkpoint(): Promise<void>;
}

/**
 * A conductor adapter. The kit calls it from {@link ConductorRunner} (`kit/runner.ts`), several
 * changes at once (`maxInFlight`), each change at most once per call.
 *
 * Errors an adapter throws, by class (`kit/errors.ts`):
 * - `ChangeVetoError` from {@link stage}: the change is vetoed with its reasons;
 * - `TransientChangeError` (or anything {@link isTransient} or `isTransientError` accepts): the
 *   change stays as it was and the call answers `done: false`;
 * - anything else (e.g. `ConductorStateError`, a service refusing greco's own call): the call
 *   throws, once the changes in flight have ended.
 *
 * @example
 * const conductor: Conductor = {
 *   name: 'queues',
 *   vet: (change) => [],
 *   stage: async (change, call) => { call.staging.created = true; },
 *   commit: async () => {},
 *   abort: async () => {},
 * };
 */
export interface Conductor {
  /**
   * The registry name (`domain/names.ts` `conductorNamePattern`): the `<conductor>` of its
   * `RESULT#<conductor>#<name>` items and of `lib/conductors.ts`.
   */
  readonly name: string;

  /**
   * Reasons found in the change alone, without a call to anything (prepare, before anything is
   * staged, for every change not recorded yet). An empty list accepts the change.
   */
  vet(change: ChangeItem): readonly Reason[];

  /**
   * Reasons that need the whole change set or the runtime (e.g. an account-wide quota), by
   * change name. Asked once per deployment, in the first prepare call, and only when no change is
   * recorded and none was vetoed by {@link vet}.
   *
   * @throws TransientChangeError when it cannot tell now: the call answers `done: false`
   */
  vetChangeSet?(
    changes: readonly ChangeItem[],
    call: ConductorCall,
  ): Promise<ReadonlyMap<string, readonly Reason[]>>;

  /**
   * Stages one change without touching what is live (the kit has recorded it `pending`). Deletes
   * are passed too: most adapters stage nothing for them.
   *
   * @throws ChangeVetoError when the runtime cannot take the change
   */
  stage(change: ChangeItem, call: StageCall): Promise<void>;

  /**
   * Makes one staged change live for `call.targetEpoch` (the kit records it `committed` after).
   * Must be idempotent: it runs again after a crash.
   */
  commit(change: ChangeItem, staged: ResultItem, call: ConductorCall): Promise<void>;

  /**
   * Removes what prepare staged for one recorded change, and nothing else (the kit records it
   * `aborted` after). `recorded.status` may be `pending`: prepare may have crashed between a write
   * and its record, so re-read the runtime. Must be idempotent.
   */
  abort(change: ChangeItem, recorded: ResultItem, call: ConductorCall): Promise<void>;

  /** The adapter's own "not now" errors (e.g. its service's throttling names), besides the kit's. */
  isTransient?(error: unknown): boolean;
}
