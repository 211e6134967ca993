import { ApiClient } from '../api.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import { loadSession, savedDraftId } from '../context.ts';
import type { DeploymentView } from './apply.ts';

/** `greco status`: where you are logged in, the live epoch, the last deployment, your draft. */
export const status: Command = {
  name: 'status',
  summary: 'show the endpoint, workspace, live epoch, last deployment and current draft',
  usage: `Usage: greco status [--json]

Shows what the CLI talks to (the local cloud or a deployed API), your workspace, the live epoch
and function count, the most recent deployment, and the draft greco plan edits.
`,
  async run(args, ctx) {
    parseCommandArgs('status', args, {});
    const session = await loadSession(ctx);
    const api = new ApiClient(session.apiUrl, session.token);
    const [live, recent] = await Promise.all([
      api.request<{ epoch: number; functions: unknown[]; nextCursor?: string }>('GET', 'v1/functions'),
      api.request<{ deployments: DeploymentView[] }>('GET', 'v1/deployments?limit=1'),
    ]);
    const draftId = await savedDraftId(ctx.workDir, session.apiUrl, session.workspace);
    const last = recent.body.deployments[0];
    const info = {
      target: session.kind,
      apiUrl: session.apiUrl,
      controllerUrl: session.controllerUrl ?? null,
      workspace: session.workspace,
      epoch: live.body.epoch,
      functions: live.body.functions.length + (live.body.nextCursor === undefined ? 0 : 0),
      lastDeployment:
        last === undefined
          ? null
          : { deploymentId: last.deploymentId, status: last.status, targetEpoch: last.targetEpoch },
      draftId: draftId ?? null,
    };
    if (ctx.json) {
      printJson(ctx, info);
      return 0;
    }
    ctx.io.out(
      [
        `target:          ${session.kind === 'local' ? 'local cloud' : 'deployed greco'} (${session.apiUrl})`,
        `workspace:       ${session.workspace}`,
        `live epoch:      ${info.epoch} (${info.functions}${live.body.nextCursor === undefined ? '' : '+'} functions)`,
        `last deployment: ${last === undefined ? 'none' : `${last.deploymentId} ${last.status} (epoch ${last.targetEpoch})`}`,
        `draft:           ${draftId ?? 'none yet (greco plan creates one)'}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
