/**
 * The deployment steps: the state machine's own tasks (`begin`, `decide`, `write-epoch`,
 * `finish-committed`, `finish-aborted`, `finish-commit-incomplete`), as docs/deployments.md
 * describes them. Inputs and outputs carry ids only. Each step is idempotent: its writes are
 * conditional or overwrite with the same values, and a re-run after a crash at any point
 * converges to the same state. Events are published after the transition they announce is
 * written, and recorded as published on the deployment record, so a re-run publishes what a
 * crash left unpublished and nothing is published for a transition that did not happen.
 *
 * @module
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { planChanges } from '../plan.ts';
import { type FunctionSpec, managedFunctionName } from '../spec.ts';
import type { ConfigStore } from '../store/config-store.ts';
import { translateUnavailable } from '../store/errors.ts';
import { DeploymentStateError, InvalidStepInputError } from './errors.ts';
import type { DeploymentEvents } from './events.ts';
import { deploymentIdPattern } from './ids.ts';
import { markerObjectKey, snapshotObjectKey } from './keys.ts';
import type { DeploymentStore, PublishedEventKey, StoredDeployment } from './store.ts';
import {
  type BeginInput,
  type BeginOutput,
  type ChangeItem,
  type ConductorRegistration,
  type ConductorVote,
  type DecideInput,
  type DecideOutput,
  type Decision,
  type Deployment,
  type DeploymentEventDetail,
  type DeploymentEventType,
  type DeploymentStepName,
  type EpochMarker,
  type EpochSnapshot,
  type EpochStepInput,
  type EpochStepOutput,
  lambdaConductorName,
  type Route,
  type StepError,
  type Vote,
} from './types.ts';

/** What the steps need. */
export interface DeploymentStepsOptions {
  readonly store: ConfigStore;
  readonly deployments: DeploymentStore;
  /** Client of the snapshots bucket. */
  readonly s3: S3Client;
  readonly snapshotsBucket: string;
  readonly events: DeploymentEvents;
  /** The conductor registry (`GRECO_CONDUCTORS`), in the order the Prepare Map iterates it. */
  readonly conductors: readonly ConductorRegistration[];
  /** Prefix of managed function names (`GRECO_MANAGED_PREFIX`). */
  readonly managedPrefix: string;
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
}

/** The statuses in which a deployment has not yet been decided. */
const undecided = ['Requested', 'Preparing'] as const;

/**
 * The deployment steps over the config table, the snapshots bucket and the event bus.
 *
 * @example
 * const steps = new DeploymentSteps({ store, deployments, s3, snapshotsBucket, events, conductors, managedPrefix: 'greco' });
 * const out = await runDeploymentStep(steps, { step: 'begin', workspace: 'acme', deploymentId });
 */
export class DeploymentSteps {
  readonly #o: DeploymentStepsOptions;
  readonly #now: () => Date;

  constructor(options: DeploymentStepsOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * `begin`: materializes the frozen draft into snapshot `SNAP#<ws>#<deploymentId>`, plans it
   * against the live model, writes one `CHANGE#` item per change (with the version `live`
   * served in the base epoch), then moves the record Requested → Preparing (base and target
   * epoch, counts) and publishes `Deployment Started`. A deployment already past `begin`
   * answers the same output and writes nothing.
   *
   * @throws DeploymentStateError when the deployment is unknown, its draft is not frozen by it,
   *   or the live epoch moved since a previous run of this step
   */
  async begin(input: BeginInput): Promise<BeginOutput> {
    const { workspace: ws, deploymentId: id } = input;
    let record = await this.#require(ws, id);
    if (record.status === 'Requested' || record.status === 'Preparing') {
      const draft = await this.#o.store.getDraft(ws, record.draftId);
      if (draft.state !== 'frozen' || draft.deploymentId !== id) {
        throw new DeploymentStateError(
          `draft ${record.draftId} is ${draft.state}${draft.deploymentId === undefined ? '' : ` by ${draft.deploymentId}`}, not frozen by ${id}`,
        );
      }
      const live = await this.#o.store.getLiveModel(ws);
      if (record.status === 'Preparing' && live.epoch !== record.baseEpoch) {
        throw new DeploymentStateError(
          `the live epoch moved from ${record.baseEpoch} to ${live.epoch} while ${id} was preparing`,
        );
      }
      const routing = await this.#routingOf(ws, live.epoch);
      const plan = planChanges(live.functions, draft.functions);
      const specs = new Map(draft.functions.map((spec) => [spec.name, spec]));
      const changes: ChangeItem[] = plan.changes.map((change) => {
        const spec = specs.get(change.name);
        const previousVersion = routing[change.name]?.version;
        return {
          name: change.name,
          action: change.action,
          managedName: managedFunctionName(this.#o.managedPrefix, ws, change.name),
          ...(change.action === 'delete' || spec === undefined ? {} : { spec }),
          ...(change.action === 'create' || previousVersion === undefined ? {} : { previousVersion }),
        };
      });
      await this.#o.store.writeSnapshotPartition(ws, id, draft.functions);
      await this.#o.deployments.putChanges(ws, id, changes);
      const now = this.#stamp();
      const moved = await this.#o.deployments.update(ws, id, {
        update:
          'SET #status = :preparing, #phases.#at = :now, #base = :base, #target = :target, #counts = :counts',
        condition: '#status = :requested',
        names: {
          '#status': 'status',
          '#phases': 'phases',
          '#at': 'preparingAt',
          '#base': 'baseEpoch',
          '#target': 'targetEpoch',
          '#counts': 'counts',
        },
        values: {
          ':preparing': 'Preparing',
          ':requested': 'Requested',
          ':now': now,
          ':base': live.epoch,
          ':target': live.epoch + 1,
          ':counts': {
            create: plan.summary.create,
            update: plan.summary.update,
            delete: plan.summary.delete,
          },
        },
      });
      record = await this.#require(ws, id);
      if (!moved && record.status !== 'Preparing') {
        throw new DeploymentStateError(`deployment ${id} is ${record.status}, it cannot begin`);
      }
    }
    // Only a deployment that did move to Preparing announces it (one aborted from Requested never did).
    if (record.phases.preparingAt !== undefined)
      await this.#publishOnce(record, 'started', 'Deployment Started');
    return {
      workspace: ws,
      deploymentId: id,
      targetEpoch: record.targetEpoch,
      conductors: this.#o.conductors,
    };
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
    const { workspace: ws, deploymentId: id } = input;
    const record = await this.#require(ws, id);
    if (record.decision !== undefined) return this.#decided(record, record.decision);

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

    const written = await this.#o.deployments.update(ws, id, {
      update: commit
        ? 'SET #decision = :decision, #votes = :votes, #status = :committing, #phases.#decidedAt = :at, #phases.#committingAt = :at'
        : `SET #decision = :decision, #votes = :votes, #phases.#decidedAt = :at${recordedError === undefined ? '' : ', #error = :error'}`,
      condition: commit
        ? 'attribute_not_exists(#decision) AND #status = :preparing'
        : 'attribute_not_exists(#decision) AND #status IN (:requested, :preparing)',
      names: {
        '#decision': 'decision',
        '#votes': 'votes',
        '#status': 'status',
        '#phases': 'phases',
        '#decidedAt': 'decidedAt',
        ...(commit ? { '#committingAt': 'committingAt' } : {}),
        ...(commit || recordedError === undefined ? {} : { '#error': 'error' }),
      },
      values: {
        ':decision': decision,
        ':votes': votes,
        ':at': at,
        ':preparing': 'Preparing',
        ...(commit ? { ':committing': 'Committing' } : { ':requested': 'Requested' }),
        ...(recordedError === undefined || commit ? {} : { ':error': recordedError }),
      },
    });
    const after = await this.#require(ws, id);
    if (after.decision === undefined) {
      throw new DeploymentStateError(
        `deployment ${id} is ${after.status} and cannot be decided (written: ${written})`,
      );
    }
    return this.#decided(after, after.decision);
  }

  /**
   * `write-epoch`: makes `targetEpoch` live. Routing = the previous epoch's routing + the
   * versions the Lambda conductor staged − deleted functions. Writes the snapshot object, then
   * the marker object, then, in one transaction, the live head (conditional on the epoch before)
   * and the `EPOCH#` item. Idempotent: an epoch already live by this deployment is left as is.
   *
   * @throws DeploymentStateError when there is no COMMIT decision for `targetEpoch`, a staged
   *   version is missing, or the live epoch is neither `targetEpoch - 1` nor this deployment's
   */
  async writeEpoch(input: EpochStepInput): Promise<EpochStepOutput> {
    const { workspace: ws, deploymentId: id, targetEpoch } = input;
    if (targetEpoch === undefined) throw new InvalidStepInputError('write-epoch: targetEpoch is required');
    const record = await this.#require(ws, id);
    if (record.decision?.outcome !== 'COMMIT' || record.decision.epoch !== targetEpoch) {
      throw new DeploymentStateError(`deployment ${id} has no COMMIT decision for epoch ${targetEpoch}`);
    }
    const head = await this.#o.store.getLiveHead(ws);
    if (head.epoch === targetEpoch && head.snapshotId === id) return this.#epochOutput(record);
    if (head.epoch !== targetEpoch - 1) {
      throw new DeploymentStateError(
        `the live epoch is ${head.epoch} (${head.snapshotId ?? 'no snapshot'}), not ${targetEpoch - 1}: epoch ${targetEpoch} cannot be written by ${id}`,
      );
    }
    const [functions, changes, results, previous] = await Promise.all([
      this.#o.store.readSnapshotPartition(ws, id),
      this.#o.deployments.listChanges(ws, id),
      this.#o.deployments.listResults(ws, id, lambdaConductorName),
      this.#routingOf(ws, targetEpoch - 1),
    ]);
    const routing = this.#routing(functions, changes, results, previous, id);
    const committedAt = record.decision.at;
    const snapshotKey = snapshotObjectKey(ws, targetEpoch);
    const snapshot: EpochSnapshot = {
      workspace: ws,
      epoch: targetEpoch,
      deploymentId: id,
      committedAt,
      functions,
      routing,
    };
    const marker: EpochMarker = {
      workspace: ws,
      epoch: targetEpoch,
      snapshotKey,
      deploymentId: id,
      committedAt,
    };
    await this.#putObject(snapshotKey, snapshot);
    await this.#putObject(markerObjectKey(ws), marker);
    const now = this.#stamp();
    await this.#o.store.transactWrite(
      [
        this.#o.store.liveHeadItem(
          ws,
          { epoch: targetEpoch, snapshotId: id, functionCount: functions.length },
          now,
        ),
        this.#o.deployments.epochItem(ws, {
          epoch: targetEpoch,
          snapshotId: id,
          deploymentId: id,
          snapshotKey,
          committedAt,
        }),
      ],
      async () => {
        const current = await this.#o.store.getLiveHead(ws);
        if (current.epoch === targetEpoch && current.snapshotId === id) return undefined;
        return conflict(ws, current.epoch, targetEpoch, id);
      },
    );
    const check = await this.#o.store.getLiveHead(ws);
    if (check.epoch !== targetEpoch || check.snapshotId !== id)
      throw conflict(ws, check.epoch, targetEpoch, id);
    return this.#epochOutput(record);
  }

  /**
   * `finish-committed`: Committing (or CommitIncomplete, re-driven) → Committed, draft → `deployed`, lock released, audit
   * `deployment.commit`, in one transaction (conditional on the epoch being live by this
   * deployment); then `Deployment Committed` and `Epoch Activated`.
   *
   * @throws DeploymentStateError when the deployment is not Committing (or Committed) or its
   *   epoch is not live
   */
  async finishCommitted(input: EpochStepInput): Promise<EpochStepOutput> {
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
      const now = this.#stamp();
      await this.#o.store.transactWrite(
        [
          this.#o.deployments.updateItem(ws, id, {
            update: 'SET #status = :committed, #phases.#endedAt = :now REMOVE #error',
            condition: '#status IN (:committing, :incomplete)',
            names: { '#status': 'status', '#phases': 'phases', '#endedAt': 'endedAt', '#error': 'error' },
            values: {
              ':committed': 'Committed',
              ':committing': 'Committing',
              ':incomplete': 'CommitIncomplete',
              ':now': now,
            },
          }),
          this.#o.deployments.liveIsCheck(ws, record.targetEpoch, id),
          this.#o.store.releaseDraftItem(ws, record.draftId, id, 'deployed'),
          this.#o.deployments.releaseLockItem(ws, id),
          this.#o.store.auditItem(ws, auditContext(record), now, {
            action: 'deployment.commit',
            target: `deployments/${id}`,
            draftId: record.draftId,
            detail: {
              deploymentId: id,
              status: 'Committed',
              epoch: record.targetEpoch,
              counts: record.counts,
            },
          }),
        ],
        async () => {
          const current = await this.#require(ws, id);
          if (current.status === 'Committed') return undefined;
          const live = await this.#o.store.getLiveHead(ws);
          return new DeploymentStateError(
            `deployment ${id} cannot finish as Committed: status ${current.status}, live epoch ${live.epoch} (${live.snapshotId ?? 'none'}), draft or lock not held by it`,
          );
        },
      );
      record = await this.#require(ws, id);
    }
    await this.#publishOnce(record, 'committed', 'Deployment Committed');
    await this.#publishOnce(record, 'epochActivated', 'Epoch Activated');
    return this.#epochOutput(record);
  }

  /**
   * `finish-aborted`: after an ABORT decision (and the conductors' abort): status Vetoed (a
   * conductor vetoed) or Aborted (an error), draft → `open`, lock released, the snapshot
   * partition marked garbage, audit `deployment.abort`, in one transaction; then `Deployment
   * Vetoed` or `Deployment Aborted`.
   *
   * @throws DeploymentStateError when there is no ABORT decision
   */
  async finishAborted(input: EpochStepInput): Promise<EpochStepOutput> {
    const { workspace: ws, deploymentId: id } = input;
    let record = await this.#require(ws, id);
    if (record.status !== 'Vetoed' && record.status !== 'Aborted') {
      if (record.decision?.outcome !== 'ABORT' || !(undecided as readonly string[]).includes(record.status)) {
        throw new DeploymentStateError(
          `deployment ${id} is ${record.status} with decision ${record.decision?.outcome ?? 'none'}: it cannot finish as aborted`,
        );
      }
      const vetoed = Object.values(record.votes ?? {}).some((v) => v.vote === 'veto');
      const status = vetoed ? 'Vetoed' : 'Aborted';
      const error = record.error ?? errorOf(input.error);
      const now = this.#stamp();
      await this.#o.store.transactWrite(
        [
          this.#o.deployments.updateItem(ws, id, {
            update: `SET #status = :status, #phases.#endedAt = :now${error === undefined ? '' : ', #error = :error'}`,
            condition: '#status IN (:requested, :preparing) AND #decision.#outcome = :abort',
            names: {
              '#status': 'status',
              '#phases': 'phases',
              '#endedAt': 'endedAt',
              '#decision': 'decision',
              '#outcome': 'outcome',
              ...(error === undefined ? {} : { '#error': 'error' }),
            },
            values: {
              ':status': status,
              ':now': now,
              ':requested': 'Requested',
              ':preparing': 'Preparing',
              ':abort': 'ABORT',
              ...(error === undefined ? {} : { ':error': error }),
            },
          }),
          this.#o.store.releaseDraftItem(ws, record.draftId, id, 'open'),
          this.#o.deployments.releaseLockItem(ws, id),
          this.#o.store.snapshotGarbageItem(ws, id, now),
          this.#o.store.auditItem(ws, auditContext(record), now, {
            action: 'deployment.abort',
            target: `deployments/${id}`,
            draftId: record.draftId,
            detail: {
              deploymentId: id,
              status,
              reasons: vetoReasons(record).length,
              ...(error === undefined ? {} : { error: error.error }),
            },
          }),
        ],
        async () => {
          const current = await this.#require(ws, id);
          if (current.status === 'Vetoed' || current.status === 'Aborted') return undefined;
          return new DeploymentStateError(
            `deployment ${id} cannot finish as aborted: status ${current.status}, draft or lock not held by it`,
          );
        },
      );
      record = await this.#require(ws, id);
    }
    await this.#publishOnce(
      record,
      record.status === 'Vetoed' ? 'vetoed' : 'aborted',
      record.status === 'Vetoed' ? 'Deployment Vetoed' : 'Deployment Aborted',
    );
    return this.#epochOutput(record);
  }

  /**
   * `finish-commit-incomplete`: Committing → CommitIncomplete with the error; the lock stays
   * taken until an operator re-drives the deployment; then `Deployment CommitIncomplete`. A
   * deployment that is already Committed stays so, and nothing is published.
   *
   * @throws DeploymentStateError when the deployment is not Committing (nor already ended so)
   */
  async finishCommitIncomplete(input: EpochStepInput): Promise<EpochStepOutput> {
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
      const moved = await this.#o.deployments.update(ws, id, {
        update: 'SET #status = :incomplete, #error = :error',
        condition: '#status = :committing',
        names: { '#status': 'status', '#error': 'error' },
        values: { ':incomplete': 'CommitIncomplete', ':committing': 'Committing', ':error': error },
      });
      record = await this.#require(ws, id);
      if (!moved && record.status !== 'CommitIncomplete') return this.#epochOutput(record);
    }
    await this.#publishOnce(record, 'commitIncomplete', 'Deployment CommitIncomplete');
    return this.#epochOutput(record);
  }

  // ------------------------------------------------------------ internals

  async #require(ws: string, id: string): Promise<StoredDeployment> {
    const record = await this.#o.deployments.get(ws, id);
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
    const item = await this.#o.deployments.getEpoch(ws, epoch);
    if (item === undefined) return {};
    try {
      const object = await this.#o.s3.send(
        new GetObjectCommand({ Bucket: this.#o.snapshotsBucket, Key: item.snapshotKey }),
      );
      const snapshot = JSON.parse((await object.Body?.transformToString('utf-8')) ?? '{}') as EpochSnapshot;
      return { ...(snapshot.routing ?? {}) };
    } catch (error) {
      throw translateUnavailable(error, 'the snapshots bucket');
    }
  }

  #routing(
    functions: readonly FunctionSpec[],
    changes: readonly ChangeItem[],
    results: readonly { name: string; version?: string }[],
    previous: Readonly<Record<string, Route>>,
    id: string,
  ): Record<string, Route> {
    const staged = new Map(results.map((r) => [r.name, r.version]));
    const changed = new Map(changes.map((c) => [c.name, c]));
    const usesLambda = this.#o.conductors.some((c) => c.name === lambdaConductorName);
    const routing: Record<string, Route> = {};
    for (const spec of functions) {
      const change = changed.get(spec.name);
      if (change === undefined || change.action === 'delete') {
        const before = previous[spec.name];
        if (before !== undefined) routing[spec.name] = before;
        continue;
      }
      const version = staged.get(spec.name);
      if (version === undefined) {
        if (usesLambda) {
          throw new DeploymentStateError(`deployment ${id} has no staged version of function ${spec.name}`);
        }
        continue;
      }
      routing[spec.name] = { functionName: change.managedName, version };
    }
    return routing;
  }

  async #putObject(key: string, body: unknown): Promise<void> {
    try {
      await this.#o.s3.send(
        new PutObjectCommand({
          Bucket: this.#o.snapshotsBucket,
          Key: key,
          Body: JSON.stringify(body),
          ContentType: 'application/json',
        }),
      );
    } catch (error) {
      throw translateUnavailable(error, 'the snapshots bucket');
    }
  }

  /** Publishes `type` for `record` unless the record says it was published; then records it. */
  async #publishOnce(
    record: StoredDeployment,
    key: PublishedEventKey,
    type: DeploymentEventType,
  ): Promise<void> {
    if (record.events?.[key] !== undefined) return;
    await this.#o.events.publish(type, eventDetail(record, type));
    await this.#o.deployments.markPublished(record.workspace, record.deploymentId, key, this.#stamp());
  }
}

/**
 * Runs the step `event.step` with its input, after checking the input's shape.
 *
 * @throws InvalidStepInputError for an unknown step or a malformed input (a state machine bug)
 */
export async function runDeploymentStep(
  steps: DeploymentSteps,
  event: unknown,
): Promise<BeginOutput | DecideOutput | EpochStepOutput> {
  const input = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  // `step` (the brief's name) or `action` (what deployment.asl.json sends, like the conductors' input).
  const step = (input.step ?? input.action) as DeploymentStepName;
  const base = {
    workspace: requireString(input, 'workspace', /^[a-z][a-z0-9-]{0,31}$/),
    deploymentId: requireString(input, 'deploymentId', deploymentIdPattern),
  };
  switch (step) {
    case 'begin':
      return steps.begin(base);
    case 'decide':
      if (input.votes !== undefined && !Array.isArray(input.votes)) {
        throw new InvalidStepInputError('decide: votes must be an array of conductor responses');
      }
      {
        // The error that ended begin or prepare: `prepareError`, or `error` (a Catch's ResultPath).
        const prepareError = (input.prepareError ?? input.error) as StepError | null | undefined;
        return steps.decide({
          ...base,
          ...(input.votes === undefined ? {} : { votes: input.votes as ConductorVote[] }),
          ...(prepareError === undefined || prepareError === null ? {} : { prepareError }),
        });
      }
    case 'write-epoch':
    case 'finish-committed':
    case 'finish-aborted':
    case 'finish-commit-incomplete': {
      // write-epoch needs the epoch it writes; the finish steps read it from the record when absent.
      const targetEpoch =
        step === 'write-epoch' || input.targetEpoch !== undefined ? requireEpoch(input) : undefined;
      const epochInput: EpochStepInput = {
        ...base,
        ...(targetEpoch === undefined ? {} : { targetEpoch }),
        ...(input.error === undefined || input.error === null ? {} : { error: input.error as StepError }),
      };
      if (step === 'write-epoch') return steps.writeEpoch(epochInput);
      if (step === 'finish-committed') return steps.finishCommitted(epochInput);
      if (step === 'finish-aborted') return steps.finishAborted(epochInput);
      return steps.finishCommitIncomplete(epochInput);
    }
    default:
      throw new InvalidStepInputError(`unknown deployment step ${JSON.stringify(step)}`);
  }
}

/** The `detail` of `type` for a deployment record. */
export function eventDetail(record: Deployment, type: DeploymentEventType): DeploymentEventDetail {
  const committed = type === 'Deployment Committed' || type === 'Epoch Activated';
  const reasons = vetoReasons(record);
  return {
    workspace: record.workspace,
    deploymentId: record.deploymentId,
    draftId: record.draftId,
    status: record.status,
    baseEpoch: record.baseEpoch,
    targetEpoch: record.targetEpoch,
    ...(committed ? { epoch: record.targetEpoch } : {}),
    ...(type === 'Epoch Activated'
      ? {
          previousEpoch: record.baseEpoch,
          snapshotKey: snapshotObjectKey(record.workspace, record.targetEpoch),
        }
      : {}),
    counts: record.counts,
    ...(type === 'Deployment Vetoed' ? { reasons } : {}),
    ...(record.error !== undefined &&
    (type === 'Deployment Aborted' || type === 'Deployment CommitIncomplete')
      ? { error: record.error }
      : {}),
    executionArn: record.executionArn,
  };
}

function vetoReasons(record: Deployment) {
  return Object.entries(record.votes ?? {}).flatMap(([conductor, vote]) =>
    vote.reasons.map((reason) => ({ ...reason, conductor })),
  );
}

function auditContext(record: Deployment) {
  return { actor: record.startedBy, requestId: record.deploymentId };
}

function conflict(ws: string, current: number, target: number, id: string): DeploymentStateError {
  return new DeploymentStateError(
    `the live epoch of workspace ${ws} is ${current}: epoch ${target} of ${id} cannot be made live`,
  );
}

/** `{ error, cause }` of a Catch result (`{ Error, Cause }`), `undefined` for none. */
function errorOf(error: StepError | undefined): { error: string; cause: string } | undefined {
  if (error === undefined) return undefined;
  const name = error.Error ?? error.error;
  const cause = error.Cause ?? error.cause;
  if (name === undefined && cause === undefined) return undefined;
  return { error: String(name ?? 'Error'), cause: String(cause ?? '') };
}

function requireString(input: Record<string, unknown>, field: string, pattern: RegExp): string {
  const value = input[field];
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new InvalidStepInputError(
      `${String(input.step)}: ${field} must match ${pattern}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function requireEpoch(input: Record<string, unknown>): number {
  const value = input.targetEpoch;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidStepInputError(
      `${String(input.step)}: targetEpoch must be an integer ≥ 1, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
