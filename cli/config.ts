/**
 * `greco.yaml`: a workspace's model kept as a file. Parsed with `yaml`, checked with zod; every
 * error names the file and, where the YAML has a position for it, the line.
 *
 * ```yaml
 * workspace: demo            # optional: must match the token's workspace
 * functions:
 *   orders-api:
 *     code: functions/orders-api   # a folder, relative to this file
 *     runtime: nodejs24.x
 *     handler: index.handler
 *     memoryMiB: 256               # optional, Lambda's default 128
 *     timeoutSeconds: 10           # optional, Lambda's default 3
 *     environment: { GREETING: Hello }
 *     reservedConcurrency: 5
 *     architecture: arm64          # x86_64 (default) or arm64
 *     tags: { team: shop }
 * ```
 *
 * Only shapes are checked here (types, names); Lambda's bounds (memory 128–10240 MiB, timeout
 * 1–900 s, 4 KB of environment...) are the API's to judge, so that the answer is the same
 * whatever client sends the model.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { lambdaFunctionNameMaxLength, modelFunctionNamePattern } from '../domain/names.ts';
import { GrecoFileError } from './errors.ts';

/** One function of greco.yaml, with its code folder resolved to an absolute path. */
export interface FunctionFile {
  /** The function's name in the model (its key under `functions`). */
  readonly name: string;
  /** Absolute path of the code folder. */
  readonly codeDir: string;
  /** Lambda runtime id, e.g. `nodejs24.x`. */
  readonly runtime: string;
  /** Lambda handler, `<module>.<export>`, e.g. `index.handler`. */
  readonly handler: string;
  /** Memory, in MiB. @default - the API's default (128) */
  readonly memoryMiB?: number;
  /** Timeout, in seconds. @default - the API's default (3) */
  readonly timeoutSeconds?: number;
  readonly environment?: Readonly<Record<string, string>>;
  /** Reserved concurrent executions. @default - unreserved */
  readonly reservedConcurrency?: number;
  readonly architecture?: 'x86_64' | 'arm64';
  readonly tags?: Readonly<Record<string, string>>;
}

/** A parsed, validated greco.yaml. */
export interface GrecoFile {
  /** Absolute path of the file. */
  readonly path: string;
  /** The workspace it is meant for, when it says so. */
  readonly workspace?: string;
  /** The functions, sorted by name. */
  readonly functions: readonly FunctionFile[];
}

const stringMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

const functionSchema = z.strictObject({
  code: z.string().min(1, 'code must name a folder'),
  runtime: z.string().min(1),
  handler: z.string().min(1),
  memoryMiB: z.int().positive().optional(),
  timeoutSeconds: z.int().positive().optional(),
  environment: stringMap.optional(),
  reservedConcurrency: z.int().nonnegative().optional(),
  architecture: z.enum(['x86_64', 'arm64']).optional(),
  tags: stringMap.optional(),
});

const fileSchema = z.strictObject({
  workspace: z.string().min(1).optional(),
  functions: z.record(
    z
      .string()
      .regex(
        modelFunctionNamePattern,
        `a function name holds letters, digits, - and _ (at most ${lambdaFunctionNameMaxLength})`,
      ),
    functionSchema,
  ),
});

/**
 * Parses and validates greco.yaml text. Code folders are resolved against `baseDir`; their
 * existence is checked by {@link loadGrecoFile}, not here.
 *
 * @param text - the YAML text
 * @param path - the file's path, for messages and to resolve code folders
 * @throws GrecoFileError `<path>:<line>: <what is wrong>`, e.g.
 *   `greco.yaml:7: functions.api.memoryMiB: expected an integer, got "lots"`
 * @example
 * const file = parseGrecoFile(await readFile('greco.yaml', 'utf8'), 'greco.yaml');
 */
export function parseGrecoFile(text: string, path: string, cwd: string = process.cwd()): GrecoFile {
  const absolute = resolve(cwd, path);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0]?.line;
    const message = first.message.split('\n')[0] ?? first.message;
    throw new GrecoFileError(`${path}${line === undefined ? '' : `:${line}`}: ${message}`, { cause: first });
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) {
    throw new GrecoFileError(`${path}: the file is empty; it needs a functions: map`);
  }
  const result = fileSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0];
    const issuePath = issue?.path ?? [];
    const line = lineOf(doc, lineCounter, issuePath, issue?.code === 'invalid_key');
    const where = issuePath.length === 0 ? '' : `${issuePath.map(String).join('.')}: `;
    throw new GrecoFileError(
      `${path}${line === undefined ? '' : `:${line}`}: ${where}${describeIssue(issue)}`,
      { cause: result.error },
    );
  }
  const baseDir = dirname(absolute);
  const functions = Object.entries(result.data.functions)
    .map(([name, { code, ...spec }]): FunctionFile => ({ name, ...spec, codeDir: resolve(baseDir, code) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    path: absolute,
    ...(result.data.workspace === undefined ? {} : { workspace: result.data.workspace }),
    functions,
  };
}

/**
 * Reads, parses and validates a greco.yaml file, and checks that every code folder exists.
 *
 * @param path - the file as the user gave it (messages show it as given)
 * @param cwd - the folder `path` is relative to. @default process.cwd()
 * @throws GrecoFileError when the file cannot be read, is malformed or invalid, or names a code
 *   folder that does not exist (with the line of its `code:`)
 */
export async function loadGrecoFile(path: string, cwd: string = process.cwd()): Promise<GrecoFile> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GrecoFileError(
      code === 'ENOENT'
        ? `${path}: no such file (give the model file with -f, e.g. greco plan -f examples/fleet/greco.yaml)`
        : `${path}: cannot read the file (${code ?? String(error)})`,
      { cause: error },
    );
  }
  const file = parseGrecoFile(text, path, cwd);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  for (const fn of file.functions) {
    const info = await stat(fn.codeDir).catch(() => undefined);
    if (info?.isDirectory() !== true) {
      const line = lineOf(doc, lineCounter, ['functions', fn.name, 'code']);
      throw new GrecoFileError(
        `${path}${line === undefined ? '' : `:${line}`}: functions.${fn.name}.code: ${fn.codeDir} ${info === undefined ? 'does not exist' : 'is not a folder'}; create it or fix the path (relative to ${dirname(file.path)})`,
      );
    }
  }
  return file;
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'invalid';
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message;
  if (issue.code === 'unrecognized_keys')
    return `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `is required (${issue.expected})`;
  if (issue.code === 'invalid_type') {
    const expected: Record<string, string> = {
      int: 'an integer',
      number: 'a number',
      string: 'a string',
      object: 'a map',
      record: 'a map',
    };
    return `expected ${expected[issue.expected] ?? issue.expected}, got ${JSON.stringify(issue.input) ?? typeof issue.input}`;
  }
  return issue.message;
}

/** The 1-based line of the deepest node of `path` the document has (the key's line for a missing field). */
function lineOf(
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  atKey = false,
): number | undefined {
  let offset: number | undefined = doc.contents?.range?.[0];
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => {
      const key = item.key as { value?: unknown } | null;
      return key !== null && String(key.value) === String(segment);
    });
    if (pair === undefined) break;
    const key = pair.key as { range?: [number, number, number] } | null;
    const value = pair.value as { range?: [number, number, number] } | null;
    offset = (atKey ? key?.range?.[0] : undefined) ?? value?.range?.[0] ?? key?.range?.[0] ?? offset;
    node = pair.value;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}
