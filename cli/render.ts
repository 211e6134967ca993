/**
 * Text output of the CLI: the plan as a readable diff, tables, deployment progress lines.
 * Pure functions of their input (no colours, no clock), so they are unit-tested as text.
 */
import type { FunctionChange, PlanSummary } from '../core/plan.ts';

/** The body of `GET /v1/drafts/{id}/plan`. */
export interface PlanView {
  readonly draftId: string;
  readonly draftVersion: number;
  /** The live epoch the draft is based on; absent when unknown (a draft older than this field). */
  readonly baseEpoch?: number;
  readonly liveEpoch: number;
  readonly changes: readonly FunctionChange[];
  readonly summary: PlanSummary;
  /** SHA-256 of the change set's canonical JSON: `greco apply` sends it so that only this plan deploys. */
  readonly planHash?: string;
}

const actionMark = { create: '+', update: '~', delete: '-' } as const;

function show(field: string, value: unknown): string {
  if (typeof value === 'string' && field === 'code.sha256') return value.slice(0, 12);
  return JSON.stringify(value);
}

/**
 * The plan as a diff, one function per block: `+` create (every field set), `~` update (each
 * changed field `before → after`), `-` delete; then a summary line.
 *
 * @example
 * out(renderPlan(plan, 'demo'));
 * // Plan for workspace demo: draft d-1 (version 2) against live epoch 1
 * //   ~ greeter
 * //       environment.GREETING: "Hello" → "Hi"
 * // 0 to create, 1 to update, 0 to delete, 2 unchanged
 */
export function renderPlan(plan: PlanView, workspace: string): string {
  const lines = [
    `Plan for workspace ${workspace}: draft ${plan.draftId} (version ${plan.draftVersion}) against live epoch ${plan.liveEpoch}`,
  ];
  if (plan.changes.length === 0) lines.push('  no changes: the draft is the live model');
  for (const change of plan.changes) {
    lines.push(
      `  ${actionMark[change.action]} ${change.name}${change.action === 'delete' ? ' (delete)' : ''}`,
    );
    for (const diff of change.diffs) {
      if (change.action === 'create') {
        lines.push(`      ${diff.field}: ${show(diff.field, diff.after)}`);
      } else if (!('before' in diff) || diff.before === undefined) {
        lines.push(`      + ${diff.field}: ${show(diff.field, diff.after)}`);
      } else if (!('after' in diff) || diff.after === undefined) {
        lines.push(`      - ${diff.field}: ${show(diff.field, diff.before)}`);
      } else {
        lines.push(`      ${diff.field}: ${show(diff.field, diff.before)} → ${show(diff.field, diff.after)}`);
      }
    }
  }
  const s = plan.summary;
  lines.push(`${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.unchanged} unchanged`);
  return `${lines.join('\n')}\n`;
}

/**
 * A plain text table: columns padded to their widest cell, two spaces apart.
 * @param rows - the first row is the header
 */
export function renderTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return `${rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

/** A veto reason as the deployment API reports it. */
export interface VetoReason {
  readonly conductor?: string;
  readonly code: string;
  readonly function?: string;
  readonly message: string;
}

const whatToChange: Readonly<Record<string, string>> = {
  RUNTIME_DEPRECATED: 'set runtime to a supported one (e.g. nodejs24.x) in greco.yaml',
  RUNTIME_UNSUPPORTED: 'set runtime to one Lambda knows (e.g. nodejs24.x) in greco.yaml',
  OUT_OF_BOUNDS:
    "bring the value within Lambda's bounds in greco.yaml (memoryMiB 128–10240, timeoutSeconds 1–900, environment ≤ 4 KB)",
  CONCURRENCY_UNAVAILABLE:
    'lower or remove reservedConcurrency in greco.yaml (Lambda keeps 100 unreserved in the account)',
  NAME_NOT_MANAGED:
    'rename the function in greco.yaml: a Lambda function not managed by greco already has its name',
  NAME_OTHER_WORKSPACE: 'rename the function in greco.yaml: another workspace owns its name',
  LAMBDA_REJECTED: 'fix the code or setting Lambda refused, then apply again',
  CODE_MISSING: 'run greco apply again: the code is uploaded with the draft',
};

/** One line per veto reason: `✗ <function>: <message> (<CODE>); to fix: <what to change>`. */
export function renderVetoReasons(reasons: readonly VetoReason[]): string {
  return reasons
    .map((reason) => {
      const fix = whatToChange[reason.code];
      return `  ✗ ${reason.function ?? '(deployment)'}: ${reason.message} (${reason.code})${fix === undefined ? '' : `\n      to fix: ${fix}`}`;
    })
    .map((line) => `${line}\n`)
    .join('');
}
