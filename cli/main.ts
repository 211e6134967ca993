#!/usr/bin/env node
/**
 * The greco CLI: `greco <command> [options]`. Each command is a module under cli/commands;
 * this file parses the global options, dispatches, and turns every failure into one line on
 * stderr (`greco: ...`) and a non-zero exit code, plus the problem+json with `--verbose`.
 * See docs/cli.md.
 */
import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import type { Command, CommandContext, Io } from './command.ts';
import { apply } from './commands/apply.ts';
import { deployments } from './commands/deployments.ts';
import { events } from './commands/events.ts';
import { functions } from './commands/functions.ts';
import { start, suspend } from './commands/hotpath.ts';
import { init } from './commands/init.ts';
import { invoke } from './commands/invoke.ts';
import { local } from './commands/local.ts';
import { login } from './commands/login.ts';
import { logs } from './commands/logs.ts';
import { plan } from './commands/plan.ts';
import { status } from './commands/status.ts';
import { resolveWorkFolders } from './context.ts';
import { CliError } from './errors.ts';

/** Every command, in the order `greco --help` lists them. */
export const commands: readonly Command[] = [
  init,
  local,
  login,
  plan,
  apply,
  status,
  functions,
  deployments,
  invoke,
  logs,
  suspend,
  start,
  events,
];

const globalHelp = `Usage: greco <command> [options]

greco manages a fleet of AWS Lambda functions described in greco.yaml: the local cloud or a
deployed greco (docs/cli.md).

Commands:
${commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

Global options (any command):
  --json            output for scripts (JSON)
  --verbose         print the problem+json detail of errors
  --work-dir DIR    where local.json, credentials.json and drafts.json are (default: the nearest
                    .greco, else the user-level state folder: $GRECO_STATE_DIR, else
                    $XDG_STATE_HOME/greco, else ~/.local/state/greco)
  -h, --help        help (greco <command> --help for a command's)

Start here:  greco local   (or npm start: logs you in as workspace demo and applies the example)
             then, in another terminal:  greco invoke greeter --payload '{"name":"Ada"}'
             greco logs greeter   (its output, from CloudWatch Logs)
Your own project:  greco init my-fleet && cd my-fleet && greco apply -f greco.yaml
`;

/** What {@link runCli} runs with; everything defaults to the process's own. */
export interface RunCliOptions {
  readonly io?: Io;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Interval between polls (a deployment; `logs --follow` locally), in milliseconds. @default 500 (logs: 1000 locally, 5000 on AWS) */
  readonly pollIntervalMs?: number;
}

/**
 * Runs one greco command line in-process and resolves to its exit code: 0 success, 1 failure,
 * 2 usage error. Never throws: failures are written to `io.err` as one line.
 *
 * @param argv - the arguments after `greco`, e.g. `['plan', '-f', 'greco.yaml']`
 * @example
 * const code = await runCli(['functions', '--json'], { io: { out: (t) => (text += t), err: () => {} } });
 */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const io: Io = options.io ?? {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    ...(process.stdin.isTTY && process.stdout.isTTY ? { confirm: confirmOnTerminal } : {}),
  };
  let json = false;
  let verbose = false;
  let help = false;
  let workDirOption: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--json') json = true;
    else if (arg === '--verbose') verbose = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--work-dir') workDirOption = argv[++i];
    else if (arg.startsWith('--work-dir=')) workDirOption = arg.slice('--work-dir='.length);
    else rest.push(arg);
  }
  const [name, ...args] = rest;
  const command = commands.find((c) => c.name === name);
  if (name === undefined || (command === undefined && help)) {
    io.out(globalHelp);
    return help ? 0 : 2;
  }
  if (command === undefined) {
    io.err(
      `greco: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')}; greco --help)\n`,
    );
    return 2;
  }
  if (help) {
    io.out(command.usage);
    return 0;
  }
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const ctx: CommandContext = {
    io,
    json,
    verbose,
    cwd,
    env,
    ...resolveWorkFolders(command === local ? undefined : workDirOption, cwd, env),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
  };
  try {
    return await command.run(
      command === local && workDirOption !== undefined ? [...args, '--work-dir', workDirOption] : args,
      ctx,
    );
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`greco: ${error.message}\n`);
      if (verbose && error.problem !== undefined) io.err(`${JSON.stringify(error.problem, null, 2)}\n`);
      else if (verbose && error.cause !== undefined)
        io.err(`${String((error.cause as Error).stack ?? error.cause)}\n`);
      return error.exitCode;
    }
    io.err(
      `greco: ${name} failed unexpectedly: ${(error as Error).message ?? String(error)} (--verbose shows the stack)\n`,
    );
    if (verbose) io.err(`${(error as Error).stack ?? ''}\n`);
    return 1;
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    const self = fileURLToPath(import.meta.url);
    return realpathSync(entry) === realpathSync(self);
  } catch {
    return false;
  }
}

if (isMain()) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.exitCode = await runCli(process.argv.slice(2), { signal: controller.signal });
}

/** Asks `question [y/N]` on the terminal; only `y` or `yes` (any case) consents. */
async function confirmOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
