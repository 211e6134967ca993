/**
 * The Invoke operation: synchronous (`RequestResponse`), asynchronous (`Event`: queued, answered
 * 202, run later with Lambda's two retries of failed attempts) and `DryRun`, with concurrency
 * enforced per function and per account.
 */
import { randomUUID } from 'node:crypto';
import {
  invalidParameterValue,
  invalidRequestContent,
  type LambdaApiError,
  tooManyRequests,
  validationException,
} from './errors.ts';
import type { FunctionRunner, LogSink } from './runner.ts';
import type { FunctionStore } from './store.ts';

/** Lambda quota: request payload of a synchronous invocation, in bytes (6 MB). */
export const syncPayloadLimitBytes = 6_291_456;
/**
 * Lambda quota: payload of an asynchronous invocation, in bytes (1 MB since October 2025; it was
 * 256 KB before).
 */
export const asyncPayloadLimitBytes = 1_048_576;
/** Lambda: `X-Amz-Client-Context` may carry up to 3,583 bytes of base64. */
const clientContextLimitBytes = 3583;

/** An Invoke request as it arrived. */
export interface InvokeCall {
  readonly functionName: string;
  readonly qualifier: string | undefined;
  /** `X-Amz-Invocation-Type`. */
  readonly invocationType: string | undefined;
  /** `X-Amz-Log-Type`. */
  readonly logType: string | undefined;
  /** `X-Amz-Client-Context` (base64 JSON). */
  readonly clientContext: string | undefined;
  readonly payload: Buffer;
}

/** The HTTP answer to an Invoke. */
export interface InvokeAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Counters of {@link Invoker}. */
export interface InvocationStats {
  readonly requestResponse: number;
  readonly event: number;
  readonly dryRun: number;
  /** Invocations whose function failed (`X-Amz-Function-Error`), timeouts included. */
  readonly functionErrors: number;
  readonly timeouts: number;
  /** Invokes answered 429 because of concurrency (reserved, or the account's). */
  readonly throttled: number;
  /** Asynchronous events waiting to run (queued, throttled, or waiting for a retry). */
  readonly asyncPending: number;
  /** Asynchronous retries of failed attempts. */
  readonly asyncRetries: number;
  /** Asynchronous events given up: the function was deleted, or every attempt failed. */
  readonly asyncDropped: number;
}

interface QueuedEvent {
  readonly functionName: string;
  readonly qualifier: string | undefined;
  readonly requestId: string;
  readonly payload: string;
  attempt: number;
}

/** Options of {@link Invoker}. */
export interface InvokerOptions {
  readonly store: FunctionStore;
  readonly runner: FunctionRunner;
  readonly logSink: LogSink;
  /**
   * Pauses before the 2nd and 3rd attempt of a failed asynchronous invocation, in milliseconds.
   * Lambda retries twice, about 1 and 2 minutes later; locally shorter. @default [1000, 2000]
   */
  readonly asyncRetryDelaysMs?: readonly number[];
}

/** Runs Invoke calls against the store's functions. */
export class Invoker {
  readonly #store: FunctionStore;
  readonly #runner: FunctionRunner;
  readonly #logSink: LogSink;
  readonly #retryDelaysMs: readonly number[];
  readonly #queues = new Map<string, QueuedEvent[]>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  #closed = false;
  readonly #counts = {
    requestResponse: 0,
    event: 0,
    dryRun: 0,
    functionErrors: 0,
    timeouts: 0,
    throttled: 0,
    asyncRetries: 0,
    asyncDropped: 0,
  };

  constructor(options: InvokerOptions) {
    this.#store = options.store;
    this.#runner = options.runner;
    this.#logSink = options.logSink;
    this.#retryDelaysMs = options.asyncRetryDelaysMs ?? [1000, 2000];
  }

  stats(): InvocationStats {
    let pending = this.#timers.size;
    for (const queue of this.#queues.values()) pending += queue.length;
    return { ...this.#counts, asyncPending: pending + this.#running.size };
  }

  /**
   * Answers one Invoke.
   *
   * @throws LambdaApiError for the API's errors (unknown function, pending, throttled, bad input)
   */
  async invoke(call: InvokeCall): Promise<InvokeAnswer> {
    const invocationType = call.invocationType ?? 'RequestResponse';
    if (!['RequestResponse', 'Event', 'DryRun'].includes(invocationType)) {
      throw validationException([
        `Value '${invocationType}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
      ]);
    }
    const logType = call.logType ?? 'None';
    if (logType !== 'None' && logType !== 'Tail') {
      throw validationException([
        `Value '${logType}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]`,
      ]);
    }
    const clientContext = decodeClientContext(call.clientContext);
    const payload = checkPayload(call.payload);
    const target = this.#store.resolveInvocation(call.functionName, call.qualifier);

    if (invocationType === 'DryRun') {
      this.#counts.dryRun += 1;
      return { status: 204, headers: {}, body: '' };
    }
    if (invocationType === 'Event') {
      this.#counts.event += 1;
      this.#enqueue({
        functionName: target.functionName,
        qualifier: call.qualifier ?? qualifierOf(call.functionName),
        requestId: randomUUID(),
        payload,
        attempt: 0,
      });
      return { status: 202, headers: {}, body: '' };
    }

    this.#counts.requestResponse += 1;
    const lease = this.#store.acquire(target.functionName);
    if (typeof lease === 'string') {
      this.#counts.throttled += 1;
      throw tooManyRequests(lease);
    }
    try {
      const result = await this.#runner.run({
        target,
        requestId: randomUUID(),
        payload,
        ...(clientContext === undefined ? {} : { clientContext }),
        tail: logType === 'Tail',
      });
      this.#count(result);
      const headers: Record<string, string> = { 'X-Amz-Executed-Version': target.version };
      if (result.functionError !== undefined) headers['X-Amz-Function-Error'] = result.functionError;
      if (result.logResult !== undefined) headers['X-Amz-Log-Result'] = result.logResult;
      return { status: 200, headers, body: result.payload };
    } finally {
      lease.release();
      this.#drainAll();
    }
  }

  /** A function's concurrency changed or it was deleted: queued events may run, or be dropped. */
  concurrencyChanged(functionName: string): void {
    if (!this.#store.has(functionName)) {
      const queue = this.#queues.get(functionName) ?? [];
      this.#queues.delete(functionName);
      for (const event of queue) this.#drop(event, 'the function was deleted');
      return;
    }
    this.#drain(functionName);
  }

  /**
   * Stops queueing and retrying at once, then waits for running asynchronous invocations to end
   * (close the runner meanwhile to end them).
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#queues.clear();
    await Promise.allSettled([...this.#running]);
  }

  #count(result: { functionError?: string; timedOut: boolean }): void {
    if (result.functionError !== undefined) this.#counts.functionErrors += 1;
    if (result.timedOut) this.#counts.timeouts += 1;
  }

  #enqueue(event: QueuedEvent): void {
    if (this.#closed) return;
    const queue = this.#queues.get(event.functionName) ?? [];
    queue.push(event);
    this.#queues.set(event.functionName, queue);
    this.#drain(event.functionName);
  }

  #drainAll(): void {
    for (const functionName of [...this.#queues.keys()]) this.#drain(functionName);
  }

  #drain(functionName: string): void {
    const queue = this.#queues.get(functionName);
    while (!this.#closed && queue !== undefined && queue.length > 0) {
      if (!this.#store.has(functionName)) {
        this.concurrencyChanged(functionName);
        return;
      }
      const lease = this.#store.acquire(functionName);
      if (typeof lease === 'string') return; // throttled: retried when concurrency frees up
      const event = queue.shift() as QueuedEvent;
      if (queue.length === 0) this.#queues.delete(functionName);
      const running = this.#runEvent(event).finally(() => {
        lease.release();
        this.#running.delete(running);
        this.#drainAll();
      });
      this.#running.add(running);
    }
  }

  async #runEvent(event: QueuedEvent): Promise<void> {
    let target: ReturnType<FunctionStore['resolveInvocation']>;
    try {
      target = this.#store.resolveInvocation(event.functionName, event.qualifier);
    } catch (error) {
      this.#drop(event, (error as Error).message);
      return;
    }
    let result: Awaited<ReturnType<FunctionRunner['run']>>;
    try {
      result = await this.#runner.run({
        target,
        requestId: event.requestId,
        payload: event.payload,
        tail: false,
      });
    } catch (error) {
      if (!this.#closed) this.#drop(event, (error as Error).message);
      return;
    }
    if (this.#closed) return;
    this.#count(result);
    if (result.functionError === undefined) return;
    const delay = this.#retryDelaysMs[event.attempt];
    if (delay === undefined) {
      this.#drop(event, `every attempt failed; last error: ${result.payload}`);
      return;
    }
    this.#counts.asyncRetries += 1;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#enqueue({ ...event, attempt: event.attempt + 1 });
    }, delay);
    this.#timers.add(timer);
  }

  #drop(event: QueuedEvent, why: string): void {
    this.#counts.asyncDropped += 1;
    this.#logSink(
      `[lambda emulator] dropped asynchronous invocation ${event.requestId} of ${event.functionName}: ${why}`,
    );
  }
}

/** A qualifier carried in the function name (`name:alias`, `arn:…:function:name:3`). */
function qualifierOf(functionName: string): string | undefined {
  const parts = functionName.split(':');
  if (functionName.startsWith('arn:')) return parts[7];
  if (parts.length === 2) return parts[1];
  if (parts.length === 4) return parts[3];
  return undefined;
}

function checkPayload(payload: Buffer): string {
  if (payload.length === 0) return '{}';
  const text = payload.toString('utf8');
  try {
    JSON.parse(text);
  } catch (error) {
    throw Object.assign(
      invalidRequestContent(
        `Could not parse request body into json: Could not parse payload into json: ${(error as Error).message}`,
      ),
      { cause: error },
    ) as LambdaApiError;
  }
  return text;
}

function decodeClientContext(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  if (header.length > clientContextLimitBytes) {
    throw invalidParameterValue(
      `Client context must be smaller than ${clientContextLimitBytes} bytes of base64.`,
    );
  }
  const text = Buffer.from(header, 'base64').toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object') throw new Error('not an object');
  } catch (error) {
    throw Object.assign(invalidRequestContent('Client context must be a valid Base64-encoded JSON object.'), {
      cause: error,
    }) as LambdaApiError;
  }
  return text;
}
