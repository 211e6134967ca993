/**
 * Best-effort events of the hot path on EventBridge. Publishing never fails a verb: a failure or
 * a slow answer is logged and counted (metric `EventPublishFailures`) and the verb answers anyway.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EventSources } from '../domain/events.ts';
import { HotPathMetrics } from '../domain/metrics.ts';
import type { HotPathLogger } from './log.ts';

/** The `detail-type`s the hot path publishes. */
export const HotPathDetailTypes = {
  suspended: 'Function Suspended',
  started: 'Function Started',
} as const;

/** One hot-path event. */
export interface HotPathEvent {
  readonly detailType: (typeof HotPathDetailTypes)[keyof typeof HotPathDetailTypes];
  /** ARNs the event is about (the function's). */
  readonly resources: readonly string[];
  /** `{ workspace, name, functionName, state, reservedConcurrency, currentConcurrency, actor, requestId }`. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Publishes hot-path events; `publish` never rejects. */
export interface HotPathEventPublisher {
  publish(event: HotPathEvent): Promise<void>;
}

/** Options of {@link createEventPublisher}. */
export interface EventPublisherOptions {
  /** Name of the bus (context `greco:eventBusName`, default `greco`). */
  readonly eventBusName: string;
  readonly log: HotPathLogger;
  /** Longest wait for `PutEvents`, in milliseconds, before the request is abandoned. @default 300 */
  readonly timeoutMs?: number;
}

/**
 * Builds a {@link HotPathEventPublisher} over `PutEvents`. Give it a client with few retries
 * (e.g. `maxAttempts: 2`): the timeout bounds the whole call anyway.
 *
 * @example
 * const events = createEventPublisher(new EventBridgeClient({ maxAttempts: 2 }), { eventBusName: 'greco', log });
 */
export function createEventPublisher(
  client: EventBridgeClient,
  options: EventPublisherOptions,
): HotPathEventPublisher & { readonly failures: number } {
  const timeoutMs = options.timeoutMs ?? 300;
  let failures = 0;
  return {
    get failures() {
      return failures;
    },
    async publish(event) {
      const abort = new AbortController();
      const timer = setTimeout(
        () => abort.abort(new Error(`PutEvents took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
      try {
        const output = await client.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: options.eventBusName,
                Source: EventSources.hotPath,
                DetailType: event.detailType,
                Resources: [...event.resources],
                Detail: JSON.stringify(event.detail),
              },
            ],
          }),
          { abortSignal: abort.signal },
        );
        const entry = output.Entries?.[0];
        if ((output.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode !== undefined) {
          throw new Error(`PutEvents rejected the entry: ${entry?.ErrorCode}: ${entry?.ErrorMessage}`);
        }
      } catch (error) {
        failures += 1;
        options.log.metric(HotPathMetrics.eventPublishFailures, 1, 'Count', {
          detailType: event.detailType,
          eventBusName: options.eventBusName,
          failuresInThisContainer: failures,
          error: abort.signal.aborted ? abort.signal.reason : error,
        });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
