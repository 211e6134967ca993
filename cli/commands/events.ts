import { readFile } from 'node:fs/promises';
import type { Command, CommandContext } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { loadSession } from '../context.ts';
import { CliError, UnreachableError } from '../errors.ts';

/** An event as EventBridge delivers it (the fields the CLI reads). */
export interface BusEvent {
  readonly id: string;
  readonly time: string;
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: Record<string, unknown>;
}

/** One line for an event: `<time>  <detail-type>  <what>`. */
export function renderEvent(event: BusEvent): string {
  const d = event.detail;
  let what: string;
  if (typeof d.deploymentId === 'string') {
    what = `${d.deploymentId} ${String(d.status ?? '')}${typeof d.epoch === 'number' ? ` epoch ${d.epoch}` : ` → epoch ${String(d.targetEpoch ?? '?')}`}`;
    if (Array.isArray(d.reasons))
      what += ` (${d.reasons.map((r: { code?: string; function?: string }) => `${r.function ?? ''} ${r.code ?? ''}`.trim()).join(', ')})`;
  } else if (typeof d.name === 'string') {
    what = `${d.name} ${String(d.state ?? '')}`;
  } else {
    what = JSON.stringify(d);
  }
  return `${event.time}  ${event['detail-type'].padEnd(26)}  ${what}`;
}

function parseLine(line: string): BusEvent | undefined {
  if (line.trim() === '') return undefined;
  try {
    return JSON.parse(line) as BusEvent;
  } catch {
    return undefined;
  }
}

/** `greco events [--follow]`: greco's events of your workspace, in order. */
export const events: Command = {
  name: 'events',
  summary: "print your workspace's deployment and hot-path events; --follow keeps streaming",
  usage: `Usage: greco events [--follow] [--json]

Local cloud: prints the events of your workspace that the EventBridge emulator of the running
local cloud recorded in its events.jsonl (sources greco.deployments and greco.hotpath), in order;
with --follow,
then streams new ones (GET <eventbridge>/_greco/tail) until Ctrl-C. Deployed greco: events go to
the EventBridge bus greco; create a rule to see them (docs/cli.md says how).

Options:
  --follow   keep streaming new events
  --json     one event (EventBridge's JSON) per line
`,
  async run(args, ctx) {
    const { values } = parseCommandArgs('events', args, { follow: { type: 'boolean', default: false } });
    const session = await loadSession(ctx);
    if (session.local === undefined) {
      throw new CliError(
        'events of a deployed greco are on its EventBridge bus "greco": create a rule with the pattern {"source":[{"prefix":"greco."}],"detail":{"workspace":["' +
          session.workspace +
          '"]}} and a target (CloudWatch Logs, SQS), see docs/cli.md',
      );
    }
    const mine = (event: BusEvent): boolean =>
      event.source.startsWith('greco.') && event.detail?.workspace === session.workspace;
    const print = (event: BusEvent): void =>
      ctx.io.out(`${ctx.json ? JSON.stringify(event) : renderEvent(event)}\n`);

    let stream: Response | undefined;
    const abort = new AbortController();
    const onAbort = (): void => abort.abort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (values.follow) {
        try {
          stream = await fetch(`${session.local.endpoints.eventbridge}/_greco/tail`, {
            signal: abort.signal,
          });
        } catch (error) {
          if (ctx.signal?.aborted) return 0;
          throw new UnreachableError(
            `cannot reach the EventBridge emulator at ${session.local.endpoints.eventbridge}: is the local cloud running (npx greco local)?`,
            { cause: error },
          );
        }
      }
      const seen = new Set<string>();
      const text = await readFile(session.local.eventsFile, 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        const event = parseLine(line);
        if (event === undefined || seen.has(event.id)) continue;
        seen.add(event.id);
        if (mine(event)) print(event);
      }
      if (stream?.body == null) return 0;
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of stream.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let newline = buffer.indexOf('\n');
          while (newline >= 0) {
            const event = parseLine(buffer.slice(0, newline));
            buffer = buffer.slice(newline + 1);
            if (event !== undefined && !seen.has(event.id)) {
              seen.add(event.id);
              if (mine(event)) print(event);
            }
            newline = buffer.indexOf('\n');
          }
        }
      } catch (error) {
        if (ctx.signal?.aborted) return 0;
        throw new UnreachableError('the event stream ended: the local cloud stopped', { cause: error });
      }
      return 0;
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
      abort.abort();
    }
  },
} satisfies Command;

export type { CommandContext };
