/**
 * Deployment events (docs/events.md): their `detail`, and publishing them to the EventBridge bus.
 *
 * @module
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { defaultEventBusName, EventSources } from '../../domain/events.ts';
import { EventPublishError } from './errors.ts';
import { snapshotObjectKey } from './keys.ts';
import type { Deployment, DeploymentEventDetail, DeploymentEventType, Reason } from './types.ts';

/** Options of {@link DeploymentEvents}. */
export interface DeploymentEventsOptions {
  readonly client: EventBridgeClient;
  /** @default 'greco' */
  readonly eventBusName?: string;
}

/**
 * Publishes deployment events, one PutEvents call per event (an entry's size stays far below
 * EventBridge's 256 KB quota: details carry ids, counts and reasons, never models).
 */
export class DeploymentEvents {
  readonly eventBusName: string;
  readonly #client: EventBridgeClient;

  constructor(options: DeploymentEventsOptions) {
    this.#client = options.client;
    this.eventBusName = options.eventBusName ?? defaultEventBusName;
  }

  /**
   * Publishes one event; `resources` carries the execution ARN.
   * @throws EventPublishError when the call fails or EventBridge reports a failed entry
   */
  async publish(detailType: DeploymentEventType, detail: DeploymentEventDetail): Promise<void> {
    let output: { FailedEntryCount?: number; Entries?: { ErrorCode?: string; ErrorMessage?: string }[] };
    try {
      output = await this.#client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.eventBusName,
              Source: EventSources.deployments,
              DetailType: detailType,
              Detail: JSON.stringify(detail),
              Resources: detail.executionArn === '' ? [] : [detail.executionArn],
            },
          ],
        }),
      );
    } catch (error) {
      throw new EventPublishError(`could not publish "${detailType}" to bus ${this.eventBusName}`, {
        cause: error,
      });
    }
    if ((output.FailedEntryCount ?? 0) > 0) {
      const entry = output.Entries?.[0];
      throw new EventPublishError(
        `EventBridge refused "${detailType}" on bus ${this.eventBusName}: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}

/** The `detail` of event `type` for a deployment record. */
export function eventDetail(record: Deployment, type: DeploymentEventType): DeploymentEventDetail {
  const committed = type === 'Deployment Committed' || type === 'Epoch Activated';
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
    ...(type === 'Deployment Vetoed' ? { reasons: vetoReasons(record) } : {}),
    ...(record.error !== undefined &&
    (type === 'Deployment Aborted' || type === 'Deployment CommitIncomplete')
      ? { error: record.error }
      : {}),
    executionArn: record.executionArn,
  };
}

/** Every conductor's veto reasons of a deployment, each with the conductor that gave it. */
export function vetoReasons(record: Deployment): (Reason & { readonly conductor: string })[] {
  return Object.entries(record.votes ?? {}).flatMap(([conductor, vote]) =>
    vote.reasons.map((reason) => ({ ...reason, conductor })),
  );
}
