/**
 * The CloudWatch Logs operations the emulator serves: each takes the request's JSON object,
 * checks its members against the API model (names, patterns, ranges, what goes together) and
 * answers the JSON CloudWatch Logs answers. The data and its reads are in store.ts.
 */
import { isObject } from '../../domain/objects.ts';
import { invalidParameter, validationError } from './errors.ts';
import { compileFilterPattern, filterPatternMaxLength } from './filter-pattern.ts';
import type { InputLogEvent, LogStore } from './store.ts';

/** One operation: the request's JSON object in, the answer's JSON out. */
export type LogsOperation = (input: Record<string, unknown>) => unknown;

/** CloudWatch Logs API model: a log group name (`logGroupName`), 1 to 512 characters of these. */
const groupNamePattern = /^[.\-_/#A-Za-z0-9]+$/;
/** CloudWatch Logs API model: a log stream name, 1 to 512 characters, no `:` or `*`. */
const streamNamePattern = /^[^:*]*$/;
/** CloudWatch Logs API model: `logGroupIdentifier`, a name or an ARN, 1 to 2048 characters. */
const groupIdentifierPattern = /^[\w#+=/:,.@-]*$/;
/** PutLogEvents takes 1 to 10,000 events (API reference). */
const maxEventsPerPut = 10_000;
/** FilterLogEvents takes at most 100 `logStreamNames` (API reference). */
const maxStreamNames = 100;

function text(
  input: Record<string, unknown>,
  member: string,
  max: number,
  pattern?: RegExp,
): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validationError(member, value, 'Member must be a string');
  if (value.length < 1 || value.length > max) {
    throw validationError(member, value, `Member must have length between 1 and ${max}`);
  }
  if (pattern !== undefined && !pattern.test(value)) {
    throw validationError(
      member,
      value,
      `Member must satisfy regular expression pattern: ${pattern.source.slice(1, -1)}`,
    );
  }
  return value;
}

function required<T>(value: T | undefined, member: string): T {
  if (value === undefined) throw validationError(member, null, 'Member must not be null');
  return value;
}

function integer(
  input: Record<string, unknown>,
  member: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw validationError(member, value, `Member must be an integer from ${min} to ${max}`);
  }
  return value;
}

function flag(input: Record<string, unknown>, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw validationError(member, value, 'Member must be a boolean');
  return value;
}

/** The group a read names: `logGroupName`, or `logGroupIdentifier` (a name or a log group ARN), not both. */
function groupOf(input: Record<string, unknown>): string {
  const name = text(input, 'logGroupName', 512, groupNamePattern);
  const identifier = text(input, 'logGroupIdentifier', 2048, groupIdentifierPattern);
  if (name !== undefined && identifier !== undefined) {
    throw invalidParameter('LogGroup name and LogGroup ARN are mutually exclusive parameters.');
  }
  if (identifier !== undefined) {
    const arn = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(:\*)?$/.exec(identifier);
    return arn === null ? identifier : (arn[1] as string);
  }
  if (name === undefined)
    throw invalidParameter('Either logGroupName or logGroupIdentifier must be specified.');
  return name;
}

function logEvents(input: Record<string, unknown>): InputLogEvent[] {
  const value = input.logEvents;
  if (!Array.isArray(value) || value.length < 1 || value.length > maxEventsPerPut) {
    throw validationError(
      'logEvents',
      Array.isArray(value) ? `${value.length} events` : value,
      `Member must have length between 1 and ${maxEventsPerPut}`,
    );
  }
  return value.map((event: unknown, index) => {
    if (!isObject(event)) throw validationError(`logEvents.${index + 1}`, event, 'Member must be an object');
    const timestamp = required(integer(event, 'timestamp', 0), `logEvents.${index + 1}.member.timestamp`);
    const message = event.message;
    if (typeof message !== 'string' || message.length < 1) {
      throw validationError(
        `logEvents.${index + 1}.member.message`,
        message,
        'Member must have length greater than or equal to 1',
      );
    }
    return { timestamp, message };
  });
}

/**
 * The operations, by name (`X-Amz-Target: Logs_20140328.<name>`), over `store`.
 *
 * Each throws {@link LogsApiError}: `ValidationException` for a member outside the API model,
 * `InvalidParameterException` for members that do not go together, and what the store throws.
 */
export function logsOperations(store: LogStore): Readonly<Record<string, LogsOperation>> {
  return {
    CreateLogGroup(input) {
      store.createLogGroup(required(text(input, 'logGroupName', 512, groupNamePattern), 'logGroupName'));
      return {};
    },
    DeleteLogGroup(input) {
      store.deleteLogGroup(required(text(input, 'logGroupName', 512, groupNamePattern), 'logGroupName'));
      return {};
    },
    CreateLogStream(input) {
      store.createLogStream(
        required(text(input, 'logGroupName', 512, groupNamePattern), 'logGroupName'),
        required(text(input, 'logStreamName', 512, streamNamePattern), 'logStreamName'),
      );
      return {};
    },
    DeleteLogStream(input) {
      store.deleteLogStream(
        required(text(input, 'logGroupName', 512, groupNamePattern), 'logGroupName'),
        required(text(input, 'logStreamName', 512, streamNamePattern), 'logStreamName'),
      );
      return {};
    },
    PutLogEvents(input) {
      const rejected = store.putLogEvents(
        required(text(input, 'logGroupName', 512, groupNamePattern), 'logGroupName'),
        required(text(input, 'logStreamName', 512, streamNamePattern), 'logStreamName'),
        logEvents(input),
      );
      // The sequence token is ignored by CloudWatch Logs since 2023; it is still answered.
      return {
        nextSequenceToken: String(Date.now()),
        ...(Object.keys(rejected).length === 0 ? {} : { rejectedLogEventsInfo: rejected }),
      };
    },
    DescribeLogGroups(input) {
      const prefix = text(input, 'logGroupNamePrefix', 512, groupNamePattern);
      const pattern = text(input, 'logGroupNamePattern', 512, /^[.\-_/#A-Za-z0-9]*$/);
      if (prefix !== undefined && pattern !== undefined) {
        throw invalidParameter(
          'LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.',
        );
      }
      const nextToken = text(input, 'nextToken', 4096);
      return store.describeLogGroups({
        ...(prefix === undefined ? {} : { prefix }),
        ...(pattern === undefined ? {} : { pattern }),
        limit: integer(input, 'limit', 1, 50) ?? 50,
        ...(nextToken === undefined ? {} : { nextToken }),
      });
    },
    DescribeLogStreams(input) {
      const prefix = text(input, 'logStreamNamePrefix', 512, streamNamePattern);
      const orderBy = input.orderBy ?? 'LogStreamName';
      if (orderBy !== 'LogStreamName' && orderBy !== 'LastEventTime') {
        throw validationError(
          'orderBy',
          orderBy,
          'Member must satisfy enum value set: [LogStreamName, LastEventTime]',
        );
      }
      if (orderBy === 'LastEventTime' && prefix !== undefined) {
        throw invalidParameter('Cannot order by LastEventTime with a logStreamNamePrefix.');
      }
      const nextToken = text(input, 'nextToken', 4096);
      return store.describeLogStreams(groupOf(input), {
        ...(prefix === undefined ? {} : { prefix }),
        orderBy,
        descending: flag(input, 'descending') ?? false,
        limit: integer(input, 'limit', 1, 50) ?? 50,
        ...(nextToken === undefined ? {} : { nextToken }),
      });
    },
    GetLogEvents(input) {
      const startTime = integer(input, 'startTime', 0);
      const endTime = integer(input, 'endTime', 0);
      const nextToken = text(input, 'nextToken', 4096);
      return store.getLogEvents(
        groupOf(input),
        required(text(input, 'logStreamName', 512, streamNamePattern), 'logStreamName'),
        {
          ...(startTime === undefined ? {} : { startTime }),
          ...(endTime === undefined ? {} : { endTime }),
          startFromHead: flag(input, 'startFromHead') ?? false,
          limit: integer(input, 'limit', 1, 10_000) ?? 10_000,
          ...(nextToken === undefined ? {} : { nextToken }),
        },
      );
    },
    FilterLogEvents(input) {
      const names = input.logStreamNames;
      if (
        names !== undefined &&
        (!Array.isArray(names) || names.length < 1 || names.length > maxStreamNames)
      ) {
        throw validationError(
          'logStreamNames',
          names,
          `Member must have length between 1 and ${maxStreamNames}`,
        );
      }
      const streamNames = names?.map((name: unknown, index: number) =>
        required(text({ name }, 'name', 512, streamNamePattern), `logStreamNames.${index + 1}`),
      );
      const streamPrefix = text(input, 'logStreamNamePrefix', 512, streamNamePattern);
      if (streamNames !== undefined && streamPrefix !== undefined) {
        throw invalidParameter('logStreamNames and logStreamNamePrefix are mutually exclusive parameters.');
      }
      const pattern = input.filterPattern;
      if (pattern !== undefined && (typeof pattern !== 'string' || pattern.length > filterPatternMaxLength)) {
        throw validationError(
          'filterPattern',
          pattern,
          `Member must have length less than or equal to ${filterPatternMaxLength}`,
        );
      }
      const startTime = integer(input, 'startTime', 0);
      const endTime = integer(input, 'endTime', 0);
      const nextToken = text(input, 'nextToken', 4096);
      const found = store.filterLogEvents(groupOf(input), {
        ...(streamNames === undefined ? {} : { streamNames }),
        ...(streamPrefix === undefined ? {} : { streamPrefix }),
        ...(startTime === undefined ? {} : { startTime }),
        ...(endTime === undefined ? {} : { endTime }),
        matches: compileFilterPattern(pattern),
        limit: integer(input, 'limit', 1, 10_000) ?? 10_000,
        ...(nextToken === undefined ? {} : { nextToken }),
      });
      // `searchedLogStreams` is deprecated and always empty on AWS.
      return { ...found, searchedLogStreams: [] };
    },
  };
}
