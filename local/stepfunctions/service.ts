/**
 * The operations of the local Step Functions API, over in-memory state machines and executions.
 * Request and response members, error names and messages follow the AWS Step Functions API
 * (`states-2016-11-23`); timestamps are epoch seconds, as awsJson1_0 carries them.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html
 */
import { randomUUID } from 'node:crypto';
import {
  executionArn as buildExecutionArn,
  stateMachineArn as buildStateMachineArn,
  isRoleArn,
  nameProblem,
  parseExecutionArn,
  parseStateMachineArn,
} from './arns.ts';
import { DefinitionError, maxDefinitionBytes, type ParsedDefinition, parseDefinition } from './definition.ts';
import { StepFunctionsApiError, validationError } from './errors.ts';
import { Execution, type ExecutionStatus } from './execution.ts';
import type { WireHistoryEvent } from './history.ts';
import { type IntegrationClients, maxPayloadBytes } from './integrations.ts';
import { RequestParams } from './params.ts';

/** Page size when a request gives no `maxResults` (or 0), as AWS. */
export const defaultPageSize = 100;
/** Largest `maxResults` AWS accepts. */
export const maxPageSize = 1000;

/** What the service needs. */
export interface StepFunctionsServiceOptions {
  readonly region: string;
  /** The 12-digit account id in every ARN. */
  readonly accountId: string;
  /** SDK clients of the local services that Task states reach. */
  readonly clients: IntegrationClients;
  /** Most history events per execution (default 25,000, the AWS quota). */
  readonly maxHistoryEvents?: number;
}

interface Tag {
  readonly key: string;
  readonly value: string;
}

interface StoredStateMachine {
  readonly arn: string;
  readonly name: string;
  readonly creationDate: number;
  definition: ParsedDefinition;
  roleArn: string;
  loggingConfiguration: unknown;
  tracingConfiguration: unknown;
  encryptionConfiguration?: unknown;
  revisionId: string;
  updateDate?: number;
  readonly tags: readonly Tag[];
}

interface ExecutionRecord {
  readonly execution: Execution;
  /** The state machine as it was when the execution started (DescribeStateMachineForExecution). */
  readonly stateMachine: {
    readonly arn: string;
    readonly name: string;
    readonly definition: string;
    readonly roleArn: string;
    readonly updateDate: number;
    readonly loggingConfiguration: unknown;
    readonly tracingConfiguration: unknown;
    readonly revisionId: string;
  };
}

const seconds = (epochMs: number): number => epochMs / 1000;

const executionStatuses: readonly ExecutionStatus[] = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
];

/** Longest `error` and `cause` of StopExecution, in characters (API constraints). */
const maxStopErrorLength = 256;
const maxStopCauseLength = 32_768;

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function pageSize(params: RequestParams): number {
  const requested = params.optionalInteger('maxResults', 0, maxPageSize) ?? 0;
  return requested === 0 ? defaultPageSize : requested;
}

function encodeToken(scope: string, position: number): string {
  return Buffer.from(JSON.stringify({ s: scope, p: position })).toString('base64url');
}

/** @throws StepFunctionsApiError `InvalidToken` when the token was not issued for this listing */
function decodeToken(token: string | undefined, scope: string): number | undefined {
  if (token === undefined) return undefined;
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      s?: unknown;
      p?: unknown;
    };
    if (
      decoded.s === scope &&
      typeof decoded.p === 'number' &&
      Number.isInteger(decoded.p) &&
      decoded.p >= 0
    ) {
      return decoded.p;
    }
  } catch {
    // falls through to InvalidToken
  }
  throw new StepFunctionsApiError('InvalidToken', `Invalid Token: '${token.slice(0, 100)}'`);
}

function stripExecutionData(event: WireHistoryEvent): WireHistoryEvent {
  const copy: Record<string, unknown> = { ...event };
  for (const [key, value] of Object.entries(copy)) {
    if (key.endsWith('EventDetails') && typeof value === 'object' && value !== null) {
      const { input, inputDetails, output, outputDetails, parameters, ...rest } = value as Record<
        string,
        unknown
      >;
      copy[key] = rest;
    }
  }
  return copy as WireHistoryEvent;
}

/** The Step Functions API over in-memory state machines and executions. */
export class StepFunctionsService {
  readonly #options: StepFunctionsServiceOptions;
  readonly #stateMachines = new Map<string, StoredStateMachine>();
  readonly #executions = new Map<string, ExecutionRecord>();
  readonly #operations: Record<string, (params: RequestParams) => unknown>;

  constructor(options: StepFunctionsServiceOptions) {
    this.#options = options;
    this.#operations = {
      CreateStateMachine: (p) => this.#createStateMachine(p),
      UpdateStateMachine: (p) => this.#updateStateMachine(p),
      DeleteStateMachine: (p) => this.#deleteStateMachine(p),
      DescribeStateMachine: (p) => this.#describeStateMachine(p),
      DescribeStateMachineForExecution: (p) => this.#describeStateMachineForExecution(p),
      ListStateMachines: (p) => this.#listStateMachines(p),
      StartExecution: (p) => this.#startExecution(p),
      DescribeExecution: (p) => this.#describeExecution(p),
      GetExecutionHistory: (p) => this.#getExecutionHistory(p),
      ListExecutions: (p) => this.#listExecutions(p),
      StopExecution: (p) => this.#stopExecution(p),
    };
  }

  /** Names of the operations served. */
  get operations(): string[] {
    return Object.keys(this.#operations);
  }

  /**
   * Runs one operation on a parsed request body and returns the response body.
   *
   * @throws StepFunctionsApiError with the AWS error name; nothing changes when one is thrown
   */
  handle(operation: string, body: unknown): unknown {
    const run = Object.hasOwn(this.#operations, operation) ? this.#operations[operation] : undefined;
    if (run === undefined) {
      throw new StepFunctionsApiError(
        'UnknownOperationException',
        `the local Step Functions emulator does not serve ${operation}; it serves ${this.operations.join(', ')}`,
      );
    }
    return run(new RequestParams(body));
  }

  /** Stops every running execution (`ExecutionAborted`) and waits until their runners let go. */
  async close(): Promise<void> {
    const records = [...this.#executions.values()];
    for (const { execution } of records) {
      execution.stop('States.Runtime', 'The local Step Functions emulator was shut down');
    }
    await Promise.all(records.map(({ execution }) => execution.finished));
  }

  #stateMachine(arn: string): StoredStateMachine {
    const parts = parseStateMachineArn(arn);
    if (parts === undefined) throw new StepFunctionsApiError('InvalidArn', `Invalid Arn: '${arn}'`);
    const stored = parts.qualifier === undefined ? this.#stateMachines.get(arn) : undefined;
    if (stored === undefined) {
      const note =
        parts.qualifier === undefined
          ? ''
          : ' (the local emulator keeps no state machine versions or aliases)';
      throw new StepFunctionsApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${arn}'${note}`,
      );
    }
    return stored;
  }

  #execution(arn: string): ExecutionRecord {
    if (parseExecutionArn(arn) === undefined)
      throw new StepFunctionsApiError('InvalidArn', `Invalid Arn: '${arn}'`);
    const record = this.#executions.get(arn);
    if (record === undefined) {
      throw new StepFunctionsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    }
    return record;
  }

  #parseDefinition(text: string): ParsedDefinition {
    if (Buffer.byteLength(text) > maxDefinitionBytes) {
      throw validationError(
        'definition',
        `Member must have length less than or equal to ${maxDefinitionBytes}`,
      );
    }
    try {
      return parseDefinition(text);
    } catch (error) {
      if (error instanceof DefinitionError) {
        throw new StepFunctionsApiError('InvalidDefinition', error.message, { cause: error });
      }
      throw error;
    }
  }

  #roleArn(params: RequestParams, required: boolean): string | undefined {
    const roleArn = required ? params.requiredString('roleArn') : params.optionalString('roleArn');
    if (roleArn !== undefined && !isRoleArn(roleArn)) {
      throw new StepFunctionsApiError(
        'InvalidArn',
        `Invalid Arn: 'Resource type not valid in this context: ${roleArn}'`,
      );
    }
    return roleArn;
  }

  #refusePublish(params: RequestParams): void {
    if (params.optionalBoolean('publish') === true) {
      throw new StepFunctionsApiError(
        'ValidationException',
        'publish is not supported: the local Step Functions emulator keeps no state machine versions',
      );
    }
  }

  #configuration(params: RequestParams, member: string): unknown {
    const value = params.raw(member);
    if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new StepFunctionsApiError('SerializationException', `member '${member}' must be an object`);
    }
    return value;
  }

  #createStateMachine(params: RequestParams): unknown {
    const name = params.requiredString('name');
    const problem = nameProblem(name);
    if (problem !== undefined)
      throw new StepFunctionsApiError('InvalidName', `Invalid Name: '${name}' (${problem})`);
    const definitionText = params.requiredString('definition');
    const roleArn = this.#roleArn(params, true) as string;
    const type = params.optionalEnum('type', ['STANDARD', 'EXPRESS']) ?? 'STANDARD';
    if (type === 'EXPRESS') {
      throw new StepFunctionsApiError(
        'StateMachineTypeNotSupported',
        'the local Step Functions emulator runs STANDARD state machines only',
      );
    }
    this.#refusePublish(params);
    const loggingConfiguration = this.#configuration(params, 'loggingConfiguration') ?? {
      level: 'OFF',
      includeExecutionData: false,
    };
    const tracingConfiguration = this.#configuration(params, 'tracingConfiguration') ?? { enabled: false };
    const encryptionConfiguration = this.#configuration(params, 'encryptionConfiguration');
    const rawTags = params.raw('tags') ?? [];
    if (
      !Array.isArray(rawTags) ||
      !rawTags.every(
        (tag) =>
          typeof tag === 'object' &&
          tag !== null &&
          typeof (tag as Tag).key === 'string' &&
          typeof ((tag as Tag).value ?? '') === 'string',
      )
    ) {
      throw new StepFunctionsApiError(
        'SerializationException',
        "member 'tags' must be a list of {key, value} strings",
      );
    }
    const definition = this.#parseDefinition(definitionText);
    const arn = buildStateMachineArn(this.#options.region, this.#options.accountId, name);

    const existing = this.#stateMachines.get(arn);
    if (existing !== undefined) {
      // CreateStateMachine is idempotent when every setting is the same.
      const same =
        existing.definition.text === definitionText &&
        existing.roleArn === roleArn &&
        sameJson(existing.loggingConfiguration, loggingConfiguration) &&
        sameJson(existing.tracingConfiguration, tracingConfiguration);
      if (!same)
        throw new StepFunctionsApiError(
          'StateMachineAlreadyExists',
          `State Machine Already Exists: '${arn}'`,
        );
      return { stateMachineArn: arn, creationDate: seconds(existing.creationDate) };
    }
    const creationDate = Date.now();
    this.#stateMachines.set(arn, {
      arn,
      name,
      creationDate,
      definition,
      roleArn,
      loggingConfiguration,
      tracingConfiguration,
      ...(encryptionConfiguration === undefined ? {} : { encryptionConfiguration }),
      revisionId: randomUUID(),
      tags: (rawTags as Tag[]).map((tag) => ({ key: tag.key, value: tag.value ?? '' })),
    });
    return { stateMachineArn: arn, creationDate: seconds(creationDate) };
  }

  #updateStateMachine(params: RequestParams): unknown {
    const stored = this.#stateMachine(params.requiredString('stateMachineArn'));
    const definitionText = params.optionalString('definition');
    const roleArn = this.#roleArn(params, false);
    const loggingConfiguration = this.#configuration(params, 'loggingConfiguration');
    const tracingConfiguration = this.#configuration(params, 'tracingConfiguration');
    const encryptionConfiguration = this.#configuration(params, 'encryptionConfiguration');
    this.#refusePublish(params);
    if (
      definitionText === undefined &&
      roleArn === undefined &&
      loggingConfiguration === undefined &&
      tracingConfiguration === undefined &&
      encryptionConfiguration === undefined
    ) {
      throw new StepFunctionsApiError(
        'MissingRequiredParameter',
        'Either the definition, the role ARN, the LoggingConfiguration, the EncryptionConfiguration or the TracingConfiguration must be specified',
      );
    }
    // Everything is checked before anything changes.
    const definition = definitionText === undefined ? undefined : this.#parseDefinition(definitionText);
    if (definition !== undefined) stored.definition = definition;
    if (roleArn !== undefined) stored.roleArn = roleArn;
    if (loggingConfiguration !== undefined) stored.loggingConfiguration = loggingConfiguration;
    if (tracingConfiguration !== undefined) stored.tracingConfiguration = tracingConfiguration;
    if (encryptionConfiguration !== undefined) stored.encryptionConfiguration = encryptionConfiguration;
    stored.updateDate = Date.now();
    stored.revisionId = randomUUID();
    return { updateDate: seconds(stored.updateDate), revisionId: stored.revisionId };
  }

  #deleteStateMachine(params: RequestParams): unknown {
    const arn = params.requiredString('stateMachineArn');
    const parts = parseStateMachineArn(arn);
    if (parts === undefined) throw new StepFunctionsApiError('InvalidArn', `Invalid Arn: '${arn}'`);
    if (parts.qualifier !== undefined) {
      throw new StepFunctionsApiError(
        'ValidationException',
        `a qualified state machine ARN cannot be deleted: '${arn}'`,
      );
    }
    // As AWS: deleting an unknown state machine succeeds; running executions run to their end.
    this.#stateMachines.delete(arn);
    return {};
  }

  #describeStateMachine(params: RequestParams): unknown {
    const stored = this.#stateMachine(params.requiredString('stateMachineArn'));
    return {
      stateMachineArn: stored.arn,
      name: stored.name,
      status: 'ACTIVE',
      definition: stored.definition.text,
      roleArn: stored.roleArn,
      type: 'STANDARD',
      creationDate: seconds(stored.creationDate),
      loggingConfiguration: stored.loggingConfiguration,
      tracingConfiguration: stored.tracingConfiguration,
      ...(stored.encryptionConfiguration === undefined
        ? {}
        : { encryptionConfiguration: stored.encryptionConfiguration }),
      revisionId: stored.revisionId,
    };
  }

  #describeStateMachineForExecution(params: RequestParams): unknown {
    const { stateMachine } = this.#execution(params.requiredString('executionArn'));
    return {
      stateMachineArn: stateMachine.arn,
      name: stateMachine.name,
      definition: stateMachine.definition,
      roleArn: stateMachine.roleArn,
      updateDate: seconds(stateMachine.updateDate),
      loggingConfiguration: stateMachine.loggingConfiguration,
      tracingConfiguration: stateMachine.tracingConfiguration,
      revisionId: stateMachine.revisionId,
    };
  }

  #listStateMachines(params: RequestParams): unknown {
    const size = pageSize(params);
    const all = [...this.#stateMachines.values()].sort((a, b) => a.creationDate - b.creationDate);
    const start =
      decodeToken(params.optionalString('nextToken', { maxLength: 1024 }), 'ListStateMachines') ?? 0;
    const page = all.slice(start, start + size);
    const next = start + size;
    return {
      stateMachines: page.map((stored) => ({
        stateMachineArn: stored.arn,
        name: stored.name,
        type: 'STANDARD',
        creationDate: seconds(stored.creationDate),
      })),
      ...(next < all.length ? { nextToken: encodeToken('ListStateMachines', next) } : {}),
    };
  }

  #startExecution(params: RequestParams): unknown {
    const stored = this.#stateMachine(params.requiredString('stateMachineArn'));
    const name = params.optionalString('name') ?? randomUUID();
    const problem = nameProblem(name);
    if (problem !== undefined)
      throw new StepFunctionsApiError('InvalidName', `Invalid Name: '${name}' (${problem})`);
    const input = params.optionalString('input') ?? '{}';
    if (Buffer.byteLength(input) > maxPayloadBytes) {
      throw validationError('input', `Member must have length less than or equal to ${maxPayloadBytes}`);
    }
    try {
      JSON.parse(input);
    } catch (error) {
      throw new StepFunctionsApiError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${(error as Error).message}'`,
      );
    }
    params.optionalString('traceHeader', { maxLength: 256 });
    const arn = buildExecutionArn(this.#options.region, this.#options.accountId, stored.name, name);
    const existing = this.#executions.get(arn);
    if (existing !== undefined) {
      // As AWS for STANDARD: same name and input while the first is open → the same execution;
      // different input, or the first has closed → ExecutionAlreadyExists.
      const { execution } = existing;
      if (execution.status === 'RUNNING' && execution.input === input) {
        return { executionArn: arn, startDate: seconds(execution.startDate) };
      }
      throw new StepFunctionsApiError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const execution = Execution.start({
      executionArn: arn,
      stateMachineArn: stored.arn,
      stateMachineName: stored.name,
      name,
      input,
      roleArn: stored.roleArn,
      region: this.#options.region,
      definition: stored.definition,
      clients: this.#options.clients,
      ...(this.#options.maxHistoryEvents === undefined
        ? {}
        : { maxHistoryEvents: this.#options.maxHistoryEvents }),
    });
    this.#executions.set(arn, {
      execution,
      stateMachine: {
        arn: stored.arn,
        name: stored.name,
        definition: stored.definition.text,
        roleArn: stored.roleArn,
        updateDate: stored.updateDate ?? stored.creationDate,
        loggingConfiguration: stored.loggingConfiguration,
        tracingConfiguration: stored.tracingConfiguration,
        revisionId: stored.revisionId,
      },
    });
    return { executionArn: arn, startDate: seconds(execution.startDate) };
  }

  #describeExecution(params: RequestParams): unknown {
    const { execution } = this.#execution(params.requiredString('executionArn'));
    return {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: seconds(execution.startDate),
      ...(execution.stopDate === undefined ? {} : { stopDate: seconds(execution.stopDate) }),
      input: execution.input,
      inputDetails: { included: true },
      ...(execution.output === undefined
        ? {}
        : { output: execution.output, outputDetails: { included: true } }),
      ...(execution.error === undefined ? {} : { error: execution.error }),
      ...(execution.cause === undefined ? {} : { cause: execution.cause }),
    };
  }

  #getExecutionHistory(params: RequestParams): unknown {
    const arn = params.requiredString('executionArn');
    const { execution } = this.#execution(arn);
    const size = pageSize(params);
    const reverseOrder = params.optionalBoolean('reverseOrder') ?? false;
    const includeExecutionData = params.optionalBoolean('includeExecutionData') ?? true;
    const scope = `GetExecutionHistory|${arn}|${reverseOrder}`;
    const start = decodeToken(params.optionalString('nextToken', { maxLength: 1024 }), scope) ?? 0;
    const all = execution.history.events();
    if (reverseOrder) all.reverse();
    const page = all.slice(start, start + size);
    const next = start + size;
    return {
      events: includeExecutionData ? page : page.map(stripExecutionData),
      ...(next < all.length ? { nextToken: encodeToken(scope, next) } : {}),
    };
  }

  #listExecutions(params: RequestParams): unknown {
    if (params.optionalString('mapRunArn') !== undefined) {
      throw new StepFunctionsApiError(
        'ValidationException',
        'mapRunArn is not supported: the local Step Functions emulator runs inline Map states only',
      );
    }
    const arn = params.requiredString('stateMachineArn');
    this.#stateMachine(arn);
    const statusFilter = params.optionalEnum('statusFilter', [...executionStatuses, 'PENDING_REDRIVE']);
    params.optionalEnum('redriveFilter', ['REDRIVEN', 'NOT_REDRIVEN']);
    const size = pageSize(params);
    // Newest first, as AWS lists them.
    const all = [...this.#executions.values()]
      .map(({ execution }) => execution)
      .filter((execution) => execution.stateMachineArn === arn)
      .filter((execution) => statusFilter === undefined || execution.status === statusFilter)
      .reverse();
    // Positions count from the oldest, so executions started between pages do not shift them.
    const scope = `ListExecutions|${arn}|${statusFilter ?? ''}`;
    const fromOldest = decodeToken(params.optionalString('nextToken', { maxLength: 1024 }), scope);
    const start = fromOldest === undefined ? 0 : Math.max(0, all.length - fromOldest);
    const page = all.slice(start, start + size);
    const next = start + size;
    return {
      executions: page.map((execution) => ({
        executionArn: execution.executionArn,
        stateMachineArn: execution.stateMachineArn,
        name: execution.name,
        status: execution.status,
        startDate: seconds(execution.startDate),
        ...(execution.stopDate === undefined ? {} : { stopDate: seconds(execution.stopDate) }),
      })),
      ...(next < all.length ? { nextToken: encodeToken(scope, all.length - next) } : {}),
    };
  }

  #stopExecution(params: RequestParams): unknown {
    const { execution } = this.#execution(params.requiredString('executionArn'));
    const error = params.optionalString('error', { maxLength: maxStopErrorLength });
    const cause = params.optionalString('cause', { maxLength: maxStopCauseLength });
    // Stopping a finished execution changes nothing and answers its stop date.
    execution.stop(error, cause);
    return { stopDate: seconds(execution.stopDate ?? Date.now()) };
  }
}
