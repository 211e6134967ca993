import { randomUUID } from 'node:crypto';
import { ApiClient } from '../api.ts';
import type { Command, CommandContext } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import { ApiError, CliError } from '../errors.ts';
import { type PlanView, renderPlan, renderVetoReasons, type VetoReason } from '../render.ts';
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
  usage: `Usage: greco apply -f greco.yaml [--yes] [--json]

Does what greco plan does, then deploys the draft (POST /v1/drafts/{id}/deployments, approver
role) and follows the deployment (phase, functions done, votes) until it ends. Exit code 0 only
when it is Committed (or when there was nothing to deploy); a veto prints each reason and what
to change in greco.yaml.

Exactly the plan shown is deployed: apply sends its hash, and a plan that moved meanwhile is
refused (nothing starts). A draft based on an epoch that is no longer live is first rebased onto
the live one (POST /v1/drafts/{id}/rebase) when no field conflicts, and apply says so; conflicts
are listed and nothing deploys. A plan that deletes functions needs consent: a question on a
terminal, else --yes (without it apply exits 1 and deploys nothing).

Options:
  -f, --file PATH   the model file (default greco.yaml)
  -y, --yes         deploy without asking, even when the plan deletes functions
  --json            print the final deployment as JSON
`,
  async run(args, ctx) {
    const { values } = parseCommandArgs('apply', args, {
      file: { type: 'string', short: 'f' },
      yes: { type: 'boolean', short: 'y', default: false },
    });
    const planned = await planFile(values.file ?? 'greco.yaml', ctx);
    const { session, draft } = planned;
    const api = new ApiClient(session.apiUrl, session.token);
    const plan = await rebaseIfStale(api, planned.plan, ctx);
    if (!ctx.json) ctx.io.out(renderPlan(plan, session.workspace));
    if (plan.changes.length === 0) {
      if (ctx.json) printJson(ctx, { status: 'Unchanged', epoch: plan.liveEpoch });
      else ctx.io.out(`Nothing to deploy: epoch ${plan.liveEpoch} is already this model.\n`);
      return 0;
    }
    if (plan.summary.delete > 0 && values.yes !== true) {
      const deleted = plan.changes.filter((c) => c.action === 'delete').map((c) => c.name);
      const what = `the plan deletes ${deleted.length} function(s): ${deleted.join(', ')}`;
      if (ctx.io.confirm === undefined) {
        throw new CliError(
          `${what}; nothing was deployed: run greco apply --yes to deploy it without a terminal`,
        );
      }
      if (!(await ctx.io.confirm(`${what}. Deploy?`))) {
        ctx.io.err('Not deployed: nothing changed.\n');
        return 1;
      }
    }
    let started: DeploymentView;
    try {
      started = (
        await api.request<DeploymentView>(
          'POST',
          `v1/drafts/${encodeURIComponent(draft.draftId)}/deployments`,
          {
            headers: { 'idempotency-key': randomUUID(), 'if-match': `"${plan.draftVersion}"` },
            ...(plan.planHash === undefined ? {} : { body: { planHash: plan.planHash } }),
          },
        )
      ).body;
    } catch (error) {
      if (
        error instanceof ApiError &&
        (problemSlug(error) === 'plan-changed' || problemSlug(error) === 'stale-draft')
      ) {
        throw new CliError(
          `${error.message}: the plan changed after it was shown (another deployment or edit); nothing was deployed, run greco apply again to review the new plan`,
          { cause: error, problem: error.problem },
        );
      }
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

/** A merge conflict as `POST /v1/drafts/{id}/rebase` lists it. */
interface RebaseConflict {
  readonly function: string;
  readonly field: string;
  readonly base?: unknown;
  readonly draft?: unknown;
  readonly live?: unknown;
}

/** The `type` slug of an API error's problem+json (`.../problems/<slug>`), if any. */
function problemSlug(error: ApiError): string | undefined {
  const type = (error.problem as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type.slice(type.lastIndexOf('/') + 1) : undefined;
}

/**
 * When the draft is based on an epoch that is no longer live, rebases it (`POST
 * /v1/drafts/{id}/rebase`, three-way merge), says so on stderr and reads the plan again; else
 * returns `plan` as is.
 *
 * @throws CliError listing each field conflict (nothing changed) when the rebase conflicts
 */
export async function rebaseIfStale(api: ApiClient, plan: PlanView, ctx: CommandContext): Promise<PlanView> {
  if (plan.baseEpoch === plan.liveEpoch) return plan;
  const draftPath = `v1/drafts/${encodeURIComponent(plan.draftId)}`;
  try {
    await api.request('POST', `${draftPath}/rebase`, { headers: { 'if-match': `"${plan.draftVersion}"` } });
  } catch (error) {
    if (error instanceof ApiError && problemSlug(error) === 'rebase-conflict') {
      const conflicts = ((error.problem as { conflicts?: RebaseConflict[] }).conflicts ?? []).map(
        (c) =>
          `  ${c.function} ${c.field}: base ${JSON.stringify(c.base) ?? '(unset)'}, yours ${JSON.stringify(c.draft) ?? '(unset)'}, live ${JSON.stringify(c.live) ?? '(unset)'}\n`,
      );
      throw new CliError(
        `draft ${plan.draftId} is based on epoch ${plan.baseEpoch ?? 'unknown'} but epoch ${plan.liveEpoch} is live, and both changed the same fields:\n${conflicts.join('')}nothing was deployed: update greco.yaml (and the live changes you keep), then apply again`,
        { cause: error, problem: error.problem },
      );
    }
    throw error;
  }
  ctx.io.err(
    `Rebased draft ${plan.draftId} from epoch ${plan.baseEpoch ?? 'unknown'} onto live epoch ${plan.liveEpoch}: no conflicts, the changes deployed since are kept\n`,
  );
  return (await api.request<PlanView>('GET', `${draftPath}/plan`)).body;
}
