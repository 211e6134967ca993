/**
 * The control-plane state of the local Lambda emulator: functions, their `$LATEST` code and
 * configuration, published versions, aliases, tags and reserved concurrency, with Lambda's
 * function states (`State`, `LastUpdateStatus`) and its rules and error messages.
 *
 * Every operation validates its whole input before changing anything: a refused request leaves the
 * state as it was. Answers are plain JSON objects shaped like the Lambda API's responses.
 */
import { randomUUID } from 'node:crypto';
import { Runtime } from '@aws-sdk/client-lambda';
import { ReservedEnvironmentKeys } from '../../core/spec.ts';
import { lambdaFunctionNamePattern } from '../../domain/names.ts';
import {
  type CodeArtifact,
  type CodeStore,
  codeSizeUnzippedLimitBytes,
  codeSizeZippedLimitBytes,
} from './code.ts';
import {
  invalidParameterValue,
  preconditionFailed,
  resourceConflict,
  resourceNotFound,
  type TooManyRequestsReason,
} from './errors.ts';
import {
  type AccountScope,
  aliasNamePattern,
  type FunctionIdentifier,
  functionArn,
  mergeQualifier,
  parseFunctionIdentifier,
  versionPattern,
} from './names.ts';
import { Input } from './validate.ts';

/** `State` of a function or version (Lambda function states). */
export type FunctionState = 'Pending' | 'Active' | 'Inactive' | 'Failed';
/** `LastUpdateStatus` of a function. */
export type LastUpdateStatus = 'Successful' | 'InProgress' | 'Failed';

/** Lambda quota: concurrent executions per account and region (default). */
export const defaultAccountConcurrency = 1000;
/** Lambda rule: reserved concurrency must leave at least this many executions unreserved. */
export const minimumUnreservedConcurrency = 100;
/** Lambda quota: environment variables of a function, in bytes of their JSON form (4 KB). */
export const environmentLimitBytes = 4096;
/** Lambda quota: tags per function. */
export const tagsPerFunctionLimit = 50;

/** Every value of the Lambda API's `Runtime` enum (from the SDK model). */
const runtimeValues: readonly string[] = Object.values(Runtime);

/** Immutable code and configuration: `$LATEST` at one moment, or a published version. */
export interface FunctionSnapshot {
  /** Unique id of this snapshot; warm processes are pooled by it. */
  readonly id: string;
  readonly runtime: string | undefined;
  readonly role: string;
  readonly handler: string | undefined;
  readonly description: string;
  readonly timeoutSeconds: number;
  readonly memoryMiB: number;
  readonly ephemeralStorageMiB: number;
  readonly variables: Readonly<Record<string, string>>;
  readonly architectures: readonly string[];
  readonly tracingMode: string;
  readonly code: CodeArtifact;
  /** `LastModified` in Lambda's format, `2024-05-01T12:00:00.000+0000`. */
  readonly lastModified: string;
  /** Members accepted and echoed as given (VpcConfig, DeadLetterConfig, KMSKeyArn). */
  readonly echoed: Readonly<Record<string, unknown>>;
  /** `LoggingConfig.LogGroup`: where the output goes. @default - `/aws/lambda/<function name>` */
  readonly logGroup?: string;
  /** `LoggingConfig.LogFormat`, echoed (output is written as text whatever it says). @default 'Text' */
  readonly logFormat?: string;
}

interface VersionRecord {
  readonly version: string;
  readonly snapshot: FunctionSnapshot;
  readonly description: string;
  readonly revisionId: string;
  state: FunctionState;
}

interface AliasRecord {
  readonly name: string;
  functionVersion: string;
  description: string;
  revisionId: string;
}

interface FunctionRecord {
  readonly name: string;
  /** `$LATEST` as configured: what GetFunction shows. */
  latest: FunctionSnapshot;
  /** `$LATEST` as invocations run it: the last snapshot whose update completed. */
  serving: FunctionSnapshot | undefined;
  state: FunctionState;
  stateReason: string | undefined;
  stateReasonCode: string | undefined;
  lastUpdateStatus: LastUpdateStatus;
  lastUpdateStatusReason: string | undefined;
  lastUpdateStatusReasonCode: string | undefined;
  revisionId: string;
  readonly versions: Map<string, VersionRecord>;
  nextVersion: number;
  /** `$LATEST`'s RevisionId when the newest version was published from it. */
  publishedFromRevision: { revisionId: string; version: string } | undefined;
  readonly aliases: Map<string, AliasRecord>;
  readonly tags: Map<string, string>;
  reservedConcurrency: number | undefined;
  inFlight: number;
}

/** What an Invoke runs: the resolved function, version and code. */
export interface InvocationTarget {
  readonly functionName: string;
  /** `$LATEST` or a version number: `AWS_LAMBDA_FUNCTION_VERSION` and `X-Amz-Executed-Version`. */
  readonly version: string;
  readonly snapshot: FunctionSnapshot;
  /** The ARN the caller invoked, qualified when it named a version or alias. */
  readonly invokedFunctionArn: string;
}

/** One concurrent execution taken by {@link FunctionStore.acquire}. */
export interface ConcurrencyLease {
  /** Gives the execution back; safe to call twice. */
  release(): void;
}

/** Callbacks from the store to the parts that run code. */
export interface StoreListener {
  /** A snapshot will never be invoked again (function or version deleted, update completed). */
  snapshotRetired?(snapshotId: string): void;
  /** A function's reserved concurrency changed, or the function was deleted. */
  concurrencyChanged?(functionName: string): void;
}

/** Options of {@link FunctionStore}. */
export interface FunctionStoreOptions {
  readonly scope: AccountScope;
  readonly code: CodeStore;
  /**
   * How long a function stays `Pending` after CreateFunction, `LastUpdateStatus=InProgress` after an
   * update, and a published version `Pending`, in milliseconds. 0 makes every change take effect at
   * once. @default 200
   */
  readonly transitionMs?: number;
  /** Lambda quota of concurrent executions for the account. @default 1000 */
  readonly accountConcurrency?: number;
  readonly listener?: StoreListener;
}

/** JSON answer of an operation. */
export type Json = Record<string, unknown>;

const createInProgressMessage = 'The operation cannot be performed at this time.';

function lambdaTimestamp(date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}

function encodeMarker(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeMarker(marker: string | undefined): string | undefined {
  if (marker === undefined || marker === '') return undefined;
  const key = Buffer.from(marker, 'base64url').toString('utf8');
  if (encodeMarker(key) !== marker.replace(/=+$/, ''))
    throw invalidParameterValue(`Invalid Marker: ${marker}`);
  return key;
}

/** Major version of a `nodejsN.x` runtime, or undefined for other runtimes. */
export function nodeRuntimeMajor(runtime: string | undefined): number | undefined {
  const match = /^nodejs(\d+)\.x$/.exec(runtime ?? '');
  return match === null ? undefined : Number(match[1]);
}

/** Oldest Node.js runtime Lambda still lets one create or update (older ones are deprecated). */
const oldestNodeRuntimeMajor = 18;

/** The control-plane state and operations of the emulated Lambda account. */
export class FunctionStore {
  readonly scope: AccountScope;
  readonly #code: CodeStore;
  readonly #transitionMs: number;
  readonly #accountConcurrency: number;
  readonly #listener: StoreListener;
  readonly #functions = new Map<string, FunctionRecord>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #unreservedInFlight = 0;

  constructor(options: FunctionStoreOptions) {
    this.scope = options.scope;
    this.#code = options.code;
    this.#transitionMs = options.transitionMs ?? 200;
    this.#accountConcurrency = options.accountConcurrency ?? defaultAccountConcurrency;
    this.#listener = options.listener ?? {};
  }

  /** Cancels pending state transitions. */
  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Hex SHA-256 of every zip a function or version still uses. */
  codeInUse(): Set<string> {
    const hexes = new Set<string>();
    for (const record of this.#functions.values()) {
      hexes.add(record.latest.code.sha256Hex);
      if (record.serving !== undefined) hexes.add(record.serving.code.sha256Hex);
      for (const version of record.versions.values()) hexes.add(version.snapshot.code.sha256Hex);
    }
    return hexes;
  }

  // ---------------------------------------------------------------- functions

  /** CreateFunction. @returns the FunctionConfiguration (of version 1 when `Publish` is true) */
  createFunction(body: Json): Json {
    const input = new Input(body);
    const name = input.string('FunctionName', { required: true, minLength: 1, maxLength: 140 });
    const id = name === undefined ? undefined : this.#identify(name);
    if (id !== undefined && (id.qualifier !== undefined || !lambdaFunctionNamePattern.test(id.name))) {
      input.violate('FunctionName', name, 'Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+');
    }
    const publish = input.boolean('Publish');
    const tags = this.#readTags(input, 'Tags');
    const config = readConfiguration(input, 'create');
    const codeInput = input.object('Code');
    if (codeInput === undefined) input.violate('Code', undefined, 'Member must not be null');
    const zip = codeInput === undefined ? undefined : readCode(codeInput, 'Code.');
    input.done();
    if (id === undefined || zip === undefined)
      throw invalidParameterValue('Please provide a source for function code.');
    const packageType = body.PackageType;
    if (packageType !== undefined && packageType !== 'Zip') throw imageNotSupported();
    if (config.runtime === undefined)
      throw invalidParameterValue('Runtime is required for .zip file archive functions.');
    if (config.handler === undefined)
      throw invalidParameterValue('Handler is required for .zip file archive functions.');
    if (this.#functions.has(id.name)) throw resourceConflict(`Function already exist: ${id.name}`);
    const code = this.#code.put(zip);
    const snapshot = makeSnapshot(config, code, {
      description: '',
      timeoutSeconds: 3,
      memoryMiB: 128,
      ephemeralStorageMiB: 512,
      variables: {},
      architectures: ['x86_64'],
      tracingMode: 'PassThrough',
      echoed: {},
    });
    const record: FunctionRecord = {
      name: id.name,
      latest: snapshot,
      serving: undefined,
      state: 'Pending',
      stateReason: 'The function is being created.',
      stateReasonCode: 'Creating',
      lastUpdateStatus: 'InProgress',
      lastUpdateStatusReason: 'The function is being created.',
      lastUpdateStatusReasonCode: 'Creating',
      revisionId: randomUUID(),
      versions: new Map(),
      nextVersion: 1,
      publishedFromRevision: undefined,
      aliases: new Map(),
      tags: new Map(Object.entries(tags ?? {})),
      reservedConcurrency: undefined,
      inFlight: 0,
    };
    this.#functions.set(id.name, record);
    this.#after(record, () => {
      record.state = 'Active';
      record.stateReason = undefined;
      record.stateReasonCode = undefined;
      this.#completeUpdate(record);
    });
    if (publish === true) return this.#versionConfiguration(record, this.#publish(record, undefined));
    return this.#latestConfiguration(record, false);
  }

  /** GetFunction: configuration, code location, tags and reserved concurrency. */
  getFunction(
    functionName: string,
    qualifier: string | undefined,
    codeLocation: (code: CodeArtifact) => string,
  ): Json {
    const { record, configuration, snapshot } = this.#configurationFor(functionName, qualifier);
    const answer: Json = {
      Configuration: configuration,
      Code: { RepositoryType: 'S3', Location: codeLocation(snapshot.code) },
      Tags: Object.fromEntries(record.tags),
    };
    if (record.reservedConcurrency !== undefined) {
      answer.Concurrency = { ReservedConcurrentExecutions: record.reservedConcurrency };
    }
    return answer;
  }

  /** GetFunctionConfiguration. */
  getFunctionConfiguration(functionName: string, qualifier: string | undefined): Json {
    return this.#configurationFor(functionName, qualifier).configuration;
  }

  /** UpdateFunctionCode. @returns the configuration of `$LATEST`, or of the new version with `Publish` */
  updateFunctionCode(functionName: string, body: Json): Json {
    const input = new Input(body);
    const publish = input.boolean('Publish');
    const dryRun = input.boolean('DryRun');
    const revisionId = input.string('RevisionId');
    const architectures = readArchitectures(input);
    const zip = readCode(input, '');
    input.done();
    if (zip === undefined) throw invalidParameterValue('Please provide a source for function code.');
    const record = this.#unqualified(functionName);
    this.#checkUpdatable(record, revisionId);
    const code = this.#code.put(zip);
    const changes: Partial<Mutable<FunctionSnapshot>> = { code };
    if (architectures !== undefined) changes.architectures = architectures;
    if (dryRun === true) {
      return {
        ...this.#latestConfiguration(record, false),
        CodeSha256: code.sha256,
        CodeSize: code.sizeBytes,
      };
    }
    this.#update(record, changes);
    if (publish === true) return this.#versionConfiguration(record, this.#publish(record, undefined));
    return this.#latestConfiguration(record, false);
  }

  /** UpdateFunctionConfiguration. */
  updateFunctionConfiguration(functionName: string, body: Json): Json {
    const input = new Input(body);
    const revisionId = input.string('RevisionId');
    const config = readConfiguration(input, 'update');
    input.done();
    const record = this.#unqualified(functionName);
    this.#checkUpdatable(record, revisionId);
    const changes: Partial<Mutable<FunctionSnapshot>> = {};
    for (const [key, value] of Object.entries(config)) {
      if (value !== undefined) (changes as Record<string, unknown>)[key] = value;
    }
    if (config.echoed !== undefined) changes.echoed = { ...record.latest.echoed, ...config.echoed };
    this.#update(record, changes);
    return this.#latestConfiguration(record, false);
  }

  /** DeleteFunction: the whole function, or one version with `Qualifier`. */
  deleteFunction(functionName: string, qualifierParam: string | undefined): void {
    const id = this.#identify(functionName);
    const qualifier = mergeQualifier(id, qualifierParam);
    const record = this.#find(id.name, functionName);
    if (qualifier === undefined) {
      this.#functions.delete(record.name);
      const retired = new Set<string>([record.latest.id]);
      if (record.serving !== undefined) retired.add(record.serving.id);
      for (const version of record.versions.values()) retired.add(version.snapshot.id);
      for (const snapshotId of retired) this.#listener.snapshotRetired?.(snapshotId);
      this.#listener.concurrencyChanged?.(record.name);
      return;
    }
    if (qualifier === '$LATEST') {
      throw invalidParameterValue('$LATEST version cannot be deleted without deleting the function.');
    }
    if (!versionPattern.test(qualifier)) {
      throw invalidParameterValue(
        `Qualifier '${qualifier}' is not a version number: DeleteFunction deletes versions; use DeleteAlias to delete an alias.`,
      );
    }
    const version = record.versions.get(qualifier);
    if (version === undefined)
      throw resourceNotFound(`Function not found: ${functionArn(this.scope, record.name, qualifier)}`);
    const referencing = [...record.aliases.values()].filter((alias) => alias.functionVersion === qualifier);
    if (referencing.length > 0) {
      throw resourceConflict(
        `Unable to delete version because the following aliases reference it: [${referencing.map((alias) => alias.name).join(', ')}]`,
      );
    }
    record.versions.delete(qualifier);
    this.#listener.snapshotRetired?.(version.snapshot.id);
  }

  /** ListFunctions: `$LATEST` of each function (all versions with `FunctionVersion=ALL`), by name. */
  listFunctions(query: { marker?: string; maxItems?: string; functionVersion?: string }): Json {
    const maxItems = readMaxItems(query.maxItems, 10_000, 50);
    if (query.functionVersion !== undefined && query.functionVersion !== 'ALL') {
      throw invalidParameterValue(`Value '${query.functionVersion}' at 'functionVersion' must be ALL`);
    }
    const after = decodeMarker(query.marker);
    const items: Array<{ key: string; configuration: () => Json }> = [];
    for (const record of [...this.#functions.values()].sort((a, b) => compare(a.name, b.name))) {
      items.push({
        key: sortKey(record.name, '$LATEST'),
        configuration: () => this.#latestConfiguration(record, false),
      });
      if (query.functionVersion === 'ALL') {
        for (const version of sortedVersions(record)) {
          items.push({
            key: sortKey(record.name, version.version),
            configuration: () => this.#versionConfiguration(record, version),
          });
        }
      }
    }
    const start = after === undefined ? 0 : items.findIndex((item) => item.key > after);
    const page = start < 0 ? [] : items.slice(start, start + maxItems);
    const answer: Json = { Functions: page.map((item) => withoutStateFields(item.configuration())) };
    const last = page.at(-1);
    if (last !== undefined && start + maxItems < items.length) answer.NextMarker = encodeMarker(last.key);
    return answer;
  }

  // ----------------------------------------------------------------- versions

  /** PublishVersion, with the `CodeSha256` and `RevisionId` preconditions. */
  publishVersion(functionName: string, body: Json): Json {
    const input = new Input(body);
    const codeSha256 = input.string('CodeSha256');
    const description = input.string('Description', { maxLength: 256 });
    const revisionId = input.string('RevisionId');
    input.done();
    const record = this.#unqualified(functionName);
    if (record.state === 'Pending' || record.lastUpdateStatus === 'InProgress')
      throw this.#updateInProgress(record);
    if (revisionId !== undefined && revisionId !== record.revisionId) throw revisionMismatch();
    if (codeSha256 !== undefined && codeSha256 !== record.latest.code.sha256) {
      throw invalidParameterValue(
        `CodeSHA256 (${codeSha256}) is different from current CodeSHA256 in $LATEST (${record.latest.code.sha256}). Please try again with the CodeSHA256 in $LATEST.`,
      );
    }
    return this.#versionConfiguration(record, this.#publish(record, description));
  }

  /** ListVersionsByFunction: `$LATEST`, then versions in ascending order. */
  listVersionsByFunction(functionName: string, query: { marker?: string; maxItems?: string }): Json {
    const record = this.#unqualified(functionName);
    const maxItems = readMaxItems(query.maxItems, 10_000, 50);
    const after = decodeMarker(query.marker);
    const items: Array<{ key: string; configuration: () => Json }> = [
      { key: sortKey('', '$LATEST'), configuration: () => this.#latestConfiguration(record, true) },
      ...sortedVersions(record).map((version) => ({
        key: sortKey('', version.version),
        configuration: () => this.#versionConfiguration(record, version),
      })),
    ];
    const start = after === undefined ? 0 : items.findIndex((item) => item.key > after);
    const page = start < 0 ? [] : items.slice(start, start + maxItems);
    const answer: Json = { Versions: page.map((item) => item.configuration()) };
    const last = page.at(-1);
    if (last !== undefined && start + maxItems < items.length) answer.NextMarker = encodeMarker(last.key);
    return answer;
  }

  // ------------------------------------------------------------------ aliases

  /** CreateAlias. */
  createAlias(functionName: string, body: Json): Json {
    const input = new Input(body);
    const name = input.string('Name', {
      required: true,
      minLength: 1,
      maxLength: 128,
      pattern: aliasNamePattern,
      patternText: '(?!^[0-9]+$)([a-zA-Z0-9-_]+)',
    });
    const functionVersion = readFunctionVersion(input, true);
    const description = input.string('Description', { maxLength: 256 });
    checkRoutingConfig(input);
    input.done();
    const record = this.#unqualified(functionName);
    if (name === undefined || functionVersion === undefined)
      throw invalidParameterValue('Name and FunctionVersion are required.');
    this.#checkVersionExists(record, functionVersion);
    if (record.aliases.has(name)) {
      throw resourceConflict(`Alias already exists: ${functionArn(this.scope, record.name, name)}`);
    }
    const alias: AliasRecord = {
      name,
      functionVersion,
      description: description ?? '',
      revisionId: randomUUID(),
    };
    record.aliases.set(name, alias);
    return this.#aliasConfiguration(record, alias);
  }

  /** GetAlias. */
  getAlias(functionName: string, aliasName: string): Json {
    const record = this.#unqualified(functionName);
    return this.#aliasConfiguration(record, this.#alias(record, aliasName));
  }

  /** UpdateAlias, with the `RevisionId` precondition. */
  updateAlias(functionName: string, aliasName: string, body: Json): Json {
    const input = new Input(body);
    const functionVersion = readFunctionVersion(input, false);
    const description = input.string('Description', { maxLength: 256 });
    const revisionId = input.string('RevisionId');
    checkRoutingConfig(input);
    input.done();
    const record = this.#unqualified(functionName);
    const alias = this.#alias(record, aliasName);
    if (revisionId !== undefined && revisionId !== alias.revisionId) throw revisionMismatch();
    if (functionVersion !== undefined) this.#checkVersionExists(record, functionVersion);
    if (functionVersion !== undefined) alias.functionVersion = functionVersion;
    if (description !== undefined) alias.description = description;
    alias.revisionId = randomUUID();
    return this.#aliasConfiguration(record, alias);
  }

  /** DeleteAlias. */
  deleteAlias(functionName: string, aliasName: string): void {
    const record = this.#unqualified(functionName);
    this.#alias(record, aliasName);
    record.aliases.delete(aliasName);
  }

  /** ListAliases, optionally only those pointing at `FunctionVersion`. */
  listAliases(
    functionName: string,
    query: { marker?: string; maxItems?: string; functionVersion?: string },
  ): Json {
    const record = this.#unqualified(functionName);
    const maxItems = readMaxItems(query.maxItems, 10_000, 50);
    const after = decodeMarker(query.marker);
    const aliases = [...record.aliases.values()]
      .filter(
        (alias) => query.functionVersion === undefined || alias.functionVersion === query.functionVersion,
      )
      .sort((a, b) => compare(a.name, b.name));
    const start = after === undefined ? 0 : aliases.findIndex((alias) => alias.name > after);
    const page = start < 0 ? [] : aliases.slice(start, start + maxItems);
    const answer: Json = { Aliases: page.map((alias) => this.#aliasConfiguration(record, alias)) };
    const last = page.at(-1);
    if (last !== undefined && start + maxItems < aliases.length) answer.NextMarker = encodeMarker(last.name);
    return answer;
  }

  // -------------------------------------------------------------- concurrency

  /**
   * PutFunctionConcurrency. Refuses a value that leaves fewer than 100 unreserved executions in the
   * account, as Lambda does.
   */
  putFunctionConcurrency(functionName: string, body: Json): Json {
    const input = new Input(body);
    const reserved = input.integer('ReservedConcurrentExecutions', { required: true, min: 0 });
    input.done();
    const record = this.#unqualified(functionName);
    if (reserved === undefined) throw invalidParameterValue('ReservedConcurrentExecutions is required.');
    const reservedElsewhere = this.#reservedTotal() - (record.reservedConcurrency ?? 0);
    if (this.#accountConcurrency - reservedElsewhere - reserved < minimumUnreservedConcurrency) {
      throw invalidParameterValue(
        `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${minimumUnreservedConcurrency}].`,
      );
    }
    record.reservedConcurrency = reserved;
    this.#listener.concurrencyChanged?.(record.name);
    return { ReservedConcurrentExecutions: reserved };
  }

  /** GetFunctionConcurrency: `{}` when the function has no reserved concurrency. */
  getFunctionConcurrency(functionName: string): Json {
    const record = this.#unqualified(functionName);
    return record.reservedConcurrency === undefined
      ? {}
      : { ReservedConcurrentExecutions: record.reservedConcurrency };
  }

  /** DeleteFunctionConcurrency: the function goes back to the unreserved pool. */
  deleteFunctionConcurrency(functionName: string): void {
    const record = this.#unqualified(functionName);
    record.reservedConcurrency = undefined;
    this.#listener.concurrencyChanged?.(record.name);
  }

  /** GetAccountSettings: the account's limits and usage. */
  getAccountSettings(): Json {
    let totalCodeSize = 0;
    for (const record of this.#functions.values()) {
      totalCodeSize += record.latest.code.sizeBytes;
      for (const version of record.versions.values()) totalCodeSize += version.snapshot.code.sizeBytes;
    }
    return {
      AccountLimit: {
        TotalCodeSize: 80_530_636_800,
        CodeSizeUnzipped: codeSizeUnzippedLimitBytes,
        CodeSizeZipped: codeSizeZippedLimitBytes,
        ConcurrentExecutions: this.#accountConcurrency,
        UnreservedConcurrentExecutions: this.#accountConcurrency - this.#reservedTotal(),
      },
      AccountUsage: { TotalCodeSize: totalCodeSize, FunctionCount: this.#functions.size },
    };
  }

  // --------------------------------------------------------------------- tags

  /** TagResource: adds or replaces tags of a function (by unqualified ARN). */
  tagResource(resource: string, body: Json): void {
    const input = new Input(body);
    const tags = this.#readTags(input, 'Tags', true);
    input.done();
    const record = this.#taggable(resource);
    const merged = new Map([...record.tags, ...Object.entries(tags ?? {})]);
    if (merged.size > tagsPerFunctionLimit) {
      throw invalidParameterValue(
        `A function can have at most ${tagsPerFunctionLimit} tags; this request would make ${merged.size}.`,
      );
    }
    for (const [key, value] of Object.entries(tags ?? {})) record.tags.set(key, value);
  }

  /** UntagResource: removes the named tag keys (absent keys are ignored, as Lambda does). */
  untagResource(resource: string, tagKeys: readonly string[]): void {
    if (tagKeys.length === 0) {
      throw invalidParameterValue('tagKeys is required: name at least one tag key to remove.');
    }
    const record = this.#taggable(resource);
    for (const key of tagKeys) record.tags.delete(key);
  }

  /** ListTags. */
  listTags(resource: string): Json {
    return { Tags: Object.fromEntries(this.#taggable(resource).tags) };
  }

  // ------------------------------------------------------------------ invoke

  /**
   * Resolves what an Invoke runs: `$LATEST` (its last completed update), a version, or an alias's
   * version.
   *
   * @throws LambdaApiError ResourceNotFoundException for an unknown function, version or alias;
   *   ResourceConflictException while the function or version is still `Pending`
   */
  resolveInvocation(functionName: string, qualifierParam: string | undefined): InvocationTarget {
    const id = this.#identify(functionName);
    const qualifier = mergeQualifier(id, qualifierParam);
    const record = this.#find(id.name, functionName);
    const invokedFunctionArn = functionArn(this.scope, record.name, qualifier);
    let version = qualifier ?? '$LATEST';
    if (qualifier !== undefined && qualifier !== '$LATEST' && !versionPattern.test(qualifier)) {
      version = this.#alias(record, qualifier).functionVersion;
    }
    if (version === '$LATEST') {
      if (record.state === 'Pending' || record.serving === undefined) throw pendingConflict(record.state);
      return { functionName: record.name, version, snapshot: record.serving, invokedFunctionArn };
    }
    const published = record.versions.get(version);
    if (published === undefined) {
      throw resourceNotFound(`Function not found: ${functionArn(this.scope, record.name, version)}`);
    }
    if (published.state === 'Pending') throw pendingConflict(published.state);
    return { functionName: record.name, version, snapshot: published.snapshot, invokedFunctionArn };
  }

  /**
   * Takes one concurrent execution for a function: from its reserved concurrency when it has one,
   * else from the account's unreserved pool (1000 minus everything reserved).
   *
   * @returns a lease to release when the execution ends, or the throttling reason
   */
  acquire(functionName: string): ConcurrencyLease | TooManyRequestsReason {
    const record = this.#functions.get(functionName);
    if (record === undefined)
      throw resourceNotFound(`Function not found: ${functionArn(this.scope, functionName)}`);
    const fromReserved = record.reservedConcurrency !== undefined;
    if (fromReserved) {
      if (record.inFlight >= (record.reservedConcurrency ?? 0))
        return 'ReservedFunctionConcurrentInvocationLimitExceeded';
    } else if (this.#unreservedInFlight >= this.#accountConcurrency - this.#reservedTotal()) {
      return 'ConcurrentInvocationLimitExceeded';
    }
    record.inFlight += 1;
    if (!fromReserved) this.#unreservedInFlight += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        record.inFlight -= 1;
        if (!fromReserved) this.#unreservedInFlight -= 1;
      },
    };
  }

  /** Whether a function of this name exists. */
  has(functionName: string): boolean {
    return this.#functions.has(functionName);
  }

  // ---------------------------------------------------------------- internal

  #identify(functionName: string): FunctionIdentifier {
    return parseFunctionIdentifier(functionName, this.scope);
  }

  #find(name: string, asGiven: string): FunctionRecord {
    const record = this.#functions.get(name);
    if (record === undefined) {
      const arn = asGiven.startsWith('arn:') ? asGiven : functionArn(this.scope, name);
      throw resourceNotFound(`Function not found: ${arn}`);
    }
    return record;
  }

  /** A function named without a qualifier (operations that act on the function itself). */
  #unqualified(functionName: string): FunctionRecord {
    const id = this.#identify(functionName);
    if (id.qualifier !== undefined) {
      throw invalidParameterValue(
        `This operation does not accept a qualified function name: ${functionName}. Name the function without ':${id.qualifier}'.`,
      );
    }
    return this.#find(id.name, functionName);
  }

  #taggable(resource: string): FunctionRecord {
    if (!resource.startsWith('arn:')) {
      throw invalidParameterValue(`Resource must be the ARN of a function, got: ${resource}`);
    }
    const id = parseFunctionIdentifier(resource, this.scope, 'resource');
    if (id.qualifier !== undefined) {
      throw invalidParameterValue(`Tags apply to functions, not to versions or aliases: ${resource}`);
    }
    return this.#find(id.name, resource);
  }

  #alias(record: FunctionRecord, aliasName: string): AliasRecord {
    const alias = record.aliases.get(aliasName);
    if (alias === undefined)
      throw resourceNotFound(`Alias not found: ${functionArn(this.scope, record.name, aliasName)}`);
    return alias;
  }

  #checkVersionExists(record: FunctionRecord, version: string): void {
    if (version === '$LATEST' || record.versions.has(version)) return;
    throw resourceNotFound(`Function not found: ${functionArn(this.scope, record.name, version)}`);
  }

  #checkUpdatable(record: FunctionRecord, revisionId: string | undefined): void {
    if (record.state === 'Pending') throw pendingConflict(record.state);
    if (record.lastUpdateStatus === 'InProgress') throw this.#updateInProgress(record);
    if (revisionId !== undefined && revisionId !== record.revisionId) throw revisionMismatch();
  }

  #updateInProgress(record: FunctionRecord): Error {
    if (record.state === 'Pending') return pendingConflict(record.state);
    return resourceConflict(
      `${createInProgressMessage} An update is in progress for resource: ${functionArn(this.scope, record.name)}`,
    );
  }

  #update(record: FunctionRecord, changes: Partial<Mutable<FunctionSnapshot>>): void {
    record.latest = { ...record.latest, ...changes, id: randomUUID(), lastModified: lambdaTimestamp() };
    record.revisionId = randomUUID();
    record.lastUpdateStatus = 'InProgress';
    record.lastUpdateStatusReason = undefined;
    record.lastUpdateStatusReasonCode = undefined;
    this.#after(record, () => this.#completeUpdate(record));
  }

  #completeUpdate(record: FunctionRecord): void {
    record.lastUpdateStatus = 'Successful';
    record.lastUpdateStatusReason = undefined;
    record.lastUpdateStatusReasonCode = undefined;
    const previous = record.serving;
    record.serving = record.latest;
    if (previous !== undefined && previous.id !== record.latest.id)
      this.#listener.snapshotRetired?.(previous.id);
  }

  /** Runs `change` after the transition delay, unless the function was deleted meanwhile. */
  #after(record: FunctionRecord, change: () => void): void {
    if (this.#transitionMs === 0) {
      change();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#functions.get(record.name) === record) change();
    }, this.#transitionMs);
    this.#timers.add(timer);
  }

  #publish(record: FunctionRecord, description: string | undefined): VersionRecord {
    const previous = record.publishedFromRevision;
    if (previous !== undefined && previous.revisionId === record.revisionId) {
      const existing = record.versions.get(previous.version);
      if (existing !== undefined) return existing;
    }
    const version: VersionRecord = {
      version: String(record.nextVersion),
      snapshot: { ...record.latest, id: randomUUID() },
      description: description ?? record.latest.description,
      revisionId: randomUUID(),
      state: 'Pending',
    };
    record.nextVersion += 1;
    record.versions.set(version.version, version);
    record.publishedFromRevision = { revisionId: record.revisionId, version: version.version };
    this.#after(record, () => {
      version.state = 'Active';
    });
    return version;
  }

  #configurationFor(
    functionName: string,
    qualifierParam: string | undefined,
  ): { record: FunctionRecord; configuration: Json; snapshot: FunctionSnapshot } {
    const id = this.#identify(functionName);
    const qualifier = mergeQualifier(id, qualifierParam);
    const record = this.#find(id.name, functionName);
    if (qualifier === undefined || qualifier === '$LATEST') {
      return {
        record,
        configuration: this.#latestConfiguration(record, qualifier !== undefined),
        snapshot: record.latest,
      };
    }
    let versionName = qualifier;
    if (!versionPattern.test(qualifier)) versionName = this.#alias(record, qualifier).functionVersion;
    if (versionName === '$LATEST') {
      return {
        record,
        configuration: {
          ...this.#latestConfiguration(record, false),
          FunctionArn: functionArn(this.scope, record.name, qualifier),
        },
        snapshot: record.latest,
      };
    }
    const version = record.versions.get(versionName);
    if (version === undefined)
      throw resourceNotFound(`Function not found: ${functionArn(this.scope, record.name, qualifier)}`);
    const configuration = this.#versionConfiguration(record, version);
    configuration.FunctionArn = functionArn(this.scope, record.name, qualifier);
    return { record, configuration, snapshot: version.snapshot };
  }

  #latestConfiguration(record: FunctionRecord, qualifiedArn: boolean): Json {
    return {
      ...this.#snapshotConfiguration(record.name, record.latest, record.latest.description),
      FunctionArn: functionArn(this.scope, record.name, qualifiedArn ? '$LATEST' : undefined),
      Version: '$LATEST',
      RevisionId: record.revisionId,
      State: record.state,
      ...(record.stateReason === undefined ? {} : { StateReason: record.stateReason }),
      ...(record.stateReasonCode === undefined ? {} : { StateReasonCode: record.stateReasonCode }),
      LastUpdateStatus: record.lastUpdateStatus,
      ...(record.lastUpdateStatusReason === undefined
        ? {}
        : { LastUpdateStatusReason: record.lastUpdateStatusReason }),
      ...(record.lastUpdateStatusReasonCode === undefined
        ? {}
        : { LastUpdateStatusReasonCode: record.lastUpdateStatusReasonCode }),
    };
  }

  #versionConfiguration(record: FunctionRecord, version: VersionRecord): Json {
    return {
      ...this.#snapshotConfiguration(record.name, version.snapshot, version.description),
      FunctionArn: functionArn(this.scope, record.name, version.version),
      Version: version.version,
      RevisionId: version.revisionId,
      State: version.state,
      ...(version.state === 'Pending'
        ? { StateReason: 'The function is being created.', StateReasonCode: 'Creating' }
        : {}),
      LastUpdateStatus: 'Successful',
    };
  }

  #snapshotConfiguration(name: string, snapshot: FunctionSnapshot, description: string): Json {
    const configuration: Json = {
      FunctionName: name,
      Runtime: snapshot.runtime,
      Role: snapshot.role,
      Handler: snapshot.handler,
      CodeSize: snapshot.code.sizeBytes,
      Description: description,
      Timeout: snapshot.timeoutSeconds,
      MemorySize: snapshot.memoryMiB,
      LastModified: snapshot.lastModified,
      CodeSha256: snapshot.code.sha256,
      TracingConfig: { Mode: snapshot.tracingMode },
      PackageType: 'Zip',
      Architectures: [...snapshot.architectures],
      EphemeralStorage: { Size: snapshot.ephemeralStorageMiB },
      SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
      LoggingConfig: { LogFormat: snapshot.logFormat ?? 'Text', LogGroup: functionLogGroup(name, snapshot) },
      ...snapshot.echoed,
    };
    if (Object.keys(snapshot.variables).length > 0)
      configuration.Environment = { Variables: { ...snapshot.variables } };
    return configuration;
  }

  #aliasConfiguration(record: FunctionRecord, alias: AliasRecord): Json {
    return {
      AliasArn: functionArn(this.scope, record.name, alias.name),
      Name: alias.name,
      FunctionVersion: alias.functionVersion,
      Description: alias.description,
      RevisionId: alias.revisionId,
    };
  }

  #reservedTotal(): number {
    let total = 0;
    for (const record of this.#functions.values()) total += record.reservedConcurrency ?? 0;
    return total;
  }

  #readTags(input: Input, key: string, required = false): Record<string, string> | undefined {
    const tags = input.stringMap(key);
    if (tags === undefined) {
      if (required) input.violate(key, undefined, 'Member must not be null');
      return undefined;
    }
    for (const [tagKey, value] of Object.entries(tags)) {
      if (tagKey.length < 1 || tagKey.length > 128) {
        input.violate(key, tagKey, 'Tag keys must have length between 1 and 128');
      } else if (tagKey.toLowerCase().startsWith('aws:')) {
        input.violate(key, tagKey, "Tag keys must not start with 'aws:' (reserved for AWS use)");
      }
      if (value.length > 256)
        input.violate(key, value, 'Tag values must have length less than or equal to 256');
    }
    if (Object.keys(tags).length > tagsPerFunctionLimit) {
      input.violate(
        key,
        `${Object.keys(tags).length} tags`,
        `Member must have at most ${tagsPerFunctionLimit} entries`,
      );
    }
    return tags;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Configuration members read from CreateFunction or UpdateFunctionConfiguration. */
interface ConfigurationInput {
  runtime?: string;
  role?: string;
  handler?: string;
  description?: string;
  timeoutSeconds?: number;
  memoryMiB?: number;
  ephemeralStorageMiB?: number;
  variables?: Record<string, string>;
  architectures?: string[];
  tracingMode?: string;
  echoed?: Record<string, unknown>;
  logGroup?: string;
  logFormat?: string;
}

const rolePattern = /^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
const environmentKeyPattern = /^[a-zA-Z]([a-zA-Z0-9_])+$/;

function readConfiguration(input: Input, operation: 'create' | 'update'): ConfigurationInput {
  const config: ConfigurationInput = {};
  const runtime = input.string('Runtime', { oneOf: runtimeValues });
  if (runtime !== undefined) {
    const major = nodeRuntimeMajor(runtime);
    if ((major !== undefined && major < oldestNodeRuntimeMajor) || runtime === 'nodejs') {
      throw invalidParameterValue(
        `The runtime parameter of ${runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.`,
      );
    }
    config.runtime = runtime;
  }
  const role = input.string('Role', {
    required: operation === 'create',
    pattern: rolePattern,
    patternText: 'arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+',
  });
  if (role !== undefined) config.role = role;
  const handler = input.string('Handler', { maxLength: 128, pattern: /^[^\s]+$/, patternText: '[^\\s]+' });
  if (handler !== undefined) config.handler = handler;
  const description = input.string('Description', { maxLength: 256 });
  if (description !== undefined) config.description = description;
  const timeout = input.integer('Timeout', { min: 1, max: 900 });
  if (timeout !== undefined) config.timeoutSeconds = timeout;
  const memory = input.integer('MemorySize', { min: 128, max: 10_240 });
  if (memory !== undefined) config.memoryMiB = memory;
  const storage = input
    .object('EphemeralStorage')
    ?.integer('Size', { required: true, min: 512, max: 10_240 });
  if (storage !== undefined) config.ephemeralStorageMiB = storage;
  const environment = input.object('Environment');
  if (environment !== undefined) {
    const variables = environment.stringMap('Variables') ?? {};
    config.variables = checkEnvironment(variables, environment);
  }
  const architectures = readArchitectures(input);
  if (architectures !== undefined) config.architectures = architectures;
  const tracing = input.object('TracingConfig')?.string('Mode', { oneOf: ['Active', 'PassThrough'] });
  if (tracing !== undefined) config.tracingMode = tracing;
  // LoggingConfig (Lambda API Reference, LoggingConfig): LogGroup 1 to 512 of `[\.\-_/#A-Za-z0-9]+`.
  const logging = input.object('LoggingConfig');
  if (logging !== undefined) {
    const group = logging.string('LogGroup', {
      minLength: 1,
      maxLength: 512,
      pattern: /^[.\-_/#A-Za-z0-9]+$/,
      patternText: '[\\.\\-_/#A-Za-z0-9]+',
    });
    if (group !== undefined) config.logGroup = group;
    const format = logging.string('LogFormat', { oneOf: ['Text', 'JSON'] });
    if (format !== undefined) config.logFormat = format;
  }
  const layers = input.stringList('Layers');
  if (layers !== undefined && layers.length > 0) {
    throw invalidParameterValue(
      'Layers are not supported by the local Lambda emulator: bundle the layer contents into the function zip.',
    );
  }
  const fileSystems = input.raw('FileSystemConfigs');
  if (Array.isArray(fileSystems) && fileSystems.length > 0) {
    throw invalidParameterValue(
      'FileSystemConfigs (Amazon EFS) are not supported by the local Lambda emulator.',
    );
  }
  if (input.has('ImageConfig')) throw imageNotSupported();
  const echoed: Record<string, unknown> = {};
  const vpc = input.object('VpcConfig');
  if (vpc !== undefined) {
    echoed.VpcConfig = {
      SubnetIds: vpc.stringList('SubnetIds') ?? [],
      SecurityGroupIds: vpc.stringList('SecurityGroupIds') ?? [],
      VpcId: '',
    };
  }
  const deadLetter = input.object('DeadLetterConfig');
  if (deadLetter !== undefined) {
    const target = deadLetter.string('TargetArn');
    if (target !== undefined) echoed.DeadLetterConfig = { TargetArn: target };
  }
  const kmsKey = input.string('KMSKeyArn');
  if (kmsKey !== undefined && kmsKey !== '') echoed.KMSKeyArn = kmsKey;
  if (Object.keys(echoed).length > 0) config.echoed = echoed;
  return config;
}

function checkEnvironment(variables: Record<string, string>, input: Input): Record<string, string> {
  for (const key of Object.keys(variables)) {
    if (!environmentKeyPattern.test(key)) {
      input.violate(
        'Variables',
        key,
        'Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+',
      );
    }
  }
  const reserved = Object.keys(variables).filter((key) => ReservedEnvironmentKeys.has(key));
  if (reserved.length > 0) {
    throw invalidParameterValue(
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
    );
  }
  const measured = JSON.stringify(variables);
  if (Buffer.byteLength(measured) > environmentLimitBytes) {
    throw invalidParameterValue(
      `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${measured}`,
    );
  }
  return variables;
}

function readArchitectures(input: Input): string[] | undefined {
  const architectures = input.stringList('Architectures', { maxItems: 1 });
  if (architectures === undefined) return undefined;
  for (const architecture of architectures) {
    if (architecture !== 'x86_64' && architecture !== 'arm64') {
      input.violate('Architectures', architecture, 'Member must satisfy enum value set: [x86_64, arm64]');
    }
  }
  return architectures.length === 0 ? undefined : architectures;
}

/** Reads `ZipFile` (base64) and refuses the code sources the emulator does not serve. */
function readCode(input: Input, prefix: string): Buffer | undefined {
  if (input.has('S3Bucket') || input.has('S3Key') || input.has('S3ObjectVersion')) {
    throw invalidParameterValue(
      `${prefix}S3Bucket/${prefix}S3Key: the local Lambda emulator does not read code from S3; send the .zip inline as ${prefix}ZipFile (up to 50 MB).`,
    );
  }
  if (input.has('ImageUri')) throw imageNotSupported();
  const zipFile = input.string('ZipFile', { minLength: 1 });
  if (zipFile === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(zipFile)) {
    input.violate('ZipFile', '***', 'Member must be base64-encoded binary data');
    return undefined;
  }
  return Buffer.from(zipFile, 'base64');
}

function readFunctionVersion(input: Input, required: boolean): string | undefined {
  return input.string('FunctionVersion', {
    required,
    minLength: 1,
    maxLength: 1024,
    pattern: /^(\$LATEST|[0-9]+)$/,
    patternText: '(\\$LATEST|[0-9]+)',
  });
}

function checkRoutingConfig(input: Input): void {
  const weights = input.object('RoutingConfig')?.raw('AdditionalVersionWeights');
  if (weights !== undefined && weights !== null && Object.keys(weights as object).length > 0) {
    throw invalidParameterValue(
      'RoutingConfig.AdditionalVersionWeights (weighted aliases) is not supported by the local Lambda emulator.',
    );
  }
}

function imageNotSupported(): Error {
  return invalidParameterValue(
    'Container images (PackageType Image, ImageUri, ImageConfig) are not supported by the local Lambda emulator: use a .zip deployment package.',
  );
}

function makeSnapshot(
  config: ConfigurationInput,
  code: CodeArtifact,
  defaults: Omit<FunctionSnapshot, 'id' | 'runtime' | 'role' | 'handler' | 'code' | 'lastModified'>,
): FunctionSnapshot {
  return {
    id: randomUUID(),
    runtime: config.runtime,
    role: config.role ?? '',
    handler: config.handler,
    description: config.description ?? defaults.description,
    timeoutSeconds: config.timeoutSeconds ?? defaults.timeoutSeconds,
    memoryMiB: config.memoryMiB ?? defaults.memoryMiB,
    ephemeralStorageMiB: config.ephemeralStorageMiB ?? defaults.ephemeralStorageMiB,
    variables: config.variables ?? defaults.variables,
    architectures: config.architectures ?? defaults.architectures,
    tracingMode: config.tracingMode ?? defaults.tracingMode,
    code,
    lastModified: lambdaTimestamp(),
    echoed: config.echoed ?? defaults.echoed,
    ...(config.logGroup === undefined ? {} : { logGroup: config.logGroup }),
    ...(config.logFormat === undefined ? {} : { logFormat: config.logFormat }),
  };
}

/**
 * The log group a function's output goes to: `LoggingConfig.LogGroup` when set, else Lambda's
 * default `/aws/lambda/<function name>`.
 */
export function functionLogGroup(functionName: string, snapshot: Pick<FunctionSnapshot, 'logGroup'>): string {
  return snapshot.logGroup ?? `/aws/lambda/${functionName}`;
}

function readMaxItems(value: string | undefined, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max) {
    throw invalidParameterValue(`MaxItems must be an integer between 1 and ${max}, got: ${value}`);
  }
  return number;
}

function revisionMismatch(): Error {
  return preconditionFailed(
    'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
  );
}

function pendingConflict(state: FunctionState): Error {
  return resourceConflict(
    `${createInProgressMessage} The function is currently in the following state: ${state}`,
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sort key of a function version: name, then `$LATEST`, then versions by number. */
function sortKey(name: string, version: string): string {
  const rank = version === '$LATEST' ? '0'.repeat(10) : version.padStart(10, '0');
  return `${name}\u0000${rank}`;
}

function sortedVersions(record: FunctionRecord): VersionRecord[] {
  return [...record.versions.values()].sort((a, b) => Number(a.version) - Number(b.version));
}

/** ListFunctions leaves out the state fields; GetFunction has them (Lambda API reference). */
function withoutStateFields(configuration: Json): Json {
  const {
    State: _state,
    StateReason: _stateReason,
    StateReasonCode: _stateReasonCode,
    LastUpdateStatus: _lastUpdateStatus,
    LastUpdateStatusReason: _lastUpdateStatusReason,
    LastUpdateStatusReasonCode: _lastUpdateStatusReasonCode,
    ...rest
  } = configuration;
  return rest;
}
