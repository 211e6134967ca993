/**
 * The CloudWatch Logs emulator's data: log groups, their streams and events, in memory, and the
 * reads of the API over them (pages, tokens, time windows). Inputs arrive already shaped by
 * operations.ts; what this module refuses is what CloudWatch Logs refuses for the data's sake
 * (a missing or existing group or stream, events out of order, a token that is not one).
 */
import { alreadyExists, invalidParameter, logGroupNotFound, logStreamNotFound } from './errors.ts';
import type { MessageFilter } from './filter-pattern.ts';

/** An event as the API returns it. `eventId` orders events: by timestamp, then by arrival. */
export interface StoredLogEvent {
  /** Milliseconds since the epoch, as the writer gave it. */
  readonly timestamp: number;
  readonly message: string;
  /** Milliseconds since the epoch, when the emulator received it. */
  readonly ingestionTime: number;
  /** 40 digits: the timestamp (16) then the arrival number (24), so that text order is event order. */
  readonly eventId: string;
}

/** An event as a writer gives it (PutLogEvents' `InputLogEvent`). */
export interface InputLogEvent {
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly message: string;
}

/** A log group as DescribeLogGroups answers it. */
export interface LogGroupDescription {
  readonly logGroupName: string;
  readonly creationTime: number;
  readonly metricFilterCount: 0;
  /** `arn:aws:logs:<region>:<account>:log-group:<name>:*`. */
  readonly arn: string;
  /** The same without `:*`. */
  readonly logGroupArn: string;
  readonly storedBytes: number;
  readonly logGroupClass: 'STANDARD';
}

/** A log stream as DescribeLogStreams answers it. */
export interface LogStreamDescription {
  readonly logStreamName: string;
  readonly creationTime: number;
  readonly firstEventTimestamp?: number;
  readonly lastEventTimestamp?: number;
  readonly lastIngestionTime?: number;
  readonly uploadSequenceToken: string;
  readonly arn: string;
  readonly storedBytes: 0;
}

/** What PutLogEvents refused without failing (its `rejectedLogEventsInfo`). */
export interface RejectedLogEventsInfo {
  /** Index of the first event more than 2 hours in the future; it and every later one were dropped. */
  readonly tooNewLogEventStartIndex?: number;
  /** Index of the last event older than 14 days; it and every earlier one were dropped. */
  readonly tooOldLogEventEndIndex?: number;
}

/** A page of FilterLogEvents. */
export interface FilteredLogEvent extends StoredLogEvent {
  readonly logStreamName: string;
}

/** Options of {@link LogStore}. */
export interface LogStoreOptions {
  readonly region: string;
  readonly accountId: string;
  /**
   * Events kept per log group; beyond, the oldest are dropped (a local cloud that runs for days
   * must not grow without bound; CloudWatch Logs keeps them as long as the group's retention).
   * @default 100000
   */
  readonly maxEventsPerGroup?: number;
  /** The clock, in milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** CloudWatch Logs quota: a PutLogEvents batch is at most 1,048,576 bytes, counted as each message's UTF-8 bytes plus 26. */
export const putLogEventsMaxBytes = 1_048_576;
/** CloudWatch Logs: the bytes each event adds to a batch (PutLogEvents API reference). */
export const perEventOverheadBytes = 26;
/** CloudWatch Logs: a response page holds at most 1 MB of events (GetLogEvents, FilterLogEvents). */
const pageMaxBytes = 1_048_576;
/** PutLogEvents: events more than 2 hours in the future are rejected. */
const tooNewMs = 2 * 3_600_000;
/** PutLogEvents: events older than 14 days are rejected. */
const tooOldMs = 14 * 86_400_000;
/** PutLogEvents: a batch may not span more than 24 hours. */
const maxBatchSpanMs = 86_400_000;
/** Lambda: a log line is cut at 256 KB. */
const functionLineMaxBytes = 262_144;

/** The smallest event id: before every event. */
const beforeAll = '0'.repeat(40);

interface StreamState {
  readonly name: string;
  readonly creationTime: number;
  /** Sorted by eventId. */
  readonly events: StoredLogEvent[];
  lastIngestionTime: number | undefined;
}

interface GroupState {
  readonly name: string;
  readonly creationTime: number;
  readonly streams: Map<string, StreamState>;
  eventCount: number;
  storedBytes: number;
}

interface PageToken {
  readonly op: string;
  readonly key: string;
}

function encodeToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(op: string, text: string): string {
  try {
    const token = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<PageToken>;
    if (token.op === op && typeof token.key === 'string') return token.key;
  } catch {
    // Not one of ours: refused below.
  }
  throw invalidParameter('The specified nextToken is invalid.');
}

function eventBytes(message: string): number {
  return Buffer.byteLength(message) + perEventOverheadBytes;
}

/** Index of the first element whose key is greater than `key` (`orEqual`: greater or equal). */
function firstAfter(events: readonly StoredLogEvent[], key: string, orEqual = false): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const id = (events[mid] as StoredLogEvent).eventId;
    if (id < key || (!orEqual && id === key)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Cuts a string to at most `maxBytes` UTF-8 bytes, on a character boundary. */
function cutToBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  return Buffer.from(text)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

/** Log groups, streams and events, in memory. */
export class LogStore {
  readonly #groups = new Map<string, GroupState>();
  readonly #region: string;
  readonly #accountId: string;
  readonly #maxEventsPerGroup: number;
  readonly #now: () => number;
  #arrivals = 0;

  constructor(options: LogStoreOptions) {
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#maxEventsPerGroup = options.maxEventsPerGroup ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** `arn:aws:logs:<region>:<account>:log-group:<name>` (without `:*`). */
  groupArn(name: string): string {
    return `arn:aws:logs:${this.#region}:${this.#accountId}:log-group:${name}`;
  }

  /** @throws LogsApiError ResourceAlreadyExistsException when the group exists */
  createLogGroup(name: string): void {
    if (this.#groups.has(name)) throw alreadyExists('log group');
    this.#groups.set(name, this.#newGroup(name));
  }

  /** @throws LogsApiError ResourceNotFoundException when the group does not exist */
  deleteLogGroup(name: string): void {
    if (!this.#groups.delete(name)) throw logGroupNotFound();
  }

  /** @throws LogsApiError ResourceNotFoundException (group), ResourceAlreadyExistsException (stream) */
  createLogStream(groupName: string, streamName: string): void {
    const group = this.#group(groupName);
    if (group.streams.has(streamName)) throw alreadyExists('log stream');
    group.streams.set(streamName, this.#newStream(streamName));
  }

  /** @throws LogsApiError ResourceNotFoundException when the group or the stream does not exist */
  deleteLogStream(groupName: string, streamName: string): void {
    const group = this.#group(groupName);
    const stream = group.streams.get(streamName);
    if (stream === undefined) throw logStreamNotFound();
    group.streams.delete(streamName);
    group.eventCount -= stream.events.length;
  }

  /**
   * PutLogEvents: stores a batch in chronological order. Events more than 2 hours ahead or older
   * than 14 days are dropped and reported, as CloudWatch Logs does.
   *
   * @throws LogsApiError ResourceNotFoundException (group or stream); InvalidParameterException when
   *   the events are not in chronological order, span more than 24 hours, or weigh more than
   *   {@link putLogEventsMaxBytes}
   */
  putLogEvents(
    groupName: string,
    streamName: string,
    events: readonly InputLogEvent[],
  ): RejectedLogEventsInfo {
    const stream = this.#group(groupName).streams.get(streamName);
    if (stream === undefined) throw logStreamNotFound();
    let bytes = 0;
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as InputLogEvent;
      bytes += eventBytes(event.message);
      if (i > 0 && event.timestamp < (events[i - 1] as InputLogEvent).timestamp) {
        throw invalidParameter('Log events in a single PutLogEvents request must be in chronological order.');
      }
    }
    if (bytes > putLogEventsMaxBytes) {
      throw invalidParameter(`Upload too large: ${bytes} bytes exceeds limit of ${putLogEventsMaxBytes}`);
    }
    const first = events[0];
    const last = events.at(-1);
    if (first !== undefined && last !== undefined && last.timestamp - first.timestamp > maxBatchSpanMs) {
      throw invalidParameter(
        'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.',
      );
    }
    const now = this.#now();
    let tooOldEnd = -1;
    let tooNewStart = events.length;
    events.forEach((event, index) => {
      if (event.timestamp < now - tooOldMs) tooOldEnd = index;
      if (event.timestamp > now + tooNewMs && tooNewStart === events.length) tooNewStart = index;
    });
    this.#store(groupName, stream, events.slice(tooOldEnd + 1, tooNewStart), now);
    return {
      ...(tooNewStart < events.length ? { tooNewLogEventStartIndex: tooNewStart } : {}),
      ...(tooOldEnd >= 0 ? { tooOldLogEventEndIndex: tooOldEnd } : {}),
    };
  }

  /**
   * Appends events as Lambda writes a function's output: the group and the stream are created
   * when missing, lines are cut at 256 KB, nothing is refused.
   */
  append(groupName: string, streamName: string, events: readonly InputLogEvent[]): void {
    let group = this.#groups.get(groupName);
    if (group === undefined) {
      group = this.#newGroup(groupName);
      this.#groups.set(groupName, group);
    }
    let stream = group.streams.get(streamName);
    if (stream === undefined) {
      stream = this.#newStream(streamName);
      group.streams.set(streamName, stream);
    }
    const cut = events.map((event) => ({
      ...event,
      message: cutToBytes(event.message, functionLineMaxBytes),
    }));
    this.#store(groupName, stream, cut, this.#now());
  }

  /** DescribeLogGroups: groups by name, `limit` per page. */
  describeLogGroups(request: {
    readonly prefix?: string;
    /** Case-insensitive substring of the name (`logGroupNamePattern`). */
    readonly pattern?: string;
    readonly limit: number;
    readonly nextToken?: string;
  }): { logGroups: LogGroupDescription[]; nextToken?: string } {
    const after = request.nextToken === undefined ? undefined : decodeToken('groups', request.nextToken);
    const pattern = request.pattern?.toLowerCase();
    const names = [...this.#groups.keys()]
      .filter((name) => request.prefix === undefined || name.startsWith(request.prefix))
      .filter((name) => pattern === undefined || name.toLowerCase().includes(pattern))
      .filter((name) => after === undefined || name > after)
      .sort();
    const page = names.slice(0, request.limit);
    const logGroups = page.map((name) => {
      const group = this.#groups.get(name) as GroupState;
      const arn = this.groupArn(name);
      return {
        logGroupName: name,
        creationTime: group.creationTime,
        metricFilterCount: 0 as const,
        arn: `${arn}:*`,
        logGroupArn: arn,
        storedBytes: group.storedBytes,
        logGroupClass: 'STANDARD' as const,
      };
    });
    const lastName = page.at(-1);
    return names.length > page.length && lastName !== undefined
      ? { logGroups, nextToken: encodeToken({ op: 'groups', key: lastName }) }
      : { logGroups };
  }

  /**
   * DescribeLogStreams: by name, or by the last event's time (`LastEventTime`), ascending unless
   * `descending`.
   *
   * @throws LogsApiError ResourceNotFoundException when the group does not exist
   */
  describeLogStreams(
    groupName: string,
    request: {
      readonly prefix?: string;
      readonly orderBy: 'LogStreamName' | 'LastEventTime';
      readonly descending: boolean;
      readonly limit: number;
      readonly nextToken?: string;
    },
  ): { logStreams: LogStreamDescription[]; nextToken?: string } {
    const group = this.#group(groupName);
    const sortKey = (stream: StreamState): string =>
      request.orderBy === 'LogStreamName'
        ? stream.name
        : `${String(stream.events.at(-1)?.timestamp ?? 0).padStart(16, '0')} ${stream.name}`;
    const after = request.nextToken === undefined ? undefined : decodeToken('streams', request.nextToken);
    const sign = request.descending ? -1 : 1;
    const streams = [...group.streams.values()]
      .filter((stream) => request.prefix === undefined || stream.name.startsWith(request.prefix))
      .map((stream) => ({ stream, key: sortKey(stream) }))
      .filter(({ key }) => after === undefined || (request.descending ? key < after : key > after))
      .sort((a, b) => (a.key < b.key ? -sign : a.key > b.key ? sign : 0));
    const page = streams.slice(0, request.limit);
    const logStreams = page.map(({ stream }) => {
      const first = stream.events[0];
      const last = stream.events.at(-1);
      return {
        logStreamName: stream.name,
        creationTime: stream.creationTime,
        ...(first === undefined ? {} : { firstEventTimestamp: first.timestamp }),
        ...(last === undefined ? {} : { lastEventTimestamp: last.timestamp }),
        ...(stream.lastIngestionTime === undefined ? {} : { lastIngestionTime: stream.lastIngestionTime }),
        uploadSequenceToken: String(stream.events.length + 1),
        arn: `${this.groupArn(groupName)}:log-stream:${stream.name}`,
        storedBytes: 0 as const,
      };
    });
    const lastKey = page.at(-1)?.key;
    return streams.length > page.length && lastKey !== undefined
      ? { logStreams, nextToken: encodeToken({ op: 'streams', key: lastKey }) }
      : { logStreams };
  }

  /**
   * GetLogEvents: the events of one stream with `startTime <= timestamp < endTime`. Without a
   * token, the first page from the head (`startFromHead`) or the newest page; `f/...` and `b/...`
   * tokens page forwards and backwards, and a token comes back unchanged at the end, as AWS does.
   *
   * @throws LogsApiError ResourceNotFoundException (group or stream), InvalidParameterException (token)
   */
  getLogEvents(
    groupName: string,
    streamName: string,
    request: {
      readonly startTime?: number;
      readonly endTime?: number;
      readonly startFromHead: boolean;
      readonly limit: number;
      readonly nextToken?: string;
    },
  ): { events: StoredLogEvent[]; nextForwardToken: string; nextBackwardToken: string } {
    const stream = this.#group(groupName).streams.get(streamName);
    if (stream === undefined) throw logStreamNotFound();
    const inWindow = stream.events.filter(
      (event) =>
        (request.startTime === undefined || event.timestamp >= request.startTime) &&
        (request.endTime === undefined || event.timestamp < request.endTime),
    );
    const token = request.nextToken;
    let direction: 'forward' | 'backward' = request.startFromHead ? 'forward' : 'backward';
    let from = direction === 'forward' ? 0 : inWindow.length;
    if (token !== undefined) {
      const match = /^([fb])\/(\d{40})$/.exec(token);
      if (match === null) throw invalidParameter('The specified nextToken is invalid.');
      direction = match[1] === 'f' ? 'forward' : 'backward';
      from = firstAfter(inWindow, match[2] as string, direction === 'backward');
    }
    const events =
      direction === 'forward'
        ? takeForward(inWindow, from, request.limit)
        : takeBackward(inWindow, from, request.limit);
    const first = events[0];
    const last = events.at(-1);
    const unchanged = token?.slice(2);
    return {
      events,
      nextForwardToken: `f/${last?.eventId ?? unchanged ?? beforeAll}`,
      nextBackwardToken: `b/${first?.eventId ?? unchanged ?? beforeAll}`,
    };
  }

  /**
   * FilterLogEvents: the matching events of the group's streams (every stream, the named ones, or
   * those with a prefix) with `startTime <= timestamp <= endTime`, interleaved in time order,
   * `limit` and 1 MB per page; `nextToken` when more match.
   *
   * @throws LogsApiError ResourceNotFoundException (group), InvalidParameterException (token)
   */
  filterLogEvents(
    groupName: string,
    request: {
      readonly streamNames?: readonly string[];
      readonly streamPrefix?: string;
      readonly startTime?: number;
      readonly endTime?: number;
      readonly matches: MessageFilter;
      readonly limit: number;
      readonly nextToken?: string;
    },
  ): { events: FilteredLogEvent[]; nextToken?: string } {
    const group = this.#group(groupName);
    const after = request.nextToken === undefined ? undefined : decodeToken('filter', request.nextToken);
    const names = request.streamNames === undefined ? undefined : new Set(request.streamNames);
    const found: FilteredLogEvent[] = [];
    for (const stream of group.streams.values()) {
      if (names !== undefined && !names.has(stream.name)) continue;
      if (request.streamPrefix !== undefined && !stream.name.startsWith(request.streamPrefix)) continue;
      for (
        let i = after === undefined ? 0 : firstAfter(stream.events, after);
        i < stream.events.length;
        i++
      ) {
        const event = stream.events[i] as StoredLogEvent;
        if (request.startTime !== undefined && event.timestamp < request.startTime) continue;
        if (request.endTime !== undefined && event.timestamp > request.endTime) break;
        if (request.matches(event.message)) found.push({ logStreamName: stream.name, ...event });
      }
    }
    found.sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
    const events = takeForward(found, 0, request.limit);
    const last = events.at(-1);
    return found.length > events.length && last !== undefined
      ? { events, nextToken: encodeToken({ op: 'filter', key: last.eventId }) }
      : { events };
  }

  #group(name: string): GroupState {
    const group = this.#groups.get(name);
    if (group === undefined) throw logGroupNotFound();
    return group;
  }

  #newGroup(name: string): GroupState {
    return { name, creationTime: this.#now(), streams: new Map(), eventCount: 0, storedBytes: 0 };
  }

  #newStream(name: string): StreamState {
    return { name, creationTime: this.#now(), events: [], lastIngestionTime: undefined };
  }

  #store(groupName: string, stream: StreamState, events: readonly InputLogEvent[], now: number): void {
    const group = this.#groups.get(groupName) as GroupState;
    for (const event of events) {
      const eventId = `${String(event.timestamp).padStart(16, '0')}${String(++this.#arrivals).padStart(24, '0')}`;
      const stored: StoredLogEvent = {
        timestamp: event.timestamp,
        message: event.message,
        ingestionTime: now,
        eventId,
      };
      const last = stream.events.at(-1);
      if (last === undefined || last.eventId < eventId) stream.events.push(stored);
      else stream.events.splice(firstAfter(stream.events, eventId), 0, stored);
      group.eventCount += 1;
      group.storedBytes += eventBytes(event.message);
    }
    if (events.length > 0) stream.lastIngestionTime = now;
    while (group.eventCount > this.#maxEventsPerGroup) this.#dropOldest(group);
  }

  #dropOldest(group: GroupState): void {
    let oldest: StreamState | undefined;
    for (const stream of group.streams.values()) {
      const first = stream.events[0];
      if (
        first !== undefined &&
        (oldest === undefined || first.eventId < (oldest.events[0] as StoredLogEvent).eventId)
      )
        oldest = stream;
    }
    const dropped = oldest?.events.shift();
    if (dropped === undefined) {
      group.eventCount = 0;
      return;
    }
    group.eventCount -= 1;
    group.storedBytes -= eventBytes(dropped.message);
  }
}

/** Up to `limit` events (and 1 MB) from `from` on. */
function takeForward<T extends StoredLogEvent>(events: readonly T[], from: number, limit: number): T[] {
  const page: T[] = [];
  let bytes = 0;
  for (let i = from; i < events.length && page.length < limit; i++) {
    const event = events[i] as T;
    bytes += eventBytes(event.message);
    if (bytes > pageMaxBytes && page.length > 0) break;
    page.push(event);
  }
  return page;
}

/** Up to `limit` events (and 1 MB) before index `before`, in time order. */
function takeBackward(events: readonly StoredLogEvent[], before: number, limit: number): StoredLogEvent[] {
  const page: StoredLogEvent[] = [];
  let bytes = 0;
  for (let i = before - 1; i >= 0 && page.length < limit; i--) {
    const event = events[i] as StoredLogEvent;
    bytes += eventBytes(event.message);
    if (bytes > pageMaxBytes && page.length > 0) break;
    page.unshift(event);
  }
  return page;
}
