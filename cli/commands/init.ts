import { constants, existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';

/** The starter greco.yaml: one function, every optional field shown once. */
export const starterGrecoYaml = `# greco.yaml: the functions of your workspace. greco apply -f greco.yaml deploys them.
# Every field: docs/cli.md of the greco repository.
functions:
  hello:
    code: functions/hello        # a folder, relative to this file; with a package.json it is bundled
    runtime: nodejs24.x
    handler: index.handler       # <file>.<export>
    memoryMiB: 128
    timeoutSeconds: 3
    environment:
      GREETING: Hello
`;

/** The starter function: answers a greeting and logs the event (greco logs hello shows it). */
export const starterHandler = `/**
 * The starter function: { "name": "Ada" } -> { "message": "Hello, Ada!" }. GREETING comes from
 * greco.yaml. What it logs goes to CloudWatch Logs: greco logs hello.
 */
export async function handler(event) {
  console.log('event', JSON.stringify(event));
  const name = typeof event?.name === 'string' && event.name !== '' ? event.name : 'world';
  return { message: \`\${process.env.GREETING ?? 'Hello'}, \${name}!\` };
}
`;

/** What `greco init` writes, relative to the folder. */
const starterFiles: ReadonlyArray<readonly [string, string]> = [
  ['greco.yaml', starterGrecoYaml],
  [join('functions', 'hello', 'index.mjs'), starterHandler],
];

/** `greco init [DIR] [--force]`: a starter greco.yaml and one function in an empty folder. */
export const init: Command = {
  name: 'init',
  summary: 'write a starter greco.yaml and one function (functions/hello) into an empty folder',
  usage: `Usage: greco init [DIR] [--force]

Writes a starter greco.yaml and one function (functions/hello/index.mjs) into DIR (default: the
current folder; created when missing). Refuses a folder that is not empty unless --force, and
never overwrites a file: with --force, a greco.yaml or functions/hello/index.mjs already there is
an error and nothing is written. Then: greco apply -f greco.yaml, greco invoke hello, greco logs hello.

Options:
  --force   write into a folder that is not empty (still never over an existing file)
  --json    print {"dir", "files"} of what was written
`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(
      'init',
      args,
      { force: { type: 'boolean', default: false } },
      true,
    );
    if (positionals.length > 1) throw new UsageError('init: give at most one folder (see greco init --help)');
    const dir = resolve(ctx.cwd, positionals[0] ?? '.');
    await mkdir(dir, { recursive: true }).catch((error: unknown) => {
      throw new CliError(`cannot create ${dir}: ${(error as Error).message}`, { cause: error });
    });
    const present = await readdir(dir);
    if (present.length > 0 && !values.force) {
      throw new CliError(
        `${dir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}): greco init writes into an empty folder; give another folder, or --force to add the starter files (existing files are never overwritten)`,
      );
    }
    // Check every file first, so that an existing one stops the init before anything is written.
    const existing = starterFiles.filter(([path]) => existsSync(join(dir, path)));
    if (existing.length > 0) {
      throw new CliError(
        `${existing.map(([path]) => join(dir, path)).join(', ')} already exists: greco init never overwrites a file; nothing was written`,
      );
    }
    const written: string[] = [];
    for (const [path, content] of starterFiles) {
      const target = join(dir, path);
      await mkdir(dirname(target), { recursive: true });
      try {
        // O_EXCL: fails if the file appeared meanwhile, rather than overwrite it.
        await writeFile(target, content, { flag: constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY });
      } catch (error) {
        throw new CliError(`cannot write ${target}: ${(error as Error).message}`, { cause: error });
      }
      written.push(path);
    }
    if (ctx.json) {
      printJson(ctx, { dir, files: written });
      return 0;
    }
    const from = relative(ctx.cwd, dir);
    const inDir = from === '' ? '' : `cd ${from} && `;
    ctx.io.out(
      [
        `Wrote ${written.join(' and ')} in ${dir}.`,
        '',
        'Next (with a local cloud running: greco local, or npm start in the greco repository):',
        `  ${inDir}greco apply -f greco.yaml`,
        `  greco invoke hello --payload '{"name":"Ada"}'`,
        '  greco logs hello',
        '',
      ].join('\n'),
    );
    return 0;
  },
};
