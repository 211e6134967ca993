/**
 * One execution of a state machine: runs the definition with `aws-local-stepfunctions`, sends its
 * Task states to the local services, and records every transition in an AWS-shaped history.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { HistoryEventType } from '@aws-sdk/client-sfn';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import type { Json, JsonObject, ParsedDefinition, StateInfo } from './definition.ts';
import { ExecutionHistory, maxHistoryEvents, type NewHistoryEvent, rootScope } from './history.ts';
import { type IntegrationClients, runTaskResource, TaskFailure } from './integrations.ts';
import { evaluateReferencePath } from './paths.ts';
import { describeTaskResource } from './resources.ts';

type LibraryRun = ReturnType<StateMachine['run']>;
type LibraryEvent = LibraryRun['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type TaskHandlers = NonNullable<
  NonNullable<Parameters<StateMachine['run']>[1]>['overrides']
>['taskResourceLocalHandlers'];

/** The status of an execution, as DescribeExecution reports it. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** What an execution needs to run. */
export interface ExecutionOptions {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly stateMachineName: string;
  /** The execution's name, the last part of its ARN. */
  readonly name: string;
  /** The input as given to StartExecution: JSON text. */
  readonly input: string;
  readonly roleArn: string;
  readonly region: string;
  /** The definition as it was when the execution started; later updates do not change it. */
  readonly definition: ParsedDefinition;
  readonly clients: IntegrationClients;
  /** Most history events before the execution fails with `States.Runtime` (default {@link maxHistoryEvents}). */
  readonly maxHistoryEvents?: number;
}

interface ContainerProgress {
  failed: boolean;
}

interface TaskAttempt {
  abandoned: boolean;
}

type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

const stringify = (value: unknown): string => JSON.stringify(value ?? null);
const seconds = (epochMs: number): number => epochMs / 1000;

/**
 * A running or finished execution. Start one with {@link Execution.start}; it runs in-process,
 * concurrently with others, until it succeeds, fails, times out, is stopped, or reaches the
 * history limit (then it fails with `States.Runtime`, as on AWS).
 */
export class Execution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly roleArn: string;
  /** Start time, in milliseconds since the epoch. */
  readonly startDate: number;
  readonly history: ExecutionHistory;
  /** Resolves once the execution has finished and the runner has let go of it. */
  readonly finished: Promise<void>;

  status: ExecutionStatus = 'RUNNING';
  /** Stop time, in milliseconds since the epoch, once finished. */
  stopDate?: number;
  /** JSON output, when SUCCEEDED. */
  output?: string;
  error?: string;
  cause?: string;

  readonly #options: ExecutionOptions;
  readonly #taskAbort = new AbortController();
  /** Scope of the last StateEntered of each state. */
  readonly #lastEnteredScope = new Map<string, string>();
  /** Scopes of Task entries and retries not yet picked up by their handler call, per state (FIFO). */
  readonly #taskScopes = new Map<string, string[]>();
  readonly #containers = new Map<string, ContainerProgress>();
  readonly #attempts = new Map<string, TaskAttempt[]>();
  readonly #context: JsonObject;
  #run?: LibraryRun;
  #resolveFinished: () => void = () => {};

  private constructor(options: ExecutionOptions) {
    this.#options = options;
    this.executionArn = options.executionArn;
    this.stateMachineArn = options.stateMachineArn;
    this.name = options.name;
    this.input = options.input;
    this.roleArn = options.roleArn;
    this.startDate = Date.now();
    this.history = new ExecutionHistory(options.maxHistoryEvents ?? maxHistoryEvents);
    this.finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
    this.#context = {
      Execution: {
        Id: options.executionArn,
        Name: options.name,
        RoleArn: options.roleArn,
        StartTime: new Date(this.startDate).toISOString(),
        Input: JSON.parse(options.input) as Json,
      },
      StateMachine: { Id: options.stateMachineArn, Name: options.stateMachineName },
    };
  }

  /**
   * Starts an execution: records `ExecutionStarted` and runs the definition in the background.
   *
   * @param options.input must be valid JSON (StartExecution checks it first)
   */
  static start(options: ExecutionOptions): Execution {
    const execution = new Execution(options);
    execution.#begin();
    return execution;
  }

  /**
   * Stops a running execution (StopExecution): records `ExecutionAborted` with `error` and
   * `cause`, aborts the runner and any service call in flight.
   *
   * @returns false when the execution had already finished (nothing changes)
   */
  stop(error?: string, cause?: string): boolean {
    if (this.status !== 'RUNNING') return false;
    this.#finish('ABORTED', { error, cause });
    return true;
  }

  #begin(): void {
    const { definition, roleArn } = this.#options;
    this.history.append({
      type: 'ExecutionStarted',
      timestamp: seconds(this.startDate),
      executionStartedEventDetails: { input: this.input, inputDetails: { truncated: false }, roleArn },
    });
    const handlers: NonNullable<TaskHandlers> = {};
    for (const state of definition.states.values()) {
      // Every Task gets a handler, so the library never calls AWS itself.
      if (state.type === 'Task')
        handlers[state.name] = this.#taskHandler(state) as NonNullable<TaskHandlers>[string];
    }
    const machine = new StateMachine(definition.runnable, { validationOptions: { noValidate: true } });
    const run = machine.run(JSON.parse(this.input), {
      overrides: { taskResourceLocalHandlers: handlers },
      context: this.#context as Record<string, never>,
    });
    this.#run = run;
    const outcome = run.result.then(
      (value): Outcome => ({ ok: true, value }),
      (error: unknown): Outcome => ({ ok: false, error }),
    );
    const consumed = this.#consume(run.eventLogs);
    void Promise.all([outcome, consumed]).then(([settled, consumeError]) => {
      this.#settle(settled, consumeError);
    });
  }

  async #consume(events: AsyncGenerator<LibraryEvent>): Promise<unknown> {
    try {
      for await (const event of events) this.#onLibraryEvent(event);
      return undefined;
    } catch (error) {
      return error;
    }
  }

  #settle(outcome: Outcome, consumeError: unknown): void {
    if (consumeError !== undefined) {
      this.#finish('FAILED', {
        error: 'States.Runtime',
        cause: `The local Step Functions emulator failed to record the execution: ${String(consumeError)}`,
      });
    } else if (outcome.ok) {
      this.#finish('SUCCEEDED', { output: stringify(outcome.value) });
    } else if (outcome.error instanceof ExecutionTimeoutError) {
      this.#finish('TIMED_OUT', {
        error: 'States.Timeout',
        cause: `The execution ran longer than its TimeoutSeconds (${String(this.#options.definition.document.TimeoutSeconds)} seconds)`,
      });
    } else if (outcome.error instanceof ExecutionAbortedError) {
      this.#finish('ABORTED', {});
    } else if (outcome.error instanceof ExecutionError && outcome.error.cause instanceof Error) {
      const failure = outcome.error.cause;
      // A Fail state without Error/Cause reaches us as the library's defaults; AWS reports neither.
      const error = failure.name === 'FailStateError' ? undefined : failure.name;
      const cause =
        failure.message === 'Execution failed because of a Fail state' ? undefined : failure.message;
      this.#finish('FAILED', { error, cause });
    } else {
      this.#finish('FAILED', { error: 'States.Runtime', cause: String(outcome.error) });
    }
    this.#resolveFinished();
  }

  /** Records the terminal event and lets go of the runner; only the first call counts. */
  #finish(
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    details: { output?: string; error?: string | undefined; cause?: string | undefined },
  ): void {
    if (this.status !== 'RUNNING') return;
    const now = Date.now();
    const errorAndCause = {
      ...(details.error === undefined ? {} : { error: details.error }),
      ...(details.cause === undefined ? {} : { cause: details.cause }),
    };
    const event: NewHistoryEvent =
      status === 'SUCCEEDED'
        ? {
            type: 'ExecutionSucceeded',
            timestamp: seconds(now),
            executionSucceededEventDetails: { output: details.output, outputDetails: { truncated: false } },
          }
        : status === 'FAILED'
          ? { type: 'ExecutionFailed', timestamp: seconds(now), executionFailedEventDetails: errorAndCause }
          : status === 'TIMED_OUT'
            ? {
                type: 'ExecutionTimedOut',
                timestamp: seconds(now),
                executionTimedOutEventDetails: errorAndCause,
              }
            : {
                type: 'ExecutionAborted',
                timestamp: seconds(now),
                executionAbortedEventDetails: errorAndCause,
              };
    this.history.append(event);
    this.status = status;
    this.stopDate = now;
    if (details.output !== undefined) this.output = details.output;
    if (details.error !== undefined) this.error = details.error;
    if (details.cause !== undefined) this.cause = details.cause;
    this.#taskAbort.abort();
    this.#run?.abort();
    this.#lastEnteredScope.clear();
    this.#taskScopes.clear();
    this.#containers.clear();
  }

  /** Appends an event unless finished; at the history limit the execution fails instead. */
  #record(event: NewHistoryEvent, scope: string): void {
    if (this.status !== 'RUNNING') return;
    if (this.history.nearlyFull) {
      this.#finish('FAILED', {
        error: 'States.Runtime',
        cause: `The execution reached the maximum number of history events (${this.history.limit}).`,
      });
      return;
    }
    this.history.append(event, scope);
  }

  /** The Map and Parallel states around `state`, outermost first. */
  #containersOf(state: StateInfo): NonNullable<StateInfo['container']>[] {
    const chain: NonNullable<StateInfo['container']>[] = [];
    let current: StateInfo | undefined = state;
    while (current?.container !== undefined) {
      chain.unshift(current.container);
      current = this.#options.definition.states.get(current.container.name);
    }
    return chain;
  }

  /**
   * The scope of a state's events: the top level, a Map iteration (`/Map[index]`) or a Parallel
   * branch (`/Parallel{branch}`), nested. The library tags events inside Map iterations with the
   * outermost Map's index; iterations of inner Maps share the scope `/Inner[*]`.
   */
  #scopeOf(state: StateInfo, outerMapIndex: number | undefined): string {
    let scope = rootScope;
    let mapSeen = false;
    for (const container of this.#containersOf(state)) {
      const parent = scope;
      if (container.type === 'Map') {
        scope += `/${container.name}[${!mapSeen && outerMapIndex !== undefined ? outerMapIndex : '*'}]`;
        mapSeen = true;
      } else {
        scope += `/${container.name}{${container.branch}}`;
      }
      this.history.openScope(scope, parent);
    }
    return scope;
  }

  /** The scope in which a Map or Parallel state's own events are, seen from one of its iterations or branches. */
  #containerScope(state: StateInfo): string {
    const nestedInMap = this.#containersOf(state).some((container) => container.type === 'Map');
    // Inside another Map the outer index is unknown here: use the scope it was last entered in.
    return nestedInMap
      ? (this.#lastEnteredScope.get(state.name) ?? this.#scopeOf(state, undefined))
      : this.#scopeOf(state, undefined);
  }

  #mapLength(state: StateInfo, rawInput: Json): number | undefined {
    const definition = state.definition;
    let effective: Json = rawInput;
    if (definition.InputPath === null) effective = {};
    else if (typeof definition.InputPath === 'string') {
      const selected = evaluateReferencePath(definition.InputPath, rawInput, this.#context);
      if (selected === undefined) return undefined;
      effective = selected.value;
    }
    const itemsPath = typeof definition.ItemsPath === 'string' ? definition.ItemsPath : '$';
    const items = evaluateReferencePath(itemsPath, effective, this.#context);
    return items !== undefined && Array.isArray(items.value) ? items.value.length : undefined;
  }

  #containerProgress(state: StateInfo, scope: string): ContainerProgress {
    const key = `${scope}|${state.name}`;
    let progress = this.#containers.get(key);
    if (progress === undefined) {
      progress = { failed: false };
      this.#containers.set(key, progress);
    }
    return progress;
  }

  #onLibraryEvent(event: LibraryEvent): void {
    if (this.status !== 'RUNNING') return;
    const timestamp = seconds(event.timestamp);
    const states = this.#options.definition.states;
    switch (event.type) {
      case 'StateEntered': {
        const state = states.get(event.state.name);
        if (state === undefined) return;
        const scope = this.#scopeOf(state, event.index);
        this.#lastEnteredScope.set(state.name, scope);
        if (state.type === 'Task') this.#queueTaskScope(state.name, scope);
        this.#record(
          {
            type: `${state.type}StateEntered` as HistoryEventType,
            timestamp,
            stateEnteredEventDetails: {
              name: state.name,
              input: stringify(event.state.input),
              inputDetails: { truncated: false },
            },
          },
          scope,
        );
        // A Map or Parallel starts its iterations or branches at once: AWS records *StateStarted next.
        if (state.type === 'Map') {
          this.#containers.set(`${scope}|${state.name}`, { failed: false });
          const length = this.#mapLength(state, event.state.input as Json);
          this.#record(
            {
              type: 'MapStateStarted',
              timestamp,
              mapStateStartedEventDetails: length === undefined ? {} : { length },
            },
            scope,
          );
        } else if (state.type === 'Parallel') {
          this.#containers.set(`${scope}|${state.name}`, { failed: false });
          this.#record({ type: 'ParallelStateStarted', timestamp }, scope);
        }
        return;
      }
      case 'StateExited': {
        const state = states.get(event.state.name);
        if (state === undefined) return;
        const scope = this.#scopeOf(state, event.index);
        if (state.type === 'Map' || state.type === 'Parallel') {
          const progress = this.#containerProgress(state, scope);
          if (!progress.failed) {
            this.#record({ type: `${state.type}StateSucceeded` as HistoryEventType, timestamp }, scope);
          }
        }
        this.#record(
          {
            type: `${state.type}StateExited` as HistoryEventType,
            timestamp,
            stateExitedEventDetails: {
              name: state.name,
              output: stringify(event.state.output),
              outputDetails: { truncated: false },
            },
          },
          scope,
        );
        return;
      }
      case 'StateFailed': {
        const state = states.get(event.state.name);
        if (state === undefined) return;
        const scope = this.#scopeOf(state, event.index);
        if (state.type === 'Map' || state.type === 'Parallel') {
          this.#containerProgress(state, scope).failed = true;
          this.#record({ type: `${state.type}StateFailed` as HistoryEventType, timestamp }, scope);
        } else if (state.type === 'Task' && event.Error === 'States.Timeout') {
          this.#taskTimedOut(state, scope, timestamp);
        } else if (state.type === 'Task') {
          // Failed before its handler was called (a Parameters path that matched nothing, say).
          this.#unqueueTaskScope(state.name, scope);
        }
        return;
      }
      case 'StateRetried': {
        const state = states.get(event.state.name);
        if (state === undefined) return;
        if (state.type === 'Task') {
          // The library calls the handler again right after dispatching this event.
          this.#queueTaskScope(state.name, this.#scopeOf(state, event.index));
          return;
        }
        if (state.type !== 'Map' && state.type !== 'Parallel') return;
        this.#containerProgress(state, this.#scopeOf(state, event.index)).failed = false;
        return;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const map = states.get(event.parentState.name);
        if (map === undefined) return;
        const mapScope = this.#containerScope(map);
        const outermost = !this.#containersOf(map).some((container) => container.type === 'Map');
        const iterationScope = `${mapScope}/${map.name}[${outermost ? event.index : '*'}]`;
        this.history.openScope(iterationScope, mapScope);
        const details = { name: map.name, index: event.index };
        const detailsKey =
          event.type === 'MapIterationStarted'
            ? 'mapIterationStartedEventDetails'
            : event.type === 'MapIterationSucceeded'
              ? 'mapIterationSucceededEventDetails'
              : 'mapIterationFailedEventDetails';
        this.#record({ type: event.type, timestamp, [detailsKey]: details }, iterationScope);
        return;
      }
      default:
        // Execution* events: the outcome of run.result decides the terminal event.
        // ParallelBranch* and StateCaught have no AWS counterpart.
        return;
    }
  }

  #queueTaskScope(stateName: string, scope: string): void {
    const queue = this.#taskScopes.get(stateName) ?? [];
    queue.push(scope);
    this.#taskScopes.set(stateName, queue);
  }

  #unqueueTaskScope(stateName: string, scope: string): void {
    const queue = this.#taskScopes.get(stateName);
    const index = queue?.indexOf(scope) ?? -1;
    if (queue !== undefined && index >= 0) queue.splice(index, 1);
  }

  #taskTimedOut(state: StateInfo, scope: string, timestamp: number): void {
    const attempt = this.#attempts.get(state.name)?.find((candidate) => !candidate.abandoned);
    if (attempt !== undefined) attempt.abandoned = true;
    const resource = describeTaskResource(String(state.definition.Resource));
    const details = { error: 'States.Timeout' };
    if (resource.kind === 'lambdaFunction') {
      this.#record(
        { type: 'LambdaFunctionTimedOut', timestamp, lambdaFunctionTimedOutEventDetails: details },
        scope,
      );
    } else if (resource.kind !== 'unsupported') {
      this.#record(
        {
          type: 'TaskTimedOut',
          timestamp,
          taskTimedOutEventDetails: {
            resourceType: resource.resourceType,
            resource: resource.resource,
            ...details,
          },
        },
        scope,
      );
    }
  }

  /** The handler aws-local-stepfunctions calls for a Task state, once per attempt. */
  #taskHandler(state: StateInfo): (input: Json) => Promise<Json> {
    const resource = describeTaskResource(String(state.definition.Resource));
    const timeoutInSeconds =
      typeof state.definition.TimeoutSeconds === 'number' ? state.definition.TimeoutSeconds : undefined;
    return async (input: Json): Promise<Json> => {
      // The library dispatched TaskStateEntered just before calling us; let the event consumer,
      // which runs on microtasks, record it before this attempt's events.
      await nextMacrotask();
      if (this.status !== 'RUNNING') {
        throw new TaskFailure('States.Runtime', 'The execution is no longer running', { terminal: true });
      }
      const invocation = {
        resource,
        input,
        stateName: state.name,
        executionArn: this.executionArn,
        stateMachineArn: this.stateMachineArn,
        abortSignal: this.#taskAbort.signal,
      };
      if (resource.kind === 'unsupported') {
        // Fails with States.Runtime naming the resource; nothing was scheduled.
        return runTaskResource(invocation, this.#options.clients);
      }
      const scope =
        this.#taskScopes.get(state.name)?.shift() ?? this.#lastEnteredScope.get(state.name) ?? rootScope;
      const attempt: TaskAttempt = { abandoned: false };
      const attempts = this.#attempts.get(state.name) ?? [];
      attempts.push(attempt);
      this.#attempts.set(state.name, attempts);
      const now = (): number => seconds(Date.now());
      if (resource.kind === 'lambdaFunction') {
        this.#record(
          {
            type: 'LambdaFunctionScheduled',
            timestamp: now(),
            lambdaFunctionScheduledEventDetails: {
              resource: resource.arn,
              input: stringify(input),
              inputDetails: { truncated: false },
              ...(timeoutInSeconds === undefined ? {} : { timeoutInSeconds }),
            },
          },
          scope,
        );
        this.#record({ type: 'LambdaFunctionStarted', timestamp: now() }, scope);
      } else {
        const names = { resourceType: resource.resourceType, resource: resource.resource };
        this.#record(
          {
            type: 'TaskScheduled',
            timestamp: now(),
            taskScheduledEventDetails: {
              ...names,
              region: this.#options.region,
              parameters: stringify(input),
              ...(timeoutInSeconds === undefined ? {} : { timeoutInSeconds }),
            },
          },
          scope,
        );
        this.#record({ type: 'TaskStarted', timestamp: now(), taskStartedEventDetails: names }, scope);
      }
      try {
        const result = await runTaskResource(invocation, this.#options.clients);
        if (!attempt.abandoned) {
          const output = { output: stringify(result), outputDetails: { truncated: false } };
          this.#record(
            resource.kind === 'lambdaFunction'
              ? {
                  type: 'LambdaFunctionSucceeded',
                  timestamp: now(),
                  lambdaFunctionSucceededEventDetails: output,
                }
              : {
                  type: 'TaskSucceeded',
                  timestamp: now(),
                  taskSucceededEventDetails: {
                    resourceType: resource.resourceType,
                    resource: resource.resource,
                    ...output,
                  },
                },
            scope,
          );
        }
        return result;
      } catch (error) {
        const failure =
          error instanceof TaskFailure
            ? error
            : new TaskFailure('States.Runtime', String(error), { terminal: true, cause: error });
        if (!attempt.abandoned) {
          const details = { error: failure.name, cause: failure.message };
          this.#record(
            resource.kind === 'lambdaFunction'
              ? { type: 'LambdaFunctionFailed', timestamp: now(), lambdaFunctionFailedEventDetails: details }
              : {
                  type: 'TaskFailed',
                  timestamp: now(),
                  taskFailedEventDetails: {
                    resourceType: resource.resourceType,
                    resource: resource.resource,
                    ...details,
                  },
                },
            scope,
          );
        }
        throw failure;
      } finally {
        attempts.splice(attempts.indexOf(attempt), 1);
      }
    };
  }
}
