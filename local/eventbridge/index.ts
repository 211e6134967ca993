import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { isObject } from '../../domain/objects.ts';
import { AwsJsonError, dispatchAwsJson, sendAwsJsonError } from '../aws-json.ts';
import { closeServer, listen } from '../http.ts';
import { localAccountId, localCredentials, localRegion } from '../net.ts';
import { InvalidJsonPathError, parseJsonPath, type TargetInput, targetPayload } from './input.ts';
import { type EventPattern, InvalidEventPatternError, parseEventPattern } from './pattern.ts';

export { compileEventPattern, InvalidEventPatternError, parseEventPattern } from './pattern.ts';

/** An event as EventBridge delivers it to targets (and as the tail shows it). */
export interface EventBridgeEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  /** ISO 8601 in whole seconds, `2024-05-01T12:00:00Z`. */
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  /** The entry's `Detail`, parsed. */
  readonly detail: unknown;
}

/** Where an event was put. */
export interface EventBridgeEventMeta {
  readonly eventBusName: string;
}

/** Options of {@link startEventBridgeEmulator}. */
export interface EventBridgeEmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 - the OS picks a free port */
  readonly port?: number;
  /** Lambda API endpoint for Lambda targets (asynchronous Invoke). @default - Lambda targets are refused */
  readonly lambdaEndpoint?: string;
  /** Step Functions endpoint for state machine targets (StartExecution). @default - state machine targets are refused */
  readonly stepFunctionsEndpoint?: string;
  /** Appends every accepted event to this file as one JSON line. @default - no file */
  readonly tailFile?: string;
  /** @default 'us-east-1' (local/net.ts localRegion) */
  readonly region?: string;
  /** @default '000000000000' (local/net.ts localAccountId) */
  readonly accountId?: string;
  /**
   * Pauses before the 2nd, 3rd... delivery attempt of a failed target, in milliseconds
   * (EventBridge retries with backoff for up to 24 hours and 185 attempts; the local cloud
   * tries `1 + length` times, capped by the target's `RetryPolicy.MaximumRetryAttempts`).
   * @default [1000, 2000]
   */
  readonly retryDelaysMs?: readonly number[];
  /** Receives notices: failed deliveries, schedules that are not run. @default - lines to stderr */
  readonly logSink?: (line: string) => void;
}

/** A running EventBridge emulator. */
export interface RunningEventBridgeEmulator {
  /** `http://127.0.0.1:<port>`: `endpoint` of `EventBridgeClient`, `--endpoint-url` of `aws events`. */
  readonly endpoint: string;
  /** Calls `listener` for every accepted event; returns the function that stops it. */
  subscribe(listener: (event: EventBridgeEvent, meta: EventBridgeEventMeta) => void): () => void;
  /** Deliveries to targets so far: succeeded, failed for good, and still pending. */
  deliveryStats(): { readonly delivered: number; readonly failed: number; readonly pending: number };
  /** Ends tail streams, stops retries and pending deliveries, closes the tail file and the server. */
  close(): Promise<void>;
}

/** An EventBridge API error: `__type` and HTTP status as the awsJson1_1 protocol carries them. */
export class EventBridgeApiError extends AwsJsonError {
  constructor(code: string, message: string, status = 400, options?: ErrorOptions) {
    super(code, message, status, options);
    this.name = 'EventBridgeApiError';
  }
}

/** A target the emulator cannot deliver to (no endpoint for its service, or an unknown bus): not retried. */
class TargetNotSupportedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TargetNotSupportedError';
  }
}

/** PutEvents takes 1 to 10 entries (EventBridge quota). */
const maxEntriesPerPutEvents = 10;
/** PutEvents entries together may be at most 256 KB (EventBridge quota). */
const maxPutEventsBytes = 256 * 1024;
/** A rule has at most 5 targets (EventBridge quota). */
const maxTargetsPerRule = 5;
/** PutTargets and RemoveTargets take at most 10 targets per call (EventBridge API reference). */
const maxTargetsPerCall = 10;
/** DetailType is at most 128 characters (EventBridge silently drops longer ones; the local cloud refuses them). */
const maxDetailTypeLength = 128;

/** Errors that a later attempt cannot fix: delivery stops at once, as EventBridge does for them. */
const nonRetryableErrors = new Set([
  'ResourceNotFoundException',
  'InvalidParameterValueException',
  'ValidationException',
  'StateMachineDoesNotExist',
  'InvalidArn',
  'InvalidExecutionInput',
  'TargetNotSupportedError',
]);

const busNamePattern = /^[/.\-_A-Za-z0-9]{1,256}$/;
const ruleNamePattern = /^[.\-_A-Za-z0-9]{1,64}$/;
const targetIdPattern = /^[.\-_A-Za-z0-9]{1,64}$/;

interface Target extends TargetInput {
  readonly Id: string;
  readonly Arn: string;
  readonly RoleArn?: string;
  readonly RetryPolicy?: {
    readonly MaximumRetryAttempts?: number;
    readonly MaximumEventAgeInSeconds?: number;
  };
  readonly DeadLetterConfig?: { readonly Arn?: string };
}

interface Rule {
  readonly name: string;
  readonly arn: string;
  readonly busName: string;
  eventPattern?: string;
  pattern?: EventPattern;
  scheduleExpression?: string;
  state: string;
  description?: string;
  roleArn?: string;
  readonly targets: Map<string, Target>;
}

interface Bus {
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  readonly creationTime: number;
  lastModifiedTime: number;
  readonly rules: Map<string, Rule>;
}

type Json = Record<string, unknown>;

function validation(message: string): EventBridgeApiError {
  return new EventBridgeApiError('ValidationException', message);
}

function optionalString(input: Json, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validation(`${name} must be a string`);
  return value;
}

function requiredString(input: Json, name: string): string {
  const value = optionalString(input, name);
  if (value === undefined || value === '')
    throw validation(
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

/** Opaque pagination tokens: the offset, base64url. */
function page<T>(items: readonly T[], input: Json): { items: T[]; nextToken?: string } {
  const limit = input.Limit === undefined ? 100 : Number(input.Limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw validation('Limit must be an integer from 1 to 100');
  const token = optionalString(input, 'NextToken');
  const offset = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) throw validation('The NextToken is not valid');
  const slice = items.slice(offset, offset + limit);
  return offset + limit < items.length
    ? { items: slice, nextToken: Buffer.from(String(offset + limit)).toString('base64url') }
    : { items: slice };
}

/** `2024-05-01T12:00:00Z`: EventBridge's event time, whole seconds. */
function eventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * Starts a local EventBridge (awsJson1_1, `X-Amz-Target: AWSEvents.<Operation>`):
 * CreateEventBus, DescribeEventBus, DeleteEventBus, ListEventBuses (the `default` bus always
 * exists), PutEvents, PutRule, DescribeRule, ListRules, DeleteRule, PutTargets, RemoveTargets,
 * ListTargetsByRule and TestEventPattern.
 *
 * Rules with an `EventPattern` deliver matching events to their targets: Lambda functions
 * (asynchronous Invoke on `lambdaEndpoint`), Step Functions state machines (StartExecution on
 * `stepFunctionsEndpoint`) and event buses of this emulator; `Input`, `InputPath` and
 * `InputTransformer` shape what they receive. A `ScheduleExpression` is stored and described
 * but never run locally (a notice says so). IAM roles are not enforced.
 *
 * Differences from AWS, on purpose: an entry for an unknown bus and a DetailType over 128
 * characters get per-entry errors, where EventBridge accepts them and drops them silently.
 *
 * Every accepted event is also streamed as NDJSON by `GET /_greco/tail` (optionally
 * `?eventBusName=<name>`), appended to `tailFile`, and passed to {@link RunningEventBridgeEmulator.subscribe}.
 *
 * @example
 * const eventbridge = await startEventBridgeEmulator({ lambdaEndpoint: lambda.endpoint });
 * // curl -N http://127.0.0.1:<port>/_greco/tail
 */
export async function startEventBridgeEmulator(
  options: EventBridgeEmulatorOptions = {},
): Promise<RunningEventBridgeEmulator> {
  const region = options.region ?? localRegion;
  const accountId = options.accountId ?? localAccountId;
  const retryDelaysMs = options.retryDelaysMs ?? [1000, 2000];
  const log = options.logSink ?? ((line: string) => process.stderr.write(`${line}\n`));
  const clientConfig = { region, credentials: localCredentials, maxAttempts: 1 };
  const lambda =
    options.lambdaEndpoint === undefined
      ? undefined
      : new LambdaClient({ ...clientConfig, endpoint: options.lambdaEndpoint });
  const sfn =
    options.stepFunctionsEndpoint === undefined
      ? undefined
      : new SFNClient({ ...clientConfig, endpoint: options.stepFunctionsEndpoint });
  const tailFile: WriteStream | undefined =
    options.tailFile === undefined ? undefined : createWriteStream(options.tailFile, { flags: 'a' });
  const listeners = new Set<(event: EventBridgeEvent, meta: EventBridgeEventMeta) => void>();
  const tails = new Set<{ res: ServerResponse; bus?: string }>();
  const timers = new Set<NodeJS.Timeout>();
  const inflight = new Set<Promise<unknown>>();
  const stats = { delivered: 0, failed: 0, pending: 0 };
  let closing = false;

  const busArn = (name: string) => `arn:aws:events:${region}:${accountId}:event-bus/${name}`;
  const ruleArn = (bus: string, name: string) =>
    `arn:aws:events:${region}:${accountId}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
  const now = () => Math.floor(Date.now() / 1000);
  const buses = new Map<string, Bus>();
  buses.set('default', {
    name: 'default',
    arn: busArn('default'),
    creationTime: now(),
    lastModifiedTime: now(),
    rules: new Map(),
  });

  /** A bus name or ARN → its name. */
  const busNameOf = (nameOrArn: string | undefined): string => {
    if (nameOrArn === undefined || nameOrArn === '') return 'default';
    const marker = ':event-bus/';
    const at = nameOrArn.indexOf(marker);
    return nameOrArn.startsWith('arn:') && at !== -1 ? nameOrArn.slice(at + marker.length) : nameOrArn;
  };
  const getBus = (nameOrArn: string | undefined): Bus => {
    const name = busNameOf(nameOrArn);
    const bus = buses.get(name);
    if (bus === undefined)
      throw new EventBridgeApiError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return bus;
  };
  const getRule = (input: Json, field = 'Name'): Rule => {
    const bus = getBus(optionalString(input, 'EventBusName'));
    const name = requiredString(input, field);
    const rule = bus.rules.get(name);
    if (rule === undefined) {
      throw new EventBridgeApiError(
        'ResourceNotFoundException',
        `Rule ${name} does not exist on EventBus ${bus.name}.`,
      );
    }
    return rule;
  };

  // ------------------------------------------------------------------ delivery

  const publish = (event: EventBridgeEvent, bus: string): void => {
    const line = `${JSON.stringify(event)}\n`;
    tailFile?.write(line);
    for (const tail of tails) if (tail.bus === undefined || tail.bus === bus) tail.res.write(line);
    for (const listener of listeners) {
      try {
        listener(event, { eventBusName: bus });
      } catch (error) {
        log(`local EventBridge: a subscriber threw: ${(error as Error).message}`);
      }
    }
  };

  const sendToTarget = async (target: Target, payload: string, event: EventBridgeEvent): Promise<void> => {
    const arn = target.Arn;
    if (arn.startsWith('arn:aws:lambda:') || arn.includes(':lambda:')) {
      if (lambda === undefined) throw new TargetNotSupportedError('no Lambda endpoint is configured');
      await lambda.send(
        new InvokeCommand({ FunctionName: arn, InvocationType: 'Event', Payload: Buffer.from(payload) }),
      );
      return;
    }
    if (arn.includes(':states:') && arn.includes(':stateMachine:')) {
      if (sfn === undefined) throw new TargetNotSupportedError('no Step Functions endpoint is configured');
      await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: payload }));
      return;
    }
    if (arn.includes(':events:') && arn.includes(':event-bus/')) {
      const bus = buses.get(busNameOf(arn));
      if (bus === undefined) throw new TargetNotSupportedError(`event bus ${busNameOf(arn)} does not exist`);
      accept({ ...event, id: randomUUID() }, bus);
      return;
    }
    throw new TargetNotSupportedError(`targets of this kind are not supported locally: ${arn}`);
  };

  const deliver = (rule: Rule, target: Target, event: EventBridgeEvent, attempt: number): void => {
    if (closing) return;
    let payload: string;
    try {
      payload = targetPayload(target, event as unknown as Json, rule, event.time);
    } catch (error) {
      stats.failed++;
      log(`local EventBridge: rule ${rule.name} target ${target.Id}: ${(error as Error).message}`);
      return;
    }
    stats.pending++;
    const sending = sendToTarget(target, payload, event).then(
      () => {
        stats.pending--;
        stats.delivered++;
      },
      (error: unknown) => {
        stats.pending--;
        const maxRetries = Math.min(
          retryDelaysMs.length,
          target.RetryPolicy?.MaximumRetryAttempts ?? retryDelaysMs.length,
        );
        const reason = `${(error as Error).name}: ${(error as Error).message}`;
        const retryable = !nonRetryableErrors.has((error as Error).name);
        if (retryable && attempt < maxRetries && !closing) {
          stats.pending++;
          const timer = setTimeout(() => {
            timers.delete(timer);
            stats.pending--;
            deliver(rule, target, event, attempt + 1);
          }, retryDelaysMs[attempt]);
          timers.add(timer);
          return;
        }
        stats.failed++;
        log(
          `local EventBridge: event ${event.id} not delivered by rule ${rule.name} to target ${target.Id} (${target.Arn}) after ${attempt + 1} attempt(s): ${reason}`,
        );
      },
    );
    inflight.add(sending);
    void sending.finally(() => inflight.delete(sending));
  };

  const accept = (event: EventBridgeEvent, bus: Bus): void => {
    publish(event, bus.name);
    for (const rule of bus.rules.values()) {
      if (rule.state === 'DISABLED' || rule.pattern === undefined) continue;
      if (!rule.pattern.matches(event)) continue;
      for (const target of rule.targets.values()) deliver(rule, target, event, 0);
    }
  };

  // ------------------------------------------------------------------ operations

  const busDescription = (bus: Bus): Json => ({
    Name: bus.name,
    Arn: bus.arn,
    ...(bus.description === undefined ? {} : { Description: bus.description }),
    CreationTime: bus.creationTime,
    LastModifiedTime: bus.lastModifiedTime,
  });

  const ruleDescription = (rule: Rule): Json => ({
    Name: rule.name,
    Arn: rule.arn,
    EventBusName: rule.busName,
    State: rule.state,
    ...(rule.eventPattern === undefined ? {} : { EventPattern: rule.eventPattern }),
    ...(rule.scheduleExpression === undefined ? {} : { ScheduleExpression: rule.scheduleExpression }),
    ...(rule.description === undefined ? {} : { Description: rule.description }),
    ...(rule.roleArn === undefined ? {} : { RoleArn: rule.roleArn }),
  });

  const validateEntry = (
    entry: unknown,
  ): { event: EventBridgeEvent; bus: Bus } | { ErrorCode: string; ErrorMessage: string } => {
    const invalid = (parameter: string, reason: string) => ({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Parameter ${parameter} is not valid. Reason: ${reason}`,
    });
    if (!isObject(entry)) return invalid('Entry', 'An entry must be an object.');
    const source = entry.Source;
    const detailType = entry.DetailType;
    const detailText = entry.Detail;
    if (typeof source !== 'string' || source === '')
      return invalid('Source', 'Source is a required argument.');
    if (typeof detailType !== 'string' || detailType === '')
      return invalid('DetailType', 'DetailType is a required argument.');
    if (detailType.length > maxDetailTypeLength) {
      return invalid('DetailType', `DetailType is longer than ${maxDetailTypeLength} characters.`);
    }
    if (typeof detailText !== 'string' || detailText === '')
      return invalid('Detail', 'Detail is a required argument.');
    let detail: unknown;
    try {
      detail = JSON.parse(detailText);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (!isObject(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    if (source.startsWith('aws.')) {
      return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
    }
    const resources = entry.Resources ?? [];
    if (!Array.isArray(resources) || resources.some((r) => typeof r !== 'string')) {
      return invalid('Resources', 'Resources must be a list of strings.');
    }
    const busName = busNameOf(typeof entry.EventBusName === 'string' ? entry.EventBusName : undefined);
    const bus = buses.get(busName);
    if (bus === undefined) {
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` };
    }
    let time = new Date();
    if (entry.Time !== undefined && entry.Time !== null) {
      const seconds = Number(entry.Time);
      if (!Number.isFinite(seconds)) return invalid('Time', 'Time must be a timestamp.');
      time = new Date(seconds * 1000);
    }
    return {
      bus,
      event: {
        version: '0',
        id: randomUUID(),
        'detail-type': detailType,
        source,
        account: accountId,
        time: eventTime(time),
        region,
        resources: resources as string[],
        detail,
      },
    };
  };

  const validateTarget = (target: unknown): Target => {
    if (!isObject(target)) throw validation('Each target must be an object');
    const id = requiredString(target, 'Id');
    requiredString(target, 'Arn');
    if (!targetIdPattern.test(id))
      throw validation(`Target Id ${JSON.stringify(id)} must be 1 to 64 characters of [.-_A-Za-z0-9]`);
    const shaping = ['Input', 'InputPath', 'InputTransformer'].filter(
      (k) => target[k] !== undefined && target[k] !== null,
    );
    if (shaping.length > 1) {
      throw validation(
        `Target ${id}: only one of Input, InputPath, or InputTransformer can be set, got ${shaping.join(', ')}`,
      );
    }
    const input = optionalString(target, 'Input');
    if (input !== undefined) {
      try {
        JSON.parse(input);
      } catch (error) {
        throw new EventBridgeApiError('ValidationException', `Target ${id}: Input is not valid JSON`, 400, {
          cause: error,
        });
      }
    }
    const inputPath = optionalString(target, 'InputPath');
    const transformer = target.InputTransformer;
    try {
      if (inputPath !== undefined) parseJsonPath(inputPath);
      if (transformer !== undefined && transformer !== null) {
        if (!isObject(transformer) || typeof transformer.InputTemplate !== 'string') {
          throw validation(`Target ${id}: InputTransformer needs an InputTemplate`);
        }
        const paths = transformer.InputPathsMap ?? {};
        if (!isObject(paths)) throw validation(`Target ${id}: InputPathsMap must be an object`);
        for (const [name, path] of Object.entries(paths)) {
          if (typeof path !== 'string')
            throw validation(`Target ${id}: InputPathsMap.${name} must be a string`);
          if (name.startsWith('aws.'))
            throw validation(`Target ${id}: InputPathsMap key ${name} is reserved`);
          parseJsonPath(path);
        }
      }
    } catch (error) {
      if (error instanceof InvalidJsonPathError) {
        throw new EventBridgeApiError('ValidationException', `Target ${id}: ${error.message}`, 400, {
          cause: error,
        });
      }
      throw error;
    }
    return target as unknown as Target;
  };

  const targetSupport = (arn: string): string | undefined => {
    if (/^arn:[^:]+:lambda:[^:]*:[^:]*:function:/.test(arn)) {
      return lambda === undefined
        ? 'the local EventBridge has no Lambda endpoint for Lambda targets'
        : undefined;
    }
    if (/^arn:[^:]+:states:[^:]*:[^:]*:stateMachine:/.test(arn)) {
      return sfn === undefined
        ? 'the local EventBridge has no Step Functions endpoint for state machine targets'
        : undefined;
    }
    if (/^arn:[^:]+:events:[^:]*:[^:]*:event-bus\//.test(arn)) return undefined;
    return `the local EventBridge cannot deliver to ${arn}: only Lambda functions, Step Functions state machines and event buses are supported`;
  };

  const operations: Record<string, (input: Json) => Json> = {
    CreateEventBus(input) {
      const name = requiredString(input, 'Name');
      if (input.EventSourceName !== undefined) {
        throw validation('Partner event buses (EventSourceName) are not supported by the local EventBridge');
      }
      if (!busNamePattern.test(name) || name.includes('/')) {
        throw validation(
          `Event bus name ${JSON.stringify(name)} must be 1 to 256 characters of [.-_A-Za-z0-9]`,
        );
      }
      if (buses.has(name))
        throw new EventBridgeApiError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
      const description = optionalString(input, 'Description');
      const bus: Bus = {
        name,
        arn: busArn(name),
        ...(description === undefined ? {} : { description }),
        creationTime: now(),
        lastModifiedTime: now(),
        rules: new Map(),
      };
      buses.set(name, bus);
      return { EventBusArn: bus.arn, ...(description === undefined ? {} : { Description: description }) };
    },
    DescribeEventBus(input) {
      return busDescription(getBus(optionalString(input, 'Name')));
    },
    DeleteEventBus(input) {
      const name = busNameOf(requiredString(input, 'Name'));
      if (name === 'default') throw validation('Cannot delete event bus default.');
      buses.delete(name);
      return {};
    },
    ListEventBuses(input) {
      const prefix = optionalString(input, 'NamePrefix') ?? '';
      const all = [...buses.values()]
        .filter((b) => b.name.startsWith(prefix))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      const { items, nextToken } = page(all, input);
      return {
        EventBuses: items.map(busDescription),
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      };
    },
    PutEvents(input) {
      const entries = input.Entries;
      if (!Array.isArray(entries) || entries.length < 1 || entries.length > maxEntriesPerPutEvents) {
        throw validation(
          `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${maxEntriesPerPutEvents}`,
        );
      }
      let total = 0;
      for (const entry of entries) {
        if (!isObject(entry)) continue;
        if (entry.Time !== undefined) total += 14;
        for (const field of ['Source', 'DetailType', 'Detail']) {
          if (typeof entry[field] === 'string') total += Buffer.byteLength(entry[field] as string);
        }
        if (Array.isArray(entry.Resources))
          for (const r of entry.Resources) total += Buffer.byteLength(String(r));
      }
      if (total > maxPutEventsBytes)
        throw validation('Total size of the entries in the request is over the limit.');
      const results = entries.map(validateEntry);
      let failed = 0;
      const out = results.map((result) => {
        if ('ErrorCode' in result) {
          failed++;
          return result;
        }
        accept(result.event, result.bus);
        return { EventId: result.event.id };
      });
      return { FailedEntryCount: failed, Entries: out };
    },
    PutRule(input) {
      const name = requiredString(input, 'Name');
      if (!ruleNamePattern.test(name))
        throw validation(`Rule name ${JSON.stringify(name)} must be 1 to 64 characters of [.-_A-Za-z0-9]`);
      const bus = getBus(optionalString(input, 'EventBusName'));
      const eventPattern = optionalString(input, 'EventPattern');
      const scheduleExpression = optionalString(input, 'ScheduleExpression');
      if (eventPattern === undefined && scheduleExpression === undefined) {
        throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
      }
      let pattern: EventPattern | undefined;
      if (eventPattern !== undefined) {
        try {
          pattern = parseEventPattern(eventPattern);
        } catch (error) {
          if (!(error instanceof InvalidEventPatternError)) throw error;
          throw new EventBridgeApiError(
            'InvalidEventPatternException',
            `Event pattern is not valid. Reason: ${error.message}`,
            400,
            { cause: error },
          );
        }
      }
      if (scheduleExpression !== undefined) {
        if (bus.name !== 'default')
          throw validation('ScheduleExpression is supported only on the default event bus.');
        if (!/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/.test(scheduleExpression)) {
          throw validation('Parameter ScheduleExpression is not valid.');
        }
      }
      const state = optionalString(input, 'State') ?? 'ENABLED';
      if (!['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'].includes(state)) {
        throw validation(`State ${JSON.stringify(state)} must be ENABLED or DISABLED`);
      }
      const existing = bus.rules.get(name);
      const rule: Rule = existing ?? {
        name,
        arn: ruleArn(bus.name, name),
        busName: bus.name,
        state,
        targets: new Map(),
      };
      rule.eventPattern = eventPattern;
      rule.pattern = pattern;
      rule.scheduleExpression = scheduleExpression;
      rule.state = state;
      rule.description = optionalString(input, 'Description');
      rule.roleArn = optionalString(input, 'RoleArn');
      bus.rules.set(name, rule);
      if (scheduleExpression !== undefined) {
        log(
          `local EventBridge: rule ${name} has ScheduleExpression ${scheduleExpression}: it is stored but not run locally`,
        );
      }
      return { RuleArn: rule.arn };
    },
    DescribeRule(input) {
      return { ...ruleDescription(getRule(input)), CreatedBy: accountId };
    },
    ListRules(input) {
      const bus = getBus(optionalString(input, 'EventBusName'));
      const prefix = optionalString(input, 'NamePrefix') ?? '';
      const all = [...bus.rules.values()]
        .filter((r) => r.name.startsWith(prefix))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      const { items, nextToken } = page(all, input);
      return {
        Rules: items.map(ruleDescription),
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      };
    },
    DeleteRule(input) {
      const bus = getBus(optionalString(input, 'EventBusName'));
      const name = requiredString(input, 'Name');
      const rule = bus.rules.get(name);
      if (rule === undefined) return {};
      if (rule.targets.size > 0) throw validation("Rule can't be deleted since it has targets.");
      bus.rules.delete(name);
      return {};
    },
    PutTargets(input) {
      const rule = getRule(input, 'Rule');
      const targets = input.Targets;
      if (!Array.isArray(targets) || targets.length < 1 || targets.length > maxTargetsPerCall) {
        throw validation(`Targets must be a list of 1 to ${maxTargetsPerCall} targets`);
      }
      const checked = targets.map(validateTarget);
      const failed: Json[] = [];
      for (const target of checked) {
        const unsupported = targetSupport(target.Arn);
        if (unsupported !== undefined) {
          failed.push({ TargetId: target.Id, ErrorCode: 'ValidationException', ErrorMessage: unsupported });
          continue;
        }
        if (!rule.targets.has(target.Id) && rule.targets.size >= maxTargetsPerRule) {
          throw new EventBridgeApiError(
            'LimitExceededException',
            `The requested resource exceeds the maximum number allowed (${maxTargetsPerRule} targets per rule).`,
          );
        }
        rule.targets.set(target.Id, target);
      }
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    },
    RemoveTargets(input) {
      const rule = getRule(input, 'Rule');
      const ids = input.Ids;
      if (
        !Array.isArray(ids) ||
        ids.length < 1 ||
        ids.length > maxTargetsPerCall ||
        ids.some((id) => typeof id !== 'string')
      ) {
        throw validation(`Ids must be a list of 1 to ${maxTargetsPerCall} target ids`);
      }
      for (const id of ids as string[]) rule.targets.delete(id);
      return { FailedEntryCount: 0, FailedEntries: [] };
    },
    ListTargetsByRule(input) {
      const rule = getRule(input, 'Rule');
      const { items, nextToken } = page([...rule.targets.values()], input);
      return { Targets: items, ...(nextToken === undefined ? {} : { NextToken: nextToken }) };
    },
    TestEventPattern(input) {
      const patternText = requiredString(input, 'EventPattern');
      const eventText = requiredString(input, 'Event');
      let pattern: EventPattern;
      try {
        pattern = parseEventPattern(patternText);
      } catch (error) {
        if (!(error instanceof InvalidEventPatternError)) throw error;
        throw new EventBridgeApiError(
          'InvalidEventPatternException',
          `Event pattern is not valid. Reason: ${error.message}`,
        );
      }
      let event: unknown;
      try {
        event = JSON.parse(eventText);
      } catch (error) {
        throw new EventBridgeApiError('ValidationException', 'Parameter Event is not valid.', 400, {
          cause: error,
        });
      }
      return { Result: pattern.matches(event) };
    },
  };

  // ------------------------------------------------------------------ HTTP

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/_greco/tail') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
      res.flushHeaders();
      const tail = { res, bus: url.searchParams.get('eventBusName') ?? undefined };
      tails.add(tail);
      res.on('close', () => tails.delete(tail));
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      return sendAwsJsonError(
        res,
        new EventBridgeApiError(
          'UnknownOperationException',
          `${req.method} ${url.pathname} is not an EventBridge operation`,
        ),
      );
    }
    return dispatchAwsJson(req, res, {
      serviceName: 'EventBridge',
      targetPrefix: 'AWSEvents.',
      operations,
      maxRequestBytes: 1024 * 1024,
      tooLargeCode: 'ValidationException',
      error: (code, message, status) => new EventBridgeApiError(code, message, status),
    });
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      log(`local EventBridge: internal error: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent)
        sendAwsJsonError(res, new EventBridgeApiError('InternalException', 'Internal error', 500));
      else res.destroy();
    });
  });
  const endpoint = await listen(server, options.port ?? 0);

  return {
    endpoint,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    deliveryStats: () => ({ ...stats }),
    async close() {
      closing = true;
      stats.pending -= timers.size;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const tail of tails) tail.res.end();
      tails.clear();
      await Promise.allSettled([...inflight]);
      await closeServer(server);
      lambda?.destroy();
      sfn?.destroy();
      if (tailFile !== undefined) await new Promise<void>((resolve) => tailFile.end(resolve));
      listeners.clear();
    },
  };
}
