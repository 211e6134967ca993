/**
 * Three-way merges of models: what `POST /v1/drafts/{id}/rebase` does to move a draft onto the
 * live epoch. Pure and deterministic.
 *
 * @module
 */
import { GrecoError } from '../domain/errors.ts';
import { type FunctionSpec, fieldPath } from './spec.ts';

/**
 * One field both sides changed differently. `field` is a plan field path (`memoryMiB`,
 * `environment.LOG_LEVEL`, `code.sha256`), or `function` when one side deleted the function and
 * the other changed it. A value is absent when the field (or function) is unset on that side.
 */
export interface MergeConflict {
  readonly function: string;
  readonly field: string;
  readonly base?: unknown;
  readonly draft?: unknown;
  readonly live?: unknown;
}

/** Result of {@link mergeModels}: the merged model (sorted by name) when `conflicts` is empty. */
export interface ModelMerge {
  readonly functions: FunctionSpec[];
  readonly conflicts: MergeConflict[];
}

/** 409 `rebase-conflict`: the draft and the live model changed the same fields differently; nothing changed. */
export class RebaseConflictError extends GrecoError {
  constructor(
    draftId: string,
    liveEpoch: number,
    conflicts: readonly MergeConflict[],
    options?: ErrorOptions,
  ) {
    super(
      `draft ${draftId} and epoch ${liveEpoch} changed ${conflicts.length} field(s) differently: edit the draft to resolve them (or create a new draft), nothing was changed`,
      {
        status: 409,
        title: 'Rebase conflict',
        slug: 'rebase-conflict',
        extensions: { liveEpoch, conflicts },
      },
      options,
    );
    this.name = 'RebaseConflictError';
  }
}

/** The scalar fields of a spec that merge as a whole (`code` by its `sha256`). */
const scalarFields = [
  'runtime',
  'handler',
  'code',
  'memoryMiB',
  'timeoutSeconds',
  'ephemeralStorageMiB',
  'architecture',
  'reservedConcurrency',
] as const;

type ScalarField = (typeof scalarFields)[number];

/**
 * Merges `draft` and `live`, both descendants of `base`, function by function and field by
 * field (`environment` and `tags` key by key): a side that left a value as in `base` takes the
 * other side's; equal changes agree; different changes of one field are a conflict. A function
 * deleted on one side and changed on the other is a conflict on field `function`.
 *
 * @param base - the model both sides started from (the draft's base epoch)
 * @param draft - the draft's model ("ours")
 * @param live - the live model ("theirs")
 * @returns the merged model, or the conflicts (then `functions` must not be used)
 * @example
 * const { functions, conflicts } = mergeModels(baseEpochModel, draft.functions, live.functions);
 */
export function mergeModels(
  base: readonly FunctionSpec[],
  draft: readonly FunctionSpec[],
  live: readonly FunctionSpec[],
): ModelMerge {
  const b = byName(base);
  const o = byName(draft);
  const t = byName(live);
  const names = [...new Set([...b.keys(), ...o.keys(), ...t.keys()])].sort(compareCodeUnits);
  const functions: FunctionSpec[] = [];
  const conflicts: MergeConflict[] = [];
  for (const name of names) {
    const [bs, os, ts] = [b.get(name), o.get(name), t.get(name)];
    if (sameFunction(os, bs)) {
      if (ts !== undefined) functions.push(ts);
    } else if (sameFunction(ts, bs) || sameFunction(os, ts)) {
      if (os !== undefined) functions.push(os);
    } else if (os === undefined || ts === undefined) {
      conflicts.push({
        function: name,
        field: 'function',
        ...(bs === undefined ? {} : { base: 'present' }),
        draft: os === undefined ? 'deleted' : 'changed',
        live: ts === undefined ? 'deleted' : 'changed',
      });
    } else {
      const merged = mergeFunction(name, bs, os, ts, conflicts);
      if (merged !== undefined) functions.push(merged);
    }
  }
  return { functions, conflicts };
}

function mergeFunction(
  name: string,
  base: FunctionSpec | undefined,
  ours: FunctionSpec,
  theirs: FunctionSpec,
  conflicts: MergeConflict[],
): FunctionSpec | undefined {
  const before = conflicts.length;
  const merged: Record<string, unknown> = { name };
  for (const field of scalarFields) {
    const [bv, ov, tv] = [base?.[field], ours[field], theirs[field]];
    const pick = mergeValue(bv, ov, tv, field === 'code' ? codeKey : plain);
    if (pick === conflict) {
      conflicts.push(
        conflictOf(
          name,
          field === 'code' ? 'code.sha256' : field,
          field === 'code' ? codeKey : plain,
          bv,
          ov,
          tv,
        ),
      );
    } else if (pick !== undefined) merged[field] = pick;
  }
  for (const map of ['environment', 'tags'] as const) {
    const [bm, om, tm] = [base?.[map] ?? {}, ours[map], theirs[map]];
    const keys = [...new Set([...Object.keys(bm), ...Object.keys(om), ...Object.keys(tm)])].sort(
      compareCodeUnits,
    );
    const out: Record<string, string> = {};
    for (const key of keys) {
      const [bv, ov, tv] = [own(bm, key), own(om, key), own(tm, key)];
      const pick = mergeValue(bv, ov, tv, plain);
      if (pick === conflict) conflicts.push(conflictOf(name, fieldPath([map, key]), plain, bv, ov, tv));
      else if (pick !== undefined) out[key] = pick as string;
    }
    merged[map] = out;
  }
  return conflicts.length === before ? (merged as unknown as FunctionSpec) : undefined;
}

const conflict = Symbol('conflict');

function mergeValue(
  base: unknown,
  ours: unknown,
  theirs: unknown,
  key: (value: unknown) => unknown,
): unknown | typeof conflict {
  const [b, o, t] = [key(base), key(ours), key(theirs)];
  if (Object.is(o, b)) return theirs;
  if (Object.is(t, b) || Object.is(o, t)) return ours;
  return conflict;
}

function conflictOf(
  name: string,
  field: string,
  key: (value: unknown) => unknown,
  base: unknown,
  draft: unknown,
  live: unknown,
): MergeConflict {
  const [b, d, l] = [key(base), key(draft), key(live)];
  return {
    function: name,
    field,
    ...(b === undefined ? {} : { base: b }),
    ...(d === undefined ? {} : { draft: d }),
    ...(l === undefined ? {} : { live: l }),
  };
}

const plain = (value: unknown): unknown => value;
const codeKey = (value: unknown): unknown => (value as FunctionSpec['code'] | undefined)?.sha256;

function own(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Whether two functions (either possibly absent) are the same in every field the plan compares. */
function sameFunction(a: FunctionSpec | undefined, b: FunctionSpec | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  for (const field of scalarFields satisfies readonly ScalarField[]) {
    const key = field === 'code' ? codeKey : plain;
    if (!Object.is(key(a[field]), key(b[field]))) return false;
  }
  return sameRecord(a.environment, b.environment) && sameRecord(a.tags, b.tags);
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

function byName(functions: readonly FunctionSpec[]): Map<string, FunctionSpec> {
  return new Map(functions.map((spec) => [spec.name, spec]));
}

/** Orders strings by UTF-16 code units (what `<` does), independent of locale. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
