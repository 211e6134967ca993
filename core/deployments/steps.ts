/**
 * The deployment steps: the state machine's own tasks, the two-phase commit of
 * docs/deployments.md seen from the coordinator.
 *
 * - `begin`: materialize the frozen draft (the plan was made and written when the deployment was
 *   requested), status Preparing;
 * - (the conductors prepare and vote);
 * - `decide`: the decision record, COMMIT or ABORT, before any commit or abort action;
 * - `write-epoch`: the epoch snapshot object → the epoch marker object → the live head;
 * - (the conductors commit, or abort);
 * - `finish-committed`, `finish-aborted`, `finish-commit-incomplete`: the end of the deployment.
 *
 * Inputs and outputs carry ids only. Each step is idempotent: its writes (composed in
 * `transactions.ts`) are conditional or overwrite with the same values, and a re-run after a
 * crash at any point converges to the same state. Events are published after the transition
 * they announce is written, and recorded as published on the deployment record, so a re-run
 * publishes what a crash left unpublished and nothing is published for a transition that did
 * not happen.
 *
 * @module
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { EpochObjects, routingTable } from './epoch.ts';
import { DeploymentStateError } from './errors.ts';
import { type DeploymentEvents, eventDetail } from './events.ts';
import { snapshotObjectKey } from './keys.ts';
import type { PublishedEventKey, StoredDeployment } from './store.ts';
import {
  activateEpoch,
  beginPreparing,
  type DeploymentStores,
  finishAbort,
  finishCommit,
  recordCommitIncomplete,
  recordDecision,
} from './transactions.ts';
import {
  type BeginInput,
  type BeginOutput,
  type ConductorRegistration,
  type DecideInput,
  type DecideOutput,
  type Decision,
  type Deployment,
  type DeploymentEventType,
  type DeploymentStepName,
  type EpochStepInput,
  type EpochStepOutput,
  lambdaConductorName,
  type Route,
  type StepError,
  type Vote,
} from './types.ts';

/** What the steps need. */
export interface DeploymentStepsOptions {
  /** The aggregates of the config table (`createDeploymentStores`). */
  readonly stores: DeploymentStores;
  /** Client of the snapshots bucket. */
  readonly s3: S3Client;
  readonly snapshotsBucket: string;
  readonly events: DeploymentEvents;
  /** The conductor registry (`GRECO_CONDUCTORS`), in the order the Prepare Map iterates it. */
  readonly conductors: readonly ConductorRegistration[];
  /**
   * Where each step logs its start and outcome (`action`, `workspace`, `deploymentId`).
   * @default - no logging
   */
  readonly logger?: Logger;
  /**
   * Where each step's outcome is counted ({@link DeploymentStepMetrics}), flushed by the
   * handler's middleware. @default - no metrics
   */
  readonly metrics?: Pick<Metrics, 'addMetric'>;
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
}

/**
 * The deployment steps' metrics (unit Count, one per step run): a step that failed is retried or
 * caught by the state machine, so a rising failure count is the first sign of a stuck deployment.
 */
export const DeploymentStepMetrics = {
  succeeded: 'DeploymentStepsSucceeded',
  failed: 'DeploymentStepsFailed',
} as const;

/** The statuses in which a deployment has not yet been decided. */
const undecided: readonly string[] = ['Requested', 'Preparing'];

/**
 * The deployment steps over the config table, the snapshots bucket and the event bus.
 *
 * @example
 * const steps = new DeploymentSteps({ stores, s3, snapshotsBucket, events, conductors });
 * const out = await runDeploymentStep(steps, { action: 'begin', workspace: 'acme', deploymentId });
 */
export class DeploymentSteps {
  readonly #o: DeploymentStepsOptions;
  readonly #stores: DeploymentStores;
  readonly #epochs: EpochObjects;
  readonly #now: () => Date;

  constructor(options: DeploymentStepsOptions) {
    this.#o = options;
    this.#stores = options.stores;
    this.#epochs = new EpochObjects({ s3: options.s3, bucket: options.snapshotsBucket });
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * `begin`: writes the frozen draft's model into snapshot `SNAP#<ws>#<deploymentId>`, completes
   * the change set written at request time with the version `live` served in the base epoch
   * (`previousVersion`), then moves the record Requested → Preparing and publishes `Deployment
   * Started`. A deployment already past `begin` answers the same output and writes nothing.
   *
   * @throws DeploymentStateError when the deployment is unknown, its draft is not frozen by it,
   *   or the live epoch moved since it was requested
   */
  async begin(input: BeginInput): Promise<BeginOutput> {
    return this.#observed('begin', input, async () => {
      const { workspace: ws, deploymentId: id } = input;
      let record = await this.#require(ws, id);
      if (record.status === 'Requested') {
        await this.#materialize(record);
        const moved = await beginPreparing(this.#stores, record, this.#stamp());
        record = await this.#require(ws, id);
        if (!moved && record.status !== 'Preparing') {
          throw new DeploymentStateError(`deployment ${id} is ${record.status}, it cannot begin`);
        }
      }
      // Only a deployment that did move to Preparing announces it (one aborted from Requested never did).
      if (record.phases.preparingAt !== undefined) {
        await this.#publishOnce(record, 'started', 'Deployment Started');
      }
      return {
        workspace: ws,
        deploymentId: id,
        targetEpoch: record.targetEpoch,
        conductors: this.#o.conductors,
      };
    });
  }

  /**
   * `decide`: writes the decision record, once, before any commit or abort action: COMMIT
   * (epoch = target) when every registered conductor finished prepare with `accept` and no
   * error ended prepare; ABORT otherwise (with the votes and the error). COMMIT also moves
   * the status to Committing. A re-run answers the decision already written.
   *
   * @throws DeploymentStateError when the deployment is unknown or cannot be decided
   */
  async decide(input: DecideInput): Promise<DecideOutput> {
    return this.#observed('decide', input, async () => {
      const { workspace: ws, deploymentId: id } = input;
      const record = await this.#require(ws, id);
      if (record.decision !== undefined) return this.#decided(record, record.decision);

      const { votes, missing } = this.#tally(input);
      const error = errorOf(input.prepareError);
      const commit =
        error === undefined && missing.length === 0 && Object.values(votes).every((v) => v.vote === 'accept');
      const at = this.#stamp();
      const decision: Decision = commit
        ? { outcome: 'COMMIT', epoch: record.targetEpoch, at }
        : { outcome: 'ABORT', at };
      const recordedError =
        error ??
        (commit || missing.length === 0 || Object.values(votes).some((v) => v.vote === 'veto')
          ? undefined
          : { error: 'NoVote', cause: `conductors ${missing.join(', ')} did not finish prepare` });

      const written = await recordDecision(this.#stores, record, {
        decision,
        votes,
        ...(recordedError === undefined ? {} : { error: recordedError }),
      });
      const after = await this.#require(ws, id);
      if (after.decision === undefined) {
        throw new DeploymentStateError(
          `deployment ${id} is ${after.status} and cannot be decided (written: ${written})`,
        );
      }
      return this.#decided(after, after.decision);
    });
  }

  /**
   * `write-epoch`: makes `targetEpoch` live. Routing = the previous epoch's routing + the
   * versions the Lambda conductor staged − deleted functions. Writes the snapshot object, then
   * the marker object, then activates the epoch in the config table (`activateEpoch`: the live
   * head, conditional on the epoch before, and the `EPOCH#` item). Idempotent: an epoch already
   * live by this deployment is left as is.
   *
   * @throws DeploymentStateError when there is no COMMIT decision for `targetEpoch`, a staged
   *   version is missing, or the live epoch is neither `targetEpoch - 1` nor this deployment's
   */
  async writeEpoch(input: EpochStepInput & { targetEpoch: number }): Promise<EpochStepOutput> {
    return this.#observed('write-epoch', input, async () => {
      const { workspace: ws, deploymentId: id, targetEpoch } = input;
      const record = await this.#require(ws, id);
      if (record.decision?.outcome !== 'COMMIT' || record.decision.epoch !== targetEpoch) {
        throw new DeploymentStateError(`deployment ${id} has no COMMIT decision for epoch ${targetEpoch}`);
      }
      const head = await this.#stores.live.getLiveHead(ws);
      if (head.epoch === targetEpoch && head.snapshotId === id) return this.#epochOutput(record);
      if (head.epoch !== targetEpoch - 1) {
        throw new DeploymentStateError(
          `the live epoch is ${head.epoch} (${head.snapshotId ?? 'no snapshot'}), not ${targetEpoch - 1}: epoch ${targetEpoch} cannot be written by ${id}`,
        );
      }
      const [functions, changes, staged, previous] = await Promise.all([
        this.#stores.snapshots.readSnapshotPartition(ws, id),
        this.#stores.deployments.listChanges(ws, id),
        this.#stores.deployments.listResults(ws, id, lambdaConductorName),
        this.#routingOf(ws, targetEpoch - 1),
      ]);
      const routing = routingTable({
        deploymentId: id,
        functions,
        changes,
        staged,
        previous,
        requireStaged: this.#o.conductors.some((c) => c.name === lambdaConductorName),
      });
      const committedAt = record.decision.at;
      const snapshotKey = snapshotObjectKey(ws, targetEpoch);
      await this.#epochs.putSnapshot(snapshotKey, {
        workspace: ws,
        epoch: targetEpoch,
        deploymentId: id,
        committedAt,
        functions,
        routing,
      });
      await this.#epochs.putMarker({
        workspace: ws,
        epoch: targetEpoch,
        snapshotKey,
        deploymentId: id,
        committedAt,
      });
      await activateEpoch(this.#stores, {
        workspace: ws,
        deploymentId: id,
        epoch: targetEpoch,
        functionCount: functions.length,
        snapshotKey,
        committedAt,
        at: this.#stamp(),
      });
      return this.#epochOutput(record);
    });
  }

  /**
   * `finish-committed`: Committing (or CommitIncomplete, re-driven) → Committed, draft →
   * `deployed`, lock released, audit `deployment.commit` (`finishCommit`, conditional on the
   * epoch being live by this deployment); then `Deployment Committed` and `Epoch Activated`.
   *
   * @throws DeploymentStateError when the deployment is not Committing (or Committed) or its
   *   epoch is not live
   */
  async finishCommitted(input: EpochStepInput): Promise<EpochStepOutput> {
    return this.#observed('finish-committed', input, async () => {
      const { workspace: ws, deploymentId: id } = input;
      let record = await this.#require(ws, id);
      if (input.targetEpoch !== undefined && input.targetEpoch !== record.targetEpoch) {
        throw new DeploymentStateError(
          `deployment ${id} targets epoch ${record.targetEpoch}, not ${input.targetEpoch}`,
        );
      }
      if (record.status !== 'Committed') {
        // CommitIncomplete too: an operator's re-drive of the commit path ends here.
        if (record.status !== 'Committing' && record.status !== 'CommitIncomplete') {
          throw new DeploymentStateError(`deployment ${id} is ${record.status}, not Committing`);
        }
        await finishCommit(this.#stores, record, this.#stamp());
        record = await this.#require(ws, id);
      }
      await this.#publishOnce(record, 'committed', 'Deployment Committed');
      await this.#publishOnce(record, 'epochActivated', 'Epoch Activated');
      return this.#epochOutput(record);
    });
  }

  /**
   * `finish-aborted`: after an ABORT decision (and the conductors' abort): status Vetoed (a
   * conductor vetoed) or Aborted (an error), draft → `open`, lock released, the snapshot
   * partition marked garbage, audit `deployment.abort` (`finishAbort`); then `Deployment
   * Vetoed` or `Deployment Aborted`.
   *
   * @throws DeploymentStateError when there is no ABORT decision
   */
  async finishAborted(input: EpochStepInput): Promise<EpochStepOutput> {
    return this.#observed('finish-aborted', input, async () => {
      const { workspace: ws, deploymentId: id } = input;
      let record = await this.#require(ws, id);
      if (record.status !== 'Vetoed' && record.status !== 'Aborted') {
        if (record.decision?.outcome !== 'ABORT' || !undecided.includes(record.status)) {
          throw new DeploymentStateError(
            `deployment ${id} is ${record.status} with decision ${record.decision?.outcome ?? 'none'}: it cannot finish as aborted`,
          );
        }
        const vetoed = Object.values(record.votes ?? {}).some((v) => v.vote === 'veto');
        const error = record.error ?? errorOf(input.error);
        await finishAbort(
          this.#stores,
          record,
          { status: vetoed ? 'Vetoed' : 'Aborted', ...(error === undefined ? {} : { error }) },
          this.#stamp(),
        );
        record = await this.#require(ws, id);
      }
      const vetoed = record.status === 'Vetoed';
      await this.#publishOnce(
        record,
        vetoed ? 'vetoed' : 'aborted',
        vetoed ? 'Deployment Vetoed' : 'Deployment Aborted',
      );
      return this.#epochOutput(record);
    });
  }

  /**
   * `finish-commit-incomplete`: Committing → CommitIncomplete with the error; the lock stays
   * taken until an operator re-drives the deployment; then `Deployment CommitIncomplete`. A
   * deployment that is already Committed stays so, and nothing is published.
   *
   * @throws DeploymentStateError when the deployment is not Committing (nor already ended so)
   */
  async finishCommitIncomplete(input: EpochStepInput): Promise<EpochStepOutput> {
    return this.#observed('finish-commit-incomplete', input, async () => {
      const { workspace: ws, deploymentId: id } = input;
      let record = await this.#require(ws, id);
      if (record.status === 'Committed') return this.#epochOutput(record);
      if (record.status !== 'CommitIncomplete') {
        if (record.status !== 'Committing') {
          throw new DeploymentStateError(`deployment ${id} is ${record.status}, not Committing`);
        }
        const error = errorOf(input.error) ?? {
          error: 'CommitIncomplete',
          cause: 'the commit path did not finish',
        };
        const moved = await recordCommitIncomplete(this.#stores, record, error);
        record = await this.#require(ws, id);
        if (!moved && record.status !== 'CommitIncomplete') return this.#epochOutput(record);
      }
      await this.#publishOnce(record, 'commitIncomplete', 'Deployment CommitIncomplete');
      return this.#epochOutput(record);
    });
  }

  // ------------------------------------------------------------ internals

  /**
   * The work of `begin` for a `Requested` deployment: the draft's model into the deployment's
   * snapshot, and `previousVersion` on the change set's updates and deletes. Both writes are
   * idempotent overwrites.
   */
  async #materialize(record: StoredDeployment): Promise<void> {
    const { workspace: ws, deploymentId: id } = record;
    const { drafts, live, deployments, snapshots } = this.#stores;
    const draft = await drafts.getDraft(ws, record.draftId);
    if (draft.state !== 'frozen' || draft.deploymentId !== id) {
      throw new DeploymentStateError(
        `draft ${record.draftId} is ${draft.state}${draft.deploymentId === undefined ? '' : ` by ${draft.deploymentId}`}, not frozen by ${id}`,
      );
    }
    const head = await live.getLiveHead(ws);
    if (head.epoch !== record.baseEpoch) {
      throw new DeploymentStateError(
        `the live epoch moved from ${record.baseEpoch} to ${head.epoch} since ${id} was requested`,
      );
    }
    const [changes, routing] = await Promise.all([
      deployments.listChanges(ws, id),
      this.#routingOf(ws, record.baseEpoch),
    ]);
    await snapshots.writeSnapshotPartition(ws, id, draft.functions);
    const resolved = changes.flatMap((change) => {
      const previousVersion = routing[change.name]?.version;
      return change.action === 'create' ||
        change.previousVersion !== undefined ||
        previousVersion === undefined
        ? []
        : [{ ...change, previousVersion }];
    });
    if (resolved.length > 0) await deployments.putChanges(ws, id, resolved);
  }

  /** Votes of the registered conductors, by name, and the conductors that gave none. */
  #tally(input: DecideInput): { votes: Record<string, Vote>; missing: string[] } {
    const votes: Record<string, Vote> = {};
    const missing: string[] = [];
    this.#o.conductors.forEach((conductor, index) => {
      const answer =
        input.votes?.find((v) => v.conductor === conductor.name) ??
        (input.votes?.[index]?.conductor === undefined ? input.votes?.[index] : undefined);
      // `done` may be left out (the Prepare Map reports only finished conductors' votes).
      if (
        answer !== undefined &&
        answer.done !== false &&
        (answer.vote === 'accept' || answer.vote === 'veto')
      ) {
        votes[conductor.name] = { vote: answer.vote, reasons: answer.reasons ?? [] };
      } else {
        missing.push(conductor.name);
      }
    });
    return { votes, missing };
  }

  async #require(ws: string, id: string): Promise<StoredDeployment> {
    const record = await this.#stores.deployments.get(ws, id);
    if (record === undefined) throw new DeploymentStateError(`workspace ${ws} has no deployment ${id}`);
    return record;
  }

  #stamp(): string {
    return this.#now().toISOString();
  }

  #decided(record: Deployment, decision: Decision): DecideOutput {
    return {
      workspace: record.workspace,
      deploymentId: record.deploymentId,
      targetEpoch: record.targetEpoch,
      conductors: this.#o.conductors,
      decision: decision.outcome,
    };
  }

  #epochOutput(record: Deployment): EpochStepOutput {
    return {
      workspace: record.workspace,
      deploymentId: record.deploymentId,
      targetEpoch: record.targetEpoch,
      status: record.status,
    };
  }

  /** The routing table of `epoch` from its snapshot object; `{}` for epoch 0 or an epoch set without a deployment. */
  async #routingOf(ws: string, epoch: number): Promise<Record<string, Route>> {
    if (epoch <= 0) return {};
    const item = await this.#stores.deployments.getEpoch(ws, epoch);
    return item === undefined ? {} : this.#epochs.readRouting(item.snapshotKey);
  }

  /** Publishes `type` for `record` unless the record says it was published; then records it. */
  async #publishOnce(
    record: StoredDeployment,
    key: PublishedEventKey,
    type: DeploymentEventType,
  ): Promise<void> {
    if (record.events?.[key] !== undefined) return;
    await this.#o.events.publish(type, eventDetail(record, type));
    await this.#stores.deployments.markPublished(record.workspace, record.deploymentId, key, this.#stamp());
  }

  /**
   * Runs one step: logs its start and its outcome (or failure) when a logger was given, and
   * counts it in {@link DeploymentStepMetrics} when a metrics store was given.
   */
  async #observed<T extends object>(
    action: DeploymentStepName,
    input: { workspace: string; deploymentId: string },
    run: () => Promise<T>,
  ): Promise<T> {
    const { logger, metrics } = this.#o;
    const keys = { action, workspace: input.workspace, deploymentId: input.deploymentId };
    const started = this.#now().getTime();
    logger?.info('deployment step started', keys);
    try {
      const output = await run();
      const outcome =
        'decision' in output
          ? { decision: output.decision }
          : 'status' in output
            ? { status: output.status }
            : {};
      logger?.info('deployment step finished', {
        ...keys,
        ...outcome,
        durationMs: this.#now().getTime() - started,
      });
      metrics?.addMetric(DeploymentStepMetrics.succeeded, MetricUnit.Count, 1);
      return output;
    } catch (error) {
      logger?.warn(
        { message: 'deployment step failed', ...keys, durationMs: this.#now().getTime() - started },
        error as Error,
      );
      metrics?.addMetric(DeploymentStepMetrics.failed, MetricUnit.Count, 1);
      throw error;
    }
  }
}

/** `{ error, cause }` of a Catch result (`{ Error, Cause }`), `undefined` for none. */
function errorOf(error: StepError | undefined): { error: string; cause: string } | undefined {
  if (error === undefined) return undefined;
  const name = error.Error ?? error.error;
  const cause = error.Cause ?? error.cause;
  if (name === undefined && cause === undefined) return undefined;
  return { error: String(name ?? 'Error'), cause: String(cause ?? '') };
}
