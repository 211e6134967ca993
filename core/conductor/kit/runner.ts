/**
 * The batch runner: one action of the conductor contract (docs/conductors.md) for one call, around
 * a {@link Conductor} adapter. It validates the request, loads the deployment's change set and the
 * conductor's results, runs the changes still to do through the worker pool under the call's time
 * budget, records each change's progress with its precondition (pending before the adapter's first
 * write; staged, vetoed, committed or aborted after), and answers `done`, the counts and the vote.
 *
 * Re-runs are idempotent: a change already past the action is skipped, a `pending` one is handed
 * to the adapter again with what its last record says was staged.
 *
 * @module
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { managedFunctionName } from '../../../domain/names.ts';
import type {
  ChangeItem,
  ConductorRequest,
  ConductorResponse,
  Reason,
  ResultItem,
} from '../../deployments/types.ts';
import { abortAnswer, commitAnswer, prepareAnswer } from './answer.ts';
import { callDeadline, forEachWithinBudget } from './budget.ts';
import { type Conductor, type ConductorCall, type ConductorLogger, silentLogger } from './conductor.ts';
import { ChangeVetoError, ConductorStateError, describeError, isTransientError } from './errors.ts';
import {
  type DeploymentRecords,
  loadChanges,
  loadResults,
  putResult,
  type ResultFields,
  resultItem,
  type Staging,
  stagingOf,
} from './progress.ts';
import { parseConductorRequest } from './request.ts';

/** Defaults of {@link ConductorRunnerOptions}. */
export const conductorRunnerDefaults = {
  /** Changes worked on at once: enough to keep a rate limit busy while each waits for its service. */
  maxInFlight: 8,
  /** Time budget of one call when none is given, in ms (a Lambda invocation lasts up to 900 s). */
  budgetMs: 60_000,
} as const;

/** Options of {@link ConductorRunner}. */
export interface ConductorRunnerOptions {
  /** The adapter: what is specific to the conductor's kind of resource. */
  readonly conductor: Conductor;
  /** Document client of the config table (with `removeUndefinedValues`). */
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /**
   * Prefix of managed function names (`GRECO_MANAGED_PREFIX`): every change must name the function
   * `<prefix>-<workspace>-<name>` before anything is touched.
   */
  readonly managedPrefix: string;
  /** Changes worked on at once. @default 8 */
  readonly maxInFlight?: number;
  /** Time budget of a call that is given none, in ms. @default 60000 */
  readonly budgetMs?: number;
  /** Clock of `updatedAt`. @default - the current time */
  readonly now?: () => Date;
  /** Batch log: one line per call (action, deployment, counts) and one per veto or failure. @default - none */
  readonly logger?: ConductorLogger;
}

/** What staging one change came to. */
type StageOutcome = 'staged' | 'vetoed' | 'pending';

/**
 * Runs a conductor adapter under the contract. One instance per container; every call is
 * independent and idempotent.
 *
 * @example
 * const runner = new ConductorRunner({ conductor: adapter, doc, tableName, managedPrefix: 'greco' });
 * const answer = await runner.run({ action: 'prepare', workspace: 'acme', deploymentId, targetEpoch: 4 }, 60_000);
 */
export class ConductorRunner {
  readonly #conductor: Conductor;
  readonly #doc: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #prefix: string;
  readonly #maxInFlight: number;
  readonly #budgetMs: number;
  readonly #now: () => Date;
  readonly #logger: ConductorLogger;

  /** @throws RangeError when `maxInFlight` is not an integer ≥ 1 */
  constructor(options: ConductorRunnerOptions) {
    this.#conductor = options.conductor;
    this.#doc = options.doc;
    this.#tableName = options.tableName;
    this.#prefix = options.managedPrefix;
    this.#maxInFlight = options.maxInFlight ?? conductorRunnerDefaults.maxInFlight;
    this.#budgetMs = options.budgetMs ?? conductorRunnerDefaults.budgetMs;
    this.#now = options.now ?? (() => new Date());
    this.#logger = options.logger ?? silentLogger;
    if (!Number.isInteger(this.#maxInFlight) || this.#maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be an integer >= 1, got ${this.#maxInFlight}`);
    }
  }

  /**
   * Runs one action of the contract for at most `budgetMs` (a change already in flight when the
   * budget runs out finishes first; callers keep a margin, `kit/budget.ts`).
   *
   * @throws InvalidConductorRequestError when the request is malformed (nothing is read or written)
   * @throws ConductorStateError when the deployment's records contradict the contract
   * @throws what the adapter throws that is neither a veto nor transient
   */
  async run(request: unknown, budgetMs: number = this.#budgetMs): Promise<ConductorResponse> {
    const req = parseConductorRequest(request);
    if (req.action === 'prepare') return this.prepare(req, budgetMs);
    if (req.action === 'commit') return this.commit(req, budgetMs);
    return this.abort(req, budgetMs);
  }

  /**
   * prepare: vets the changes not recorded yet, then stages every change without touching what is
   * live, then votes. A veto of one change stops new changes from being started (changes already
   * started are finished, so that abort knows what they did); the vote is then `veto` with every
   * reason.
   */
  async prepare(req: ConductorRequest, budgetMs: number = this.#budgetMs): Promise<ConductorResponse> {
    return this.#logged(req, budgetMs, async (call) => {
      const records = this.#records(req);
      const changes = await this.#loadChanges(records);
      let results = await loadResults(records, this.#conductor.name);

      const vetoed = new Map<string, readonly Reason[]>();
      for (const change of changes) {
        if (results.has(change.name)) continue;
        const reasons = this.#conductor.vet(change);
        if (reasons.length > 0) vetoed.set(change.name, reasons);
      }
      if (results.size === 0 && vetoed.size === 0 && this.#conductor.vetChangeSet !== undefined) {
        try {
          for (const [name, reasons] of await this.#conductor.vetChangeSet(changes, call)) {
            if (reasons.length > 0) vetoed.set(name, reasons);
          }
        } catch (error) {
          if (!this.#isTransient(error)) throw error;
          call.logger.warn('change set vetting deferred', { error: describeError(error) });
          return { done: false, counts: { done: 0, remaining: changes.length } };
        }
      }
      for (const [name, reasons] of vetoed) {
        await putResult(records, this.#result(name, 'prepare', 'vetoed', 0, { reasons }), 'new-or-pending');
        this.#logVeto(call, name, reasons);
      }
      if (vetoed.size > 0) results = await loadResults(records, this.#conductor.name);

      const pending = changes.filter((change) => results.get(change.name)?.status === 'pending');
      const untouched = changes.filter((change) => !results.has(change.name));
      let vetoSeen = [...results.values()].some((result) => result.status === 'vetoed');
      await this.#pool([...pending, ...untouched], call, async (change) => {
        const previous = results.get(change.name);
        if (previous === undefined && vetoSeen) return 'skip';
        const outcome = await this.#stageChange(call, records, change, previous);
        if (outcome === 'vetoed') vetoSeen = true;
        return 'done';
      });

      return prepareAnswer(changes.length, await loadResults(records, this.#conductor.name));
    });
  }

  /**
   * commit: makes every staged change live for `targetEpoch` and records it `committed`.
   *
   * @throws ConductorStateError when a change has no staged result
   */
  async commit(req: ConductorRequest, budgetMs: number = this.#budgetMs): Promise<ConductorResponse> {
    return this.#logged(req, budgetMs, async (call) => {
      const records = this.#records(req);
      const changes = await this.#loadChanges(records);
      const results = await loadResults(records, this.#conductor.name);
      const todo: ChangeItem[] = [];
      for (const change of changes) {
        const result = results.get(change.name);
        if (result?.status === 'committed') continue;
        if (result?.status !== 'staged') {
          throw new ConductorStateError(
            `deployment ${req.deploymentId}: function ${change.name} cannot be committed, prepare left it ${result?.status ?? 'unrecorded'}`,
          );
        }
        todo.push(change);
      }
      await this.#pool(todo, call, async (change) => {
        const staged = results.get(change.name) as ResultItem;
        await this.#conductor.commit(change, staged, call);
        const written = await putResult(
          records,
          this.#result(change.name, 'commit', 'committed', staged.attempts, stagingOf(staged)),
          'staged-or-committed',
        );
        if (!written) {
          throw new ConductorStateError(
            `deployment ${req.deploymentId}: the result of ${change.name} changed under commit`,
          );
        }
        return 'done';
      });
      return commitAnswer(changes.length, await loadResults(records, this.#conductor.name));
    });
  }

  /**
   * abort: removes what prepare staged for every change prepare recorded, and records it
   * `aborted`; changes it never started staged nothing.
   *
   * @throws ConductorStateError when a change was already committed
   */
  async abort(req: ConductorRequest, budgetMs: number = this.#budgetMs): Promise<ConductorResponse> {
    return this.#logged(req, budgetMs, async (call) => {
      const records = this.#records(req);
      const changes = await this.#loadChanges(records);
      const results = await loadResults(records, this.#conductor.name);
      const todo: ChangeItem[] = [];
      for (const change of changes) {
        const result = results.get(change.name);
        if (result === undefined || result.status === 'aborted') continue;
        if (result.status === 'committed') {
          throw new ConductorStateError(
            `deployment ${req.deploymentId}: function ${change.name} is committed and cannot be aborted`,
          );
        }
        todo.push(change);
      }
      await this.#pool(todo, call, async (change) => {
        const result = results.get(change.name) as ResultItem;
        await this.#conductor.abort(change, result, call);
        await putResult(
          records,
          this.#result(change.name, 'abort', 'aborted', result.attempts, {
            ...stagingOf(result),
            ...(result.reasons === undefined ? {} : { reasons: result.reasons }),
          }),
          'not-committed',
        );
        return 'done';
      });
      return abortAnswer(changes, await loadResults(records, this.#conductor.name));
    });
  }

  // ---------------------------------------------------------------- one change of prepare

  /** Stages one change: records pending first, then staged or vetoed. Transient trouble leaves it pending. */
  async #stageChange(
    call: ConductorCall,
    records: DeploymentRecords,
    change: ChangeItem,
    previous: ResultItem | undefined,
  ): Promise<StageOutcome> {
    const attempts = (previous?.attempts ?? 0) + 1;
    const staging: Staging = {
      created: previous?.created ?? false,
      published: previous?.published ?? false,
      ...(previous?.version === undefined ? {} : { version: previous.version }),
    };
    const pending = () => this.#result(change.name, 'prepare', 'pending', attempts, staging);
    if (!(await putResult(records, pending(), 'new-or-pending'))) return 'staged';
    try {
      await this.#conductor.stage(change, {
        ...call,
        staging,
        rerun: previous !== undefined,
        checkpoint: async () => {
          await putResult(records, pending(), 'new-or-pending');
        },
      });
    } catch (error) {
      if (error instanceof ChangeVetoError) {
        await putResult(
          records,
          this.#result(change.name, 'prepare', 'vetoed', attempts, { ...staging, reasons: error.reasons }),
          'new-or-pending',
        );
        this.#logVeto(call, change.name, error.reasons);
        return 'vetoed';
      }
      if (this.#isTransient(error)) {
        this.#logDeferred(call, change, error);
        return 'pending';
      }
      throw error;
    }
    await putResult(
      records,
      this.#result(change.name, 'prepare', 'staged', attempts, staging),
      'new-or-pending',
    );
    return 'staged';
  }

  // ---------------------------------------------------------------- helpers

  /** Runs one action with its call context, and logs its answer or its failure. */
  async #logged(
    req: ConductorRequest,
    budgetMs: number,
    action: (call: ConductorCall) => Promise<ConductorResponse>,
  ): Promise<ConductorResponse> {
    const call: ConductorCall = {
      workspace: req.workspace,
      deploymentId: req.deploymentId,
      targetEpoch: req.targetEpoch,
      deadline: callDeadline(budgetMs),
      logger: this.#logger,
      scratch: new Map(),
    };
    const fields = { conductor: this.#conductor.name, action: req.action, ...this.#ids(call) };
    try {
      const answer = await action(call);
      this.#logger.info('conductor batch', {
        ...fields,
        done: answer.done,
        counts: answer.counts,
        ...(answer.vote === undefined ? {} : { vote: answer.vote, reasons: answer.reasons?.length ?? 0 }),
      });
      return answer;
    } catch (error) {
      this.#logger.error('conductor batch failed', { ...fields, error: describeError(error) });
      throw error;
    }
  }

  #ids(call: ConductorCall) {
    return { workspace: call.workspace, deploymentId: call.deploymentId, targetEpoch: call.targetEpoch };
  }

  #pool(
    changes: readonly ChangeItem[],
    call: ConductorCall,
    work: (change: ChangeItem) => Promise<'done' | 'skip'>,
  ): Promise<void> {
    return forEachWithinBudget(changes, work, {
      concurrency: this.#maxInFlight,
      deadline: call.deadline,
      isTransient: (error) => this.#isTransient(error),
      onTransient: (change, error) => this.#logDeferred(call, change, error),
    });
  }

  #isTransient(error: unknown): boolean {
    return isTransientError(error) || this.#conductor.isTransient?.(error) === true;
  }

  #logVeto(call: ConductorCall, name: string, reasons: readonly Reason[]): void {
    for (const reason of reasons) {
      call.logger.warn('change vetoed', {
        conductor: this.#conductor.name,
        ...this.#ids(call),
        function: name,
        code: reason.code,
        reason: reason.message,
      });
    }
  }

  #logDeferred(call: ConductorCall, change: ChangeItem, error: unknown): void {
    call.logger.warn('change deferred', {
      conductor: this.#conductor.name,
      ...this.#ids(call),
      function: change.name,
      error: describeError(error),
    });
  }

  /**
   * The change set, each checked to name a function of this workspace under greco's prefix (a
   * conductor touches no other function).
   *
   * @throws ConductorStateError for a change whose `managedName` is not `<prefix>-<workspace>-<name>`
   */
  async #loadChanges(records: DeploymentRecords): Promise<ChangeItem[]> {
    const changes = await loadChanges(records);
    for (const change of changes) {
      const expected = managedFunctionName(this.#prefix, records.workspace, change.name);
      if (change.managedName !== expected) {
        throw new ConductorStateError(
          `deployment ${records.deploymentId}: change ${change.name} names function ${change.managedName}, expected ${expected}`,
        );
      }
    }
    return changes;
  }

  #records(req: ConductorRequest): DeploymentRecords {
    return {
      doc: this.#doc,
      tableName: this.#tableName,
      workspace: req.workspace,
      deploymentId: req.deploymentId,
    };
  }

  #result(
    name: string,
    phase: ResultItem['phase'],
    status: ResultItem['status'],
    attempts: number,
    fields: ResultFields = {},
  ): ResultItem {
    return resultItem(this.#conductor.name, name, phase, status, attempts, this.#now().toISOString(), fields);
  }
}
