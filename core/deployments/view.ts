/**
 * What the deployments API answers for a deployment record.
 *
 * @module
 */
import type { ChangeAction } from '../plan.ts';
import type { StoredDeployment } from './store.ts';
import type { ChangeItem, Deployment, Reason, ResultItem } from './types.ts';

/** One function's outcome in one conductor (or `pending` while no conductor has recorded any). */
export interface FunctionResultView {
  readonly name: string;
  readonly action: ChangeAction;
  /** Absent while no conductor has recorded progress on the function. */
  readonly conductor?: string;
  readonly phase?: ResultItem['phase'];
  readonly status: ResultItem['status'];
  readonly version?: string;
  readonly reasons: readonly Reason[];
  /** ISO 8601 UTC. */
  readonly updatedAt?: string;
}

/** A deployment as the API shows it: the record, its console link, and (single reads) per-function results. */
export type DeploymentView = Deployment & {
  /** The execution in the Step Functions console. */
  readonly consoleUrl: string;
  readonly functions?: readonly FunctionResultView[];
};

/**
 * The API view of a record; with `details` (the deployment's change and result items), the
 * per-function results, by name.
 */
export function deploymentView(
  record: StoredDeployment,
  details?: { changes: readonly ChangeItem[]; results: readonly ResultItem[] },
): DeploymentView {
  const { events: _events, ...deployment } = record;
  const view: DeploymentView = { ...deployment, consoleUrl: consoleUrlOf(record.executionArn) };
  if (details === undefined) return view;
  const byName = new Map<string, ResultItem[]>();
  for (const result of details.results) byName.set(result.name, [...(byName.get(result.name) ?? []), result]);
  const functions: FunctionResultView[] = [];
  for (const change of [...details.changes].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )) {
    const results = byName.get(change.name) ?? [];
    if (results.length === 0) {
      functions.push({ name: change.name, action: change.action, status: 'pending', reasons: [] });
      continue;
    }
    for (const result of results) {
      functions.push({
        name: change.name,
        action: change.action,
        conductor: result.conductor,
        phase: result.phase,
        status: result.status,
        ...(result.version === undefined ? {} : { version: result.version }),
        reasons: result.reasons ?? [],
        updatedAt: result.updatedAt,
      });
    }
  }
  return { ...view, functions };
}

/**
 * The Step Functions console page of an execution:
 * `https://<region>.console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<arn>`.
 */
export function consoleUrlOf(executionArn: string): string {
  const region = executionArn.split(':')[3] ?? 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
