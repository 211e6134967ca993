/**
 * Plans: the change set that takes the live model to a draft, function by function, with
 * field-level diffs. Pure and deterministic: the same two models always give the same plan,
 * whatever the order of their functions.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors.ts';
import { type FunctionSpec, fieldPath } from './spec.ts';

/** What a deployment does to one function. */
export type ChangeAction = 'create' | 'update' | 'delete';

/** One changed field: `before` is absent when the field was unset, `after` when it becomes unset. */
export interface FieldDiff {
  /** Path such as `memoryMiB`, `environment.LOG_LEVEL`, `tags.team`, `code.sha256`. */
  readonly field: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** The change to one function; `diffs` are sorted by field path. */
export interface FunctionChange {
  readonly name: string;
  readonly action: ChangeAction;
  readonly diffs: readonly FieldDiff[];
}

/** Number of functions per outcome; `unchanged` functions are in neither model's change list. */
export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly delete: number;
  readonly unchanged: number;
}

/** Result of {@link planChanges}. */
export interface Plan {
  /** Created, updated and deleted functions, by name in UTF-16 code-unit order. */
  readonly changes: FunctionChange[];
  readonly summary: PlanSummary;
}

type Flat = Map<string, unknown>;

/**
 * The change set from `live` to `draft`.
 *
 * - create: the function is only in `draft`; `diffs` list every set field with `after` only
 *   (the name is the change's `name`, not a diff).
 * - update: in both, with at least one differing field; `diffs` list those fields.
 * - delete: only in `live`; `diffs` is empty.
 * - unchanged functions are only counted.
 *
 * Fields are compared flat: `environment.<KEY>` and `tags.<key>` one by one, `code.sha256` for
 * the code (`sizeBytes` and `s3Key` follow from it), `reservedConcurrency` present or absent.
 * Changes are ordered by name in UTF-16 code-unit order, diffs by field path in the same order.
 * O(n log n) in the number of functions.
 *
 * @param live - the live model's functions, any order, unique names
 * @param draft - the draft's functions, any order, unique names
 * @throws ValidationError when a name appears twice in one model (`live[3].name`, `draft[7].name`)
 * @example
 * const { changes, summary } = planChanges(liveFunctions, draftFunctions);
 */
export function planChanges(live: readonly FunctionSpec[], draft: readonly FunctionSpec[]): Plan {
  const liveByName = indexByName(live, 'live');
  const draftByName = indexByName(draft, 'draft');
  const names = new Set<string>([...liveByName.keys(), ...draftByName.keys()]);
  const sorted = [...names].sort(compareCodeUnits);

  const changes: FunctionChange[] = [];
  let create = 0;
  let update = 0;
  let remove = 0;
  let unchanged = 0;
  for (const name of sorted) {
    const before = liveByName.get(name);
    const after = draftByName.get(name);
    if (before === undefined && after !== undefined) {
      create++;
      changes.push({ name, action: 'create', diffs: diffFlat(new Map(), flatten(after)) });
    } else if (before !== undefined && after === undefined) {
      remove++;
      changes.push({ name, action: 'delete', diffs: [] });
    } else if (before !== undefined && after !== undefined) {
      const diffs = sameSpec(before, after) ? [] : diffFlat(flatten(before), flatten(after));
      if (diffs.length === 0) unchanged++;
      else {
        update++;
        changes.push({ name, action: 'update', diffs });
      }
    }
  }
  return { changes, summary: { create, update, delete: remove, unchanged } };
}

/**
 * The hash of a plan's change set: SHA-256, lowercase hex, of a canonical JSON of `changes`
 * (object keys sorted, no spaces; changes and diffs keep their order, which {@link planChanges}
 * makes deterministic). Two plans hash the same exactly when they make the same changes, as
 * Terraform's saved plan does: a deployment request carrying it is refused (412) when the plan
 * moved.
 *
 * @example
 * const hash = planHash(planChanges(live.functions, draft.functions)); // '3f0a…' (64 hex digits)
 */
export function planHash(plan: Pick<Plan, 'changes'>): string {
  return createHash('sha256').update(canonicalJson(plan.changes)).digest('hex');
}

/** JSON with object keys sorted by UTF-16 code units; `undefined` members are left out. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareCodeUnits(a, b))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function indexByName(functions: readonly FunctionSpec[], model: string): Map<string, FunctionSpec> {
  const byName = new Map<string, FunctionSpec>();
  const errors: { field: string; message: string }[] = [];
  functions.forEach((spec, index) => {
    if (byName.has(spec.name)) {
      errors.push({
        field: `${model}[${index}].name`,
        message: `duplicate function name ${JSON.stringify(spec.name)}`,
      });
    } else byName.set(spec.name, spec);
  });
  if (errors.length > 0) throw new ValidationError(errors);
  return byName;
}

/** Fast path for the common case: nothing that the plan compares differs. */
function sameSpec(a: FunctionSpec, b: FunctionSpec): boolean {
  return (
    a.runtime === b.runtime &&
    a.handler === b.handler &&
    a.code.sha256 === b.code.sha256 &&
    a.memoryMiB === b.memoryMiB &&
    a.timeoutSeconds === b.timeoutSeconds &&
    a.ephemeralStorageMiB === b.ephemeralStorageMiB &&
    a.architecture === b.architecture &&
    a.reservedConcurrency === b.reservedConcurrency &&
    sameRecord(a.environment, b.environment) &&
    sameRecord(a.tags, b.tags)
  );
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (!Object.hasOwn(b, key) || a[key] !== b[key]) return false;
  return true;
}

/** The comparable fields of a spec, by field path; unset fields are absent. */
function flatten(spec: FunctionSpec): Flat {
  const flat: Flat = new Map<string, unknown>([
    ['runtime', spec.runtime],
    ['handler', spec.handler],
    ['code.sha256', spec.code.sha256],
    ['memoryMiB', spec.memoryMiB],
    ['timeoutSeconds', spec.timeoutSeconds],
    ['ephemeralStorageMiB', spec.ephemeralStorageMiB],
    ['architecture', spec.architecture],
  ]);
  if (spec.reservedConcurrency !== undefined) flat.set('reservedConcurrency', spec.reservedConcurrency);
  for (const [key, value] of Object.entries(spec.environment))
    flat.set(fieldPath(['environment', key]), value);
  for (const [key, value] of Object.entries(spec.tags)) flat.set(fieldPath(['tags', key]), value);
  return flat;
}

function diffFlat(before: Flat, after: Flat): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  for (const [field, value] of before) {
    if (!after.has(field)) diffs.push({ field, before: value });
    else {
      const next = after.get(field);
      if (!Object.is(value, next)) diffs.push({ field, before: value, after: next });
    }
  }
  for (const [field, value] of after) {
    if (!before.has(field)) diffs.push({ field, after: value });
  }
  return diffs.sort((a, b) => compareCodeUnits(a.field, b.field));
}

/** Orders strings by UTF-16 code units (what `<` does), independent of locale. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
