import { ApiClient } from '../api.ts';
import type { Command, CommandContext } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import { loadSession } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';

interface FunctionState {
  readonly name: string;
  readonly functionName: string;
  readonly state: string;
  readonly reservedConcurrency: number | null;
  readonly currentConcurrency: number | null;
}

async function verb(which: 'suspend' | 'start', args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseCommandArgs(which, args, {}, true);
  const name = positionals[0];
  if (name === undefined || positionals.length > 1)
    throw new UsageError(`${which}: give one function NAME (see greco ${which} --help)`);
  const session = await loadSession(ctx);
  if (session.controllerUrl === undefined) {
    throw new CliError(
      'the hot-path controller URL is unknown: run greco login --controller-url URL (the ControllerUrl output of GrecoDataPlaneController)',
    );
  }
  const api = new ApiClient(session.controllerUrl, session.token);
  const { body } = await api.request<FunctionState>(
    'POST',
    `v1/functions/${encodeURIComponent(name)}/${which}`,
  );
  if (ctx.json) printJson(ctx, body);
  else {
    const concurrency =
      body.currentConcurrency === null ? 'unreserved' : `concurrency ${body.currentConcurrency}`;
    ctx.io.out(`${body.name} is ${body.state} (${body.functionName}, ${concurrency})\n`);
  }
  return 0;
}

/** `greco suspend NAME`: the hot path's suspend (reserved concurrency 0: invocations are throttled). */
export const suspend: Command = {
  name: 'suspend',
  summary: 'suspend a function on the hot path (invocations are throttled until started)',
  usage: `Usage: greco suspend NAME [--json]

POST <controller>/v1/functions/NAME/suspend (operator role): sets the function's reserved
concurrency to 0, so every invocation is throttled. It stays suspended across deployments
until greco start NAME. Idempotent.
`,
  run: (args, ctx) => verb('suspend', args, ctx),
};

/** `greco start NAME`: the hot path's start (restores the configured concurrency). */
export const start: Command = {
  name: 'start',
  summary: 'start a suspended function on the hot path',
  usage: `Usage: greco start NAME [--json]

POST <controller>/v1/functions/NAME/start (operator role): restores the reserved concurrency
the live model configures (or none). Idempotent.
`,
  run: (args, ctx) => verb('start', args, ctx),
};
