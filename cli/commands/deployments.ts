import { ApiClient } from '../api.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import { loadSession } from '../context.ts';
import { renderTable } from '../render.ts';
import type { DeploymentView } from './apply.ts';

/** `greco deployments`: recent deployments, newest first. */
export const deployments: Command = {
  name: 'deployments',
  summary: 'list recent deployments, newest first (GET /v1/deployments)',
  usage: `Usage: greco deployments [--limit N] [--json]

Lists your workspace's deployments, newest first: id, status, epochs, changes, start time.

Options:
  --limit N   how many (1-100, default 25)
`,
  async run(args, ctx) {
    const { values } = parseCommandArgs('deployments', args, { limit: { type: 'string' } });
    const session = await loadSession(ctx);
    const api = new ApiClient(session.apiUrl, session.token);
    const { body } = await api.request<{ deployments: DeploymentView[] }>(
      'GET',
      `v1/deployments?limit=${encodeURIComponent(values.limit ?? '25')}`,
    );
    if (ctx.json) {
      printJson(ctx, body);
      return 0;
    }
    if (body.deployments.length === 0) {
      ctx.io.out(
        `No deployments yet in workspace ${session.workspace}: greco apply -f greco.yaml makes one.\n`,
      );
      return 0;
    }
    ctx.io.out(
      renderTable([
        ['DEPLOYMENT', 'STATUS', 'EPOCH', 'CHANGES', 'STARTED'],
        ...body.deployments.map((d) => [
          d.deploymentId,
          d.status,
          `${d.baseEpoch} → ${d.targetEpoch}`,
          d.counts === undefined ? '-' : `+${d.counts.create} ~${d.counts.update} -${d.counts.delete}`,
          d.phases?.requestedAt ?? '-',
        ]),
      ]),
    );
    return 0;
  },
};
