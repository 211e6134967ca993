/**
 * What every command module exports and receives. Commands are plain modules: they take their
 * output sinks, folders and clock from a {@link CommandContext}, so tests run them in-process.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { WorkFolders } from './context.ts';
import { UsageError } from './errors.ts';

/** Where a command writes. */
export interface Io {
  /** Standard output: results (text, or JSON with `--json`). */
  out(text: string): void;
  /** Standard error: progress and errors. */
  err(text: string): void;
  /**
   * Asks the user a yes/no question and resolves to the answer; present only when a person can
   * answer (stdin and stdout are terminals). Commands that need consent without it require `--yes`.
   */
  confirm?(question: string): Promise<boolean>;
}

/** What a command runs with: its output, options, and folders (`workDir`, where a local cloud is looked for). */
export interface CommandContext extends WorkFolders {
  readonly io: Io;
  /** `--json`: print one JSON document (or one per line for streams) instead of text. */
  readonly json: boolean;
  /** `--verbose`: print the problem+json of errors. */
  readonly verbose: boolean;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Ends long-running commands (`events --follow`, `local`, `apply`'s wait). */
  readonly signal?: AbortSignal;
  /** Interval between polls (a deployment; `logs --follow` locally), in milliseconds. @default 500 (logs: 1000 locally, 5000 on AWS) */
  readonly pollIntervalMs?: number;
}

/** A command: its name, one-line summary, `--help` text, and how to run it. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** `node:util` parseArgs, strict, with usage errors as {@link UsageError}. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(
      `${command}: ${(error as Error).message.split('\n')[0]} (see greco ${command} --help)`,
      {
        cause: error,
      },
    );
  }
}

/** Writes a value as pretty JSON on stdout. */
export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.io.out(`${JSON.stringify(value, null, 2)}\n`);
}
