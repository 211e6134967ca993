import { randomUUID } from 'node:crypto';
import { ApiClient } from '../api.ts';
import type { Command, CommandContext } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import { ApiError, CliError } from '../errors.ts';
import { renderPlan, renderVetoReasons, type VetoReason } from '../render.ts';
import { planFile } from './plan.ts';

/** A deployment as `GET /v1/deployments/{id}` answers (the fields the CLI reads). */
export interface DeploymentView {
  readonly deploymentId: string;
  readonly status: string;
  readonly baseEpoch: number;
  readonly targetEpoch: number;
  readonly decision?: { readonly outcome: string; readonly epoch?: number };
  readonly votes?: Readonly<
    Record<string, { readonly vote: string; readonly reasons: readonly VetoReason[] }>
  >;
  readonly counts?: { readonly create: number; readonly update: number; readonly delete: number };
  /** ISO 8601 times of the phases; `requestedAt` is when `greco apply` asked for it. */
  readonly phases?: { readonly requestedAt?: string; readonly endedAt?: string };
  readonly error?: { readonly error: string; readonly cause: string };
  readonly consoleUrl?: string;
  readonly functions?: readonly {
    readonly name: string;
    readonly phase?: string;
    readonly status: string;
    readonly reasons?: readonly VetoReason[];
  }[];
}

/** Statuses after which a deployment never changes. */
export const finalStatuses: ReadonlySet<string> = new Set([
  'Committed',
  'Vetoed',
  'Aborted',
  'CommitIncomplete',
]);

/**
 * Polls `GET /v1/deployments/{id}` until the deployment ends, writing a progress line to stderr
 * each time something moves (phase, functions staged, votes).
 */
export async function followDeployment(
  api: ApiClient,
  deploymentId: string,
  ctx: CommandContext,
): Promise<DeploymentView> {
  const interval = ctx.pollIntervalMs ?? 500;
  let last = '';
  for (;;) {
    ctx.signal?.throwIfAborted();
    const { body } = await api.request<DeploymentView>('GET', `v1/deployments/${deploymentId}`);
    const line = progressLine(body);
    if (line !== last) {
      ctx.io.err(`  ${line}\n`);
      last = line;
    }
    if (finalStatuses.has(body.status)) return body;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** `Preparing: 2/3 functions done; votes: lambda accept`, or only the status before any function is listed. */
export function progressLine(deployment: DeploymentView): string {
  const functions = deployment.functions ?? [];
  const names = new Set(functions.map((f) => f.name));
  const staged = new Set(
    functions
      .filter((f) => f.phase !== undefined && f.status !== 'pending' && f.status !== 'in-progress')
      .map((f) => f.name),
  );
  const votes = Object.entries(deployment.votes ?? {}).map(([conductor, v]) => `${conductor} ${v.vote}`);
  // Before the change set is written (Requested) the deployment lists no functions yet: no count.
  const done = names.size === 0 ? [] : [`${staged.size}/${names.size} functions done`];
  if (votes.length > 0) done.push(`votes: ${votes.join(', ')}`);
  return done.length === 0 ? deployment.status : `${deployment.status}: ${done.join('; ')}`;
}

/** Every veto reason of a deployment, from its votes and its per-function results, without repeats. */
export function vetoReasons(deployment: DeploymentView): VetoReason[] {
  const seen = new Set<string>();
  const all: VetoReason[] = [];
  const add = (reason: VetoReason, conductor?: string): void => {
    const key = `${reason.function ?? ''}|${reason.code}|${reason.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    all.push(conductor === undefined || reason.conductor !== undefined ? reason : { ...reason, conductor });
  };
  for (const [conductor, vote] of Object.entries(deployment.votes ?? {}))
    for (const r of vote.reasons ?? []) add(r, conductor);
  for (const fn of deployment.functions ?? [])
    for (const r of fn.reasons ?? []) add({ ...r, function: r.function ?? fn.name });
  return all;
}

/** `greco apply -f greco.yaml`. */
export const apply: Command = {
  name: 'apply',
  summary: 'plan, then deploy the draft and follow the deployment until it ends',
  usage: `Usage: greco apply -f greco.yaml [--json]

Does what greco plan does, then deploys the draft (POST /v1/drafts/{id}/deployments, approver
role) and follows the deployment (phase, functions done, votes) until it ends. Exit code 0 only
when it is Committed (or when there was nothing to deploy); a veto prints each reason and what
to change in greco.yaml.

Options:
  -f, --file PATH   the model file (default greco.yaml)
  --json            print the final deployment as JSON
`,
  async run(args, ctx) {
    const { values } = parseCommandArgs('apply', args, { file: { type: 'string', short: 'f' } });
    const { session, draft, plan } = await planFile(values.file ?? 'greco.yaml', ctx);
    if (!ctx.json) ctx.io.out(renderPlan(plan, session.workspace));
    if (plan.changes.length === 0) {
      if (ctx.json) printJson(ctx, { status: 'Unchanged', epoch: plan.liveEpoch });
      else ctx.io.out(`Nothing to deploy: epoch ${plan.liveEpoch} is already this model.\n`);
      return 0;
    }
    const api = new ApiClient(session.apiUrl, session.token);
    let started: DeploymentView;
    try {
      started = (
        await api.request<DeploymentView>(
          'POST',
          `v1/drafts/${encodeURIComponent(draft.draftId)}/deployments`,
          {
            headers: { 'idempotency-key': randomUUID(), 'if-match': `"${draft.version}"` },
          },
        )
      ).body;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        throw new CliError(`${error.message}: wait for it to end (greco deployments), then apply again`, {
          cause: error,
          problem: error.problem,
        });
      }
      throw error;
    }
    ctx.io.err(`Deploying ${started.deploymentId}: epoch ${started.baseEpoch} → ${started.targetEpoch}\n`);
    const final = await followDeployment(api, started.deploymentId, ctx);
    if (ctx.json) printJson(ctx, final);
    switch (final.status) {
      case 'Committed':
        if (!ctx.json)
          ctx.io.out(
            `Committed ${final.deploymentId}: epoch ${final.decision?.epoch ?? final.targetEpoch} is live.\n`,
          );
        return 0;
      case 'Vetoed': {
        if (!ctx.json) {
          ctx.io.out(
            `Vetoed ${final.deploymentId}: nothing changed, epoch ${final.baseEpoch} is still live. Reasons:\n`,
          );
          ctx.io.out(renderVetoReasons(vetoReasons(final)));
          ctx.io.out('Change greco.yaml as said above and run greco apply again.\n');
        }
        return 1;
      }
      default:
        if (!ctx.json) {
          ctx.io.out(
            `${final.status} ${final.deploymentId}${final.error === undefined ? '' : `: ${final.error.error}: ${final.error.cause}`}${final.consoleUrl === undefined ? '' : `\n  see ${final.consoleUrl}`}\n`,
          );
        }
        return 1;
    }
  },
};
