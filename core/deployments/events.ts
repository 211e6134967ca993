/**
 * Publishing deployment events to the EventBridge bus (docs/events.md).
 *
 * @module
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EventPublishError } from './errors.ts';
import type { DeploymentEventDetail, DeploymentEventType } from './types.ts';

/** `source` of every deployment event. */
export const deploymentEventSource = 'greco.deployments';

/** The bus greco publishes to when `GRECO_EVENT_BUS_NAME` is unset (the design names it). */
export const defaultEventBusName = 'greco';

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
              Source: deploymentEventSource,
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
