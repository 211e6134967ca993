/**
 * The event history of one execution, as GetExecutionHistory returns it: AWS event types, ids
 * numbered from 1, `previousEventId` and timestamps in epoch seconds (the awsJson1_0 wire form).
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';

/**
 * Most events one execution may have (Step Functions quota "maximum execution history size",
 * 25,000 events, hard). An execution that would go beyond fails with `States.Runtime`.
 */
export const maxHistoryEvents = 25_000;

/** A history event in wire form: `timestamp` in seconds since the epoch, with fractional milliseconds. */
export type WireHistoryEvent = Omit<HistoryEvent, 'timestamp'> & { timestamp: number };

/** An event to record: everything but the `id` and `previousEventId` the history assigns. */
export type NewHistoryEvent = Omit<WireHistoryEvent, 'id' | 'previousEventId'>;

/** The root scope: events of top-level states. */
export const rootScope = '';

/**
 * An append-only execution history.
 *
 * Events belong to *scopes* (the top level, one Map iteration, one Parallel branch). An event's
 * `previousEventId` is the last event of its scope, or of the enclosing scope when it is the
 * first of its scope, so concurrent iterations chain as they do on AWS.
 */
export class ExecutionHistory {
  readonly limit: number;
  readonly #events: WireHistoryEvent[] = [];
  readonly #lastByScope = new Map<string, number>();
  readonly #parentScope = new Map<string, string>();

  /** @param limit most events kept (default {@link maxHistoryEvents}) */
  constructor(limit: number = maxHistoryEvents) {
    this.limit = limit;
  }

  /** Number of events recorded. */
  get length(): number {
    return this.#events.length;
  }

  /** Whether only one more event fits: the terminal event that the cap makes `ExecutionFailed`. */
  get nearlyFull(): boolean {
    return this.#events.length >= this.limit - 1;
  }

  /** Declares `scope` as nested in `parent` (a Map iteration in its Map's scope, say). */
  openScope(scope: string, parent: string): void {
    if (!this.#parentScope.has(scope)) this.#parentScope.set(scope, parent);
  }

  /**
   * Appends an event in `scope`.
   *
   * @returns the event's id
   * @throws RangeError when the history already holds {@link limit} events
   */
  append(event: NewHistoryEvent, scope: string = rootScope): number {
    if (this.#events.length >= this.limit) {
      throw new RangeError(`the history already holds its limit of ${this.limit} events`);
    }
    const id = this.#events.length + 1;
    const previousEventId = this.#previousFor(scope);
    this.#events.push({ ...event, id, previousEventId });
    this.#lastByScope.set(scope, id);
    return id;
  }

  #previousFor(scope: string): number {
    let current: string | undefined = scope;
    while (current !== undefined) {
      const last = this.#lastByScope.get(current);
      if (last !== undefined) return last;
      current = this.#parentScope.get(current);
    }
    // The first event has previousEventId 0, as on AWS.
    return this.#events.length;
  }

  /** All events, oldest first (a copy). */
  events(): WireHistoryEvent[] {
    return [...this.#events];
  }
}
