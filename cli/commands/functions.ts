import { ApiClient } from '../api.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import { loadSession } from '../context.ts';
import { renderTable } from '../render.ts';

interface LiveFunction {
  readonly name: string;
  readonly runtime: string;
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
  readonly architecture: string;
  readonly reservedConcurrency?: number;
  readonly code: { readonly sha256: string };
}

/** `greco functions`: the live model. */
export const functions: Command = {
  name: 'functions',
  summary: 'list the functions of the live model (GET /v1/functions)',
  usage: `Usage: greco functions [--json]

Lists the live model of your workspace: name, runtime, memory (MiB), timeout (s), architecture,
reserved concurrency and code SHA-256, with the live epoch.
`,
  async run(args, ctx) {
    parseCommandArgs('functions', args, {});
    const session = await loadSession(ctx);
    const api = new ApiClient(session.apiUrl, session.token);
    const all: LiveFunction[] = [];
    let epoch = 0;
    let cursor: string | undefined;
    do {
      const page = await api.request<{ epoch: number; functions: LiveFunction[]; nextCursor?: string }>(
        'GET',
        `v1/functions${cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`}`,
      );
      epoch = page.body.epoch;
      all.push(...page.body.functions);
      cursor = page.body.nextCursor;
    } while (cursor !== undefined);
    if (ctx.json) {
      printJson(ctx, { epoch, functions: all });
      return 0;
    }
    ctx.io.out(
      `Workspace ${session.workspace}, live epoch ${epoch}: ${all.length} function${all.length === 1 ? '' : 's'}\n`,
    );
    if (all.length > 0) {
      ctx.io.out(
        renderTable([
          ['NAME', 'RUNTIME', 'MEMORY', 'TIMEOUT', 'ARCH', 'RESERVED', 'CODE'],
          ...all.map((f) => [
            f.name,
            f.runtime,
            `${f.memoryMiB} MiB`,
            `${f.timeoutSeconds} s`,
            f.architecture,
            f.reservedConcurrency === undefined ? '-' : String(f.reservedConcurrency),
            f.code.sha256.slice(0, 12),
          ]),
        ]),
      );
    }
    return 0;
  },
};
