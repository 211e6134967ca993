/**
 * Parsing and validation of Amazon States Language definitions for the local Step Functions
 * emulator: what CreateStateMachine and UpdateStateMachine accept, and the copy of a definition
 * that `aws-local-stepfunctions` runs.
 */
import aslValidator from 'asl-validator';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { isObject } from '../../domain/objects.ts';
import { describeTaskResource, parameterRulesFor } from './resources.ts';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** The state types of the Amazon States Language. */
export type StateType = 'Task' | 'Parallel' | 'Map' | 'Pass' | 'Wait' | 'Choice' | 'Succeed' | 'Fail';

/** Largest definition accepted, in bytes (Step Functions quota "maximum size of a state machine definition", hard). */
export const maxDefinitionBytes = 1_048_576;

/**
 * Longest timer the runner can arm, in seconds: Node's `setTimeout` holds at most 2^31-1 ms
 * (about 24.8 days) and fires at once beyond it. AWS's default Task timeout (99,999,999 s) and
 * longer `TimeoutSeconds` values are clamped to this in the copy that runs.
 */
export const maxTimerSeconds = 2_147_483;

/** Thrown when a definition is refused; the message is the `InvalidDefinition` message. */
export class DefinitionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DefinitionError';
  }
}

/** One state of a definition, wherever it is nested. */
export interface StateInfo {
  readonly name: string;
  readonly type: StateType;
  /** The state's object in the definition as given. */
  readonly definition: JsonObject;
  /** JSON pointer of the state in the definition, e.g. `/States/Fan out/ItemProcessor/States/Work`. */
  readonly pointer: string;
  /** The Map or Parallel state whose iterations or branches hold this state; absent at the top level. */
  readonly container?: { readonly name: string; readonly type: 'Map' | 'Parallel'; readonly branch: number };
}

/** A definition that passed validation. */
export interface ParsedDefinition {
  /** The definition text exactly as given (DescribeStateMachine returns it unchanged). */
  readonly text: string;
  readonly document: JsonObject;
  /** Every state by name; ASL state names are unique across the whole definition. */
  readonly states: ReadonlyMap<string, StateInfo>;
  /** The copy `aws-local-stepfunctions` runs: timeouts clamped to {@link maxTimerSeconds}. */
  readonly runnable: StateMachineDefinition;
}

const localRunner = 'the local Step Functions emulator runs definitions with aws-local-stepfunctions';

/** Narrows a parsed JSON value to a {@link JsonObject}: domain/objects.ts `isObject`, typed for JSON. */
export const isJsonObject = (value: unknown): value is JsonObject => isObject(value);

function invalid(detail: string): DefinitionError {
  return new DefinitionError(`Invalid State Machine Definition: '${detail}'`);
}

/** Calls `visit` for every state object under a `States` map, depth first, with its pointer. */
function forEachState(
  states: unknown,
  pointer: string,
  container: StateInfo['container'],
  visit: (name: string, state: JsonObject, pointer: string, container: StateInfo['container']) => void,
): void {
  if (!isJsonObject(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isJsonObject(state)) continue;
    const statePointer = `${pointer}/${name}`;
    visit(name, state, statePointer, container);
    if (state.Type === 'Map') {
      const processorKey = 'ItemProcessor' in state ? 'ItemProcessor' : 'Iterator';
      const processor = state[processorKey];
      if (isJsonObject(processor)) {
        forEachState(
          processor.States,
          `${statePointer}/${processorKey}/States`,
          { name, type: 'Map', branch: 0 },
          visit,
        );
      }
    }
    if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      state.Branches.forEach((branch, index) => {
        if (isJsonObject(branch)) {
          forEachState(
            branch.States,
            `${statePointer}/Branches/${index}/States`,
            { name, type: 'Parallel', branch: index },
            visit,
          );
        }
      });
    }
  }
}

/** Refuses JSONata and variables, which aws-local-stepfunctions does not run. */
function refuseJsonataAndVariables(document: JsonObject): void {
  const jsonata = (value: unknown): boolean => value === 'JSONata';
  if (jsonata(document.QueryLanguage)) {
    throw invalid(
      `QueryLanguage "JSONata" at /QueryLanguage is not supported: ${localRunner}, which runs JSONPath only; write the definition in JSONPath`,
    );
  }
  forEachState(document.States, '/States', undefined, (_name, state, pointer) => {
    if (jsonata(state.QueryLanguage)) {
      throw invalid(
        `QueryLanguage "JSONata" at ${pointer}/QueryLanguage is not supported: ${localRunner}, which runs JSONPath only; write the state in JSONPath`,
      );
    }
    for (const key of ['ItemProcessor', 'Iterator']) {
      const processor = state[key];
      if (isJsonObject(processor) && jsonata(processor.QueryLanguage)) {
        throw invalid(
          `QueryLanguage "JSONata" at ${pointer}/${key}/QueryLanguage is not supported: ${localRunner}, which runs JSONPath only`,
        );
      }
    }
    const assignAt: string[] = [];
    if ('Assign' in state) assignAt.push(`${pointer}/Assign`);
    for (const list of ['Choices', 'Catch'] as const) {
      const entries = state[list];
      if (Array.isArray(entries)) {
        entries.forEach((entry, index) => {
          if (isJsonObject(entry) && 'Assign' in entry) assignAt.push(`${pointer}/${list}/${index}/Assign`);
        });
      }
    }
    if (assignAt.length > 0) {
      throw invalid(
        `Assign at ${assignAt.join(', ')} is not supported: ${localRunner}, which runs JSONPath without variables; pass values through the state input and ResultPath instead`,
      );
    }
  });
}

// Map features that aws-local-stepfunctions would ignore silently, changing what the Map does.
const unsupportedMapFields = [
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
];

function refuseUnsupportedMapFeatures(state: JsonObject, pointer: string): void {
  for (const field of unsupportedMapFields) {
    if (field in state) {
      throw invalid(
        `${field} at ${pointer} is not supported: ${localRunner}, which runs inline Map states only (no ItemReader, ItemBatcher, ResultWriter or tolerated failures); batch inside the iteration's task instead`,
      );
    }
  }
  const processor = state.ItemProcessor;
  if (
    isJsonObject(processor) &&
    isJsonObject(processor.ProcessorConfig) &&
    processor.ProcessorConfig.Mode === 'DISTRIBUTED'
  ) {
    throw invalid(
      `ProcessorConfig.Mode "DISTRIBUTED" at ${pointer}/ItemProcessor is not supported: ${localRunner}, which runs inline Map states only; use Mode "INLINE" and batch inside the iteration's task`,
    );
  }
}

/** Checks the static `Parameters` of an optimized-integration Task against the fields AWS accepts. */
function checkTaskParameters(state: JsonObject, pointer: string): void {
  if (typeof state.Resource !== 'string') return;
  const rules = parameterRulesFor(describeTaskResource(state.Resource));
  if (rules === undefined) return;
  const parameters = state.Parameters;
  if (parameters !== undefined && !isJsonObject(parameters)) return;
  const given = new Set(
    Object.keys(parameters ?? {}).map((key) => (key.endsWith('.$') ? key.slice(0, -2) : key)),
  );
  for (const field of given) {
    if (!rules.allowed.includes(field)) {
      throw invalid(
        `SCHEMA_VALIDATION_FAILED: The field "${field}" is not supported by Step Functions at ${pointer}/Parameters (resource ${state.Resource} accepts ${rules.allowed.join(', ')})`,
      );
    }
  }
  for (const field of rules.required) {
    if (!given.has(field)) {
      throw invalid(
        `SCHEMA_VALIDATION_FAILED: The field "${field}" is required but was missing at ${pointer}/Parameters`,
      );
    }
  }
}

function clampTimeout(holder: Record<string, unknown>, defaultSeconds?: number): void {
  const seconds = holder.TimeoutSeconds;
  if (typeof seconds === 'number') {
    holder.TimeoutSeconds = Math.min(seconds, maxTimerSeconds);
  } else if (defaultSeconds !== undefined && holder.TimeoutSecondsPath === undefined) {
    holder.TimeoutSeconds = defaultSeconds;
  }
}

/**
 * Parses and validates a definition as CreateStateMachine does.
 *
 * Refused, with the reason: text that is not a JSON object; `QueryLanguage: "JSONata"` or
 * `Assign` anywhere (aws-local-stepfunctions runs JSONPath without variables); whatever
 * `asl-validator` finds (schema, unreachable or missing states, bad paths and ARNs); Map
 * features the runner would ignore (ItemReader, ItemBatcher, ResultWriter, tolerated failures,
 * DISTRIBUTED mode); `Parameters` fields that the Lambda, DynamoDB or EventBridge integration does
 * not accept, or required ones missing.
 *
 * @throws DefinitionError with the `InvalidDefinition` message
 */
export function parseDefinition(text: string): ParsedDefinition {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw invalid(`INVALID_JSON_DESCRIPTION: ${(error as Error).message}`);
  }
  if (!isJsonObject(document))
    throw invalid('INVALID_JSON_DESCRIPTION: the definition must be a JSON object');

  refuseJsonataAndVariables(document);

  const validation = aslValidator(structuredClone(document), { checkPaths: true, checkArn: true });
  if (!validation.isValid) throw invalid(validation.errorsText('; '));

  const states = new Map<string, StateInfo>();
  forEachState(document.States, '/States', undefined, (name, state, pointer, container) => {
    const info: StateInfo = {
      name,
      type: state.Type as StateType,
      definition: state,
      pointer,
      ...(container === undefined ? {} : { container }),
    };
    states.set(name, info);
    if (state.Type === 'Map') refuseUnsupportedMapFeatures(state, pointer);
    if (state.Type === 'Task') checkTaskParameters(state, pointer);
  });

  const runnable = structuredClone(document) as Record<string, unknown>;
  clampTimeout(runnable);
  forEachState(runnable.States, '/States', undefined, (_name, state) => {
    // AWS's Task default is 99,999,999 s (the library's is 60 s); both are clamped to what a timer holds.
    if (state.Type === 'Task') clampTimeout(state, maxTimerSeconds);
  });

  return { text, document, states, runnable: runnable as unknown as StateMachineDefinition };
}
