/**
 * The Greek side of greco: function specs as clients send them and as the model stores them,
 * and their validation against Lambda's own bounds.
 *
 * Every limit lives in {@link Limits} with the AWS quota or API constraint it comes from.
 * Validation reports every bad field at once, with paths such as `functions[3].memoryMiB`.
 */
import * as z from 'zod/mini';
import { type FieldError, ValidationError } from '../domain/errors.ts';
import { maxReservedConcurrencyFor, minUnreservedConcurrency } from '../domain/lambda-quotas.ts';
import {
  functionNameCharactersPattern,
  lambdaFunctionNameMaxLength,
  managedFunctionName,
  maxFunctionNameLength,
  validateWorkspaceId,
  workspaceIdMaxLength,
} from '../domain/names.ts';
import { isObject } from '../domain/objects.ts';
import { GrecoTags, tagCharactersMessage, tagCharactersPattern } from '../domain/tags.ts';
import { hasControlCharacter } from '../domain/text.ts';
import { environmentKeyProblem } from './environment.ts';
import { newestSupportedRuntime, runtimeInfo, runtimeStatus, supportedRuntimeIds } from './runtimes.ts';
import { InflateBudget, InvalidZipError, inspectZip, unzippedCodeMaxBytes } from './zip.ts';

/** Instruction set of a function (CreateFunction `Architectures`, one value). */
export type Architecture = 'x86_64' | 'arm64';

/** The architectures Lambda offers. */
export const Architectures: readonly Architecture[] = ['x86_64', 'arm64'];

/** Code as stored: a zip in the artifacts bucket, by SHA-256. */
export interface CodeRef {
  /** SHA-256 of the zip, 64 lowercase hex characters. */
  readonly sha256: string;
  /** Size of the zip, in bytes. */
  readonly sizeBytes: number;
  /** Key of the zip in the artifacts bucket: `code/<sha256>.zip` (see {@link artifactKey}). */
  readonly s3Key: string;
}

/** One function of a model, as stored and deployed. */
export interface FunctionSpec {
  /** Name in the model; the Lambda function is named `<prefix>-<workspace>-<name>`. */
  readonly name: string;
  /** Lambda runtime identifier, e.g. `nodejs24.x` (see `core/runtimes.ts`). */
  readonly runtime: string;
  /** Lambda handler, e.g. `index.handler`. */
  readonly handler: string;
  readonly code: CodeRef;
  /** Memory, in MiB: 128..10240. */
  readonly memoryMiB: number;
  /** Timeout, in seconds: 1..900. */
  readonly timeoutSeconds: number;
  /** Size of `/tmp`, in MiB: 512..10240. */
  readonly ephemeralStorageMiB: number;
  /** Environment variables; at most 4 KB of keys and values together. */
  readonly environment: Readonly<Record<string, string>>;
  /** Reserved concurrent executions; absent means unreserved. */
  readonly reservedConcurrency?: number;
  readonly architecture: Architecture;
  /** The user's tags (greco adds its own `greco:` tags when deploying). */
  readonly tags: Readonly<Record<string, string>>;
}

/** Code as a client sends it: a base64 zip inline, or the SHA-256 of a zip already uploaded (with, as GET answers it, the read-only `sizeBytes` and `s3Key`). */
export type CodeInput =
  | { readonly zipBase64: string }
  | { readonly sha256: string; readonly sizeBytes?: number; readonly s3Key?: string };

/** A function as a client sends it: like {@link FunctionSpec}, but code is a {@link CodeInput} and defaults apply. */
export interface FunctionSpecInput {
  readonly name: string;
  readonly runtime: string;
  readonly handler: string;
  readonly code: CodeInput;
  /** @default 128 */
  readonly memoryMiB?: number;
  /** @default 3 */
  readonly timeoutSeconds?: number;
  /** @default 512 */
  readonly ephemeralStorageMiB?: number;
  /** @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default - unreserved */
  readonly reservedConcurrency?: number;
  /** @default 'x86_64' */
  readonly architecture?: Architecture;
  /** @default {} */
  readonly tags?: Readonly<Record<string, string>>;
}

/** A {@link FunctionSpecInput} after validation: every default is filled in. */
export interface ResolvedFunctionSpecInput extends FunctionSpecInput {
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
  readonly ephemeralStorageMiB: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly architecture: Architecture;
  readonly tags: Readonly<Record<string, string>>;
}

/** What validation needs to know besides the input. */
export interface SpecContext {
  /** Prefix of managed function names (`GRECO_MANAGED_PREFIX`), e.g. `greco`. */
  readonly managedPrefix: string;
  /** The caller's workspace id (from its token). */
  readonly workspace: string;
  /** Moment at which runtime deprecation is judged. @default - the current time */
  readonly now?: Date;
  /**
   * Largest `reservedConcurrency` accepted: the account's concurrent executions quota minus the
   * 100 Lambda keeps unreserved (domain/lambda-quotas.ts).
   * @default - 900, for Lambda's default quota of 1,000 (`maxReservedConcurrencyFor()`)
   */
  readonly maxReservedConcurrency?: number;
}

/** Every bound greco enforces on function specs, with its source. */
export const Limits = {
  /** Lambda function name length: 64 (domain/names.ts `lambdaFunctionNameMaxLength`). */
  functionNameMaxLength: lambdaFunctionNameMaxLength,
  /** Workspace id length: 32 (domain/names.ts `workspaceIdMaxLength`). */
  workspaceIdMaxLength,
  /** CreateFunction `Handler`: length 0..128, pattern `[^\s]+`. */
  handlerMaxLength: 128,
  /** CreateFunction `MemorySize`: 128..10240 MB (Lambda quotas, "Function memory allocation"). */
  memoryMiBMin: 128,
  /** CreateFunction `MemorySize` maximum: 10,240 MB. */
  memoryMiBMax: 10_240,
  /** Lambda's default `MemorySize`: 128 MB. */
  memoryMiBDefault: 128,
  /** CreateFunction `Timeout` minimum: 1 second. */
  timeoutSecondsMin: 1,
  /** CreateFunction `Timeout` maximum: 900 seconds (Lambda quotas, "Function timeout: 15 minutes"). */
  timeoutSecondsMax: 900,
  /** Lambda's default `Timeout`: 3 seconds. */
  timeoutSecondsDefault: 3,
  /** CreateFunction `EphemeralStorage.Size`: 512..10240 MB (Lambda quotas, "Function /tmp storage"). */
  ephemeralStorageMiBMin: 512,
  /** CreateFunction `EphemeralStorage.Size` maximum: 10,240 MB. */
  ephemeralStorageMiBMax: 10_240,
  /** Lambda's default `EphemeralStorage.Size`: 512 MB. */
  ephemeralStorageMiBDefault: 512,
  /** Lambda quotas, "Function environment variables: 4 KB, for all environment variables associated with the function, in aggregate" (UTF-8 bytes of keys and values). */
  environmentMaxBytes: 4096,
  /** Lambda tag limit, 50 tags per resource, minus the tags greco writes itself (`GrecoTags`). */
  maxUserTags: 50 - Object.keys(GrecoTags).length,
  /** Tag key length: 1..128 characters (Lambda TagResource, AWS tagging rules). */
  tagKeyMaxLength: 128,
  /** Tag value length: 0..256 characters (Lambda TagResource, AWS tagging rules). */
  tagValueMaxLength: 256,
  /**
   * Largest inline zip, in bytes after base64 decoding: 5 MiB, greco's design limit (API Gateway
   * accepts 10 MB payloads); larger code goes through the artifacts bucket. Note that base64 adds
   * a third: through API Gateway to a Lambda handler the whole request must also fit Lambda's
   * 6 MB synchronous invocation payload, which caps inline zips at about 4.4 MiB in practice.
   */
  inlineZipMaxBytes: 5 * 1024 * 1024,
  /** Lambda quotas, "Deployment package (.zip file archive) size: 250 MB (unzipped)" = 262,144,000 bytes. */
  unzippedCodeMaxBytes,
  /** Functions per workspace model: 5,000, greco's design limit (a change set must fit one Step Functions execution). */
  maxFunctionsPerWorkspace: 5000,
} as const;

export { ReservedEnvironmentKeys, RuntimeControlEnvironmentKeys } from './environment.ts';

const handlerPattern = /^[^\s]+$/;
const sha256Pattern = /^[0-9a-f]{64}$/;
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;
const reservedTagPrefixes = ['aws:', 'greco:'];

/** Key of a code zip in the artifacts bucket: `code/<sha256>.zip`. */
export function artifactKey(sha256: string): string {
  return `code/${sha256}.zip`;
}

/** The {@link CodeRef} of a zip stored by SHA-256. */
export function codeRef(sha256: string, sizeBytes: number): CodeRef {
  return { sha256, sizeBytes, s3Key: artifactKey(sha256) };
}

/** Builds the stored spec from a validated input and the code it resolved to. */
export function toFunctionSpec(input: ResolvedFunctionSpecInput, code: CodeRef): FunctionSpec {
  return {
    name: input.name,
    runtime: input.runtime,
    handler: input.handler,
    code,
    memoryMiB: input.memoryMiB,
    timeoutSeconds: input.timeoutSeconds,
    ephemeralStorageMiB: input.ephemeralStorageMiB,
    environment: input.environment,
    ...(input.reservedConcurrency === undefined ? {} : { reservedConcurrency: input.reservedConcurrency }),
    architecture: input.architecture,
    tags: input.tags,
  };
}

/**
 * Decodes a `code.zipBase64` that {@link parseFunctionSpecInput} accepted.
 * @throws ValidationError when the text is not canonical base64
 */
export function decodeZipBase64(zipBase64: string): Uint8Array {
  if (!isBase64(zipBase64)) {
    throw new ValidationError([{ field: 'code.zipBase64', message: 'must be valid base64' }]);
  }
  return new Uint8Array(Buffer.from(zipBase64, 'base64'));
}

/**
 * Validates one function as sent in a request and applies defaults.
 *
 * @param input - the parsed JSON of one function
 * @param ctx - the caller's workspace, the managed prefix, and the moment for runtime checks
 * @param path - prefix of field names in errors, e.g. `functions[2]`
 * @returns the function with every default filled in
 * @throws ValidationError listing every bad field (unknown fields included)
 * @example
 * const fn = parseFunctionSpecInput(body, { managedPrefix: 'greco', workspace: 'acme' });
 */
export function parseFunctionSpecInput(
  input: unknown,
  ctx: SpecContext,
  path?: string,
): ResolvedFunctionSpecInput {
  const schema = functionSpecInputSchema(checkedContext(ctx));
  const result = z.safeParse(schema, input, { reportInput: true });
  const errors = [
    ...(result.success ? [] : toFieldErrors(result.error.issues, prefixOf(path))),
    ...protoKeyErrors(input, prefixOf(path)),
  ];
  if (!result.success || errors.length > 0) throw new ValidationError(errors);
  return result.data;
}

/**
 * Validates a whole model body `{ "functions": [...] }`: each function, unique names, and at
 * most {@link Limits.maxFunctionsPerWorkspace} functions.
 *
 * @returns the functions, defaults applied, in request order
 * @throws ValidationError listing every bad field, e.g. `functions[3].memoryMiB`
 */
export function parseModelInput(input: unknown, ctx: SpecContext): ResolvedFunctionSpecInput[] {
  const functionSchema = functionSpecInputSchema(checkedContext(ctx));
  const modelSchema = z.strictObject(
    {
      functions: z.array(z.unknown(), {
        error: (issue) => `must be an array of functions, got ${describe(issue.input)}`,
      }),
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? `must be an object with "functions", got ${describe(issue.input)}`
          : undefined,
    },
  );
  const model = z.safeParse(modelSchema, input, { reportInput: true });
  if (!model.success) throw new ValidationError(toFieldErrors(model.error.issues, ''));

  const errors: FieldError[] = [];
  const functions = model.data.functions;
  if (functions.length > Limits.maxFunctionsPerWorkspace) {
    errors.push({
      field: 'functions',
      message: `must hold at most ${Limits.maxFunctionsPerWorkspace} functions per workspace, got ${functions.length}`,
    });
  }
  const parsed: ResolvedFunctionSpecInput[] = [];
  const firstIndexByName = new Map<string, number>();
  functions.forEach((item, index) => {
    const prefix = `functions[${index}]`;
    const result = z.safeParse(functionSchema, item, { reportInput: true });
    if (result.success) parsed.push(result.data);
    else errors.push(...toFieldErrors(result.error.issues, `${prefix}.`));
    errors.push(...protoKeyErrors(item, `${prefix}.`));
    const name = isObject(item) ? item.name : undefined;
    if (typeof name !== 'string') return;
    const first = firstIndexByName.get(name);
    if (first === undefined) firstIndexByName.set(name, index);
    else
      errors.push({
        field: `${prefix}.name`,
        message: `duplicate name ${JSON.stringify(name)}, also used by functions[${first}]`,
      });
  });
  if (errors.length > 0) throw new ValidationError(errors);
  return parsed;
}

/**
 * Checks a stored spec (a {@link FunctionSpec}, e.g. of a deployment's change set) against the
 * same schema as {@link parseFunctionSpecInput}, so that the conductors' vetting re-checks the
 * bounds defined here rather than a copy of them (runtimes get deprecated, bounds change, after a
 * spec was accepted). The name is held to Lambda's {@link Limits.functionNameMaxLength}: the
 * caller checks the whole managed name.
 *
 * @returns every bad field, by path (`memoryMiB`, `environment`, …); empty when the spec is valid
 * @example
 * storedFunctionSpecProblems({ ...spec, memoryMiB: 64 }); // [{ field: 'memoryMiB', message: 'must be an integer between …' }]
 */
export function storedFunctionSpecProblems(spec: FunctionSpec, now: Date = new Date()): FieldError[] {
  const schema = functionSpecInputSchema({
    managedPrefix: '',
    workspace: '',
    now,
    maxNameLength: Limits.functionNameMaxLength,
  });
  const input = {
    name: spec.name,
    runtime: spec.runtime,
    handler: spec.handler,
    code: { sha256: spec.code.sha256 },
    memoryMiB: spec.memoryMiB,
    timeoutSeconds: spec.timeoutSeconds,
    ephemeralStorageMiB: spec.ephemeralStorageMiB,
    environment: spec.environment,
    ...(spec.reservedConcurrency === undefined ? {} : { reservedConcurrency: spec.reservedConcurrency }),
    architecture: spec.architecture,
    tags: spec.tags,
  };
  const result = z.safeParse(schema, input, { reportInput: true });
  return result.success ? [] : toFieldErrors(result.error.issues, '');
}

/**
 * The schema {@link parseFunctionSpecInput} validates a function with (`functionInput`), and a
 * model of them (`modelInput`), for core/http/openapi.ts to render as JSON Schema. Checks written
 * as code (name length per workspace, runtimes, zip inspection, key rules) do not show there.
 */
export function specInputSchemas() {
  const functionInput = functionSpecInputSchema(
    checkedContext({ managedPrefix: 'greco', workspace: 'documentation' }),
  );
  const modelInput = z.strictObject({
    functions: z.array(functionInput).check(z.maxLength(Limits.maxFunctionsPerWorkspace)),
  });
  return { functionInput, modelInput };
}

/**
 * Renders a field path: identifiers are joined with dots, indexes in brackets, and other keys
 * as JSON strings in brackets (`tags["cost:center"]`).
 */
export function fieldPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) path += path === '' ? key : `.${key}`;
      else path += `[${JSON.stringify(key)}]`;
    }
  }
  return path;
}

interface CheckedContext {
  readonly managedPrefix: string;
  readonly workspace: string;
  readonly now: Date;
  readonly maxNameLength: number;
  /** Absent for stored specs: no upper bound then (the conductor checks the account's capacity). */
  readonly maxReservedConcurrency?: number;
  /** The request's inline zips: their inflate budget, and each distinct zip's verdict. */
  readonly inlineZips?: InlineZipChecks;
}

/** One request's inline zips: inspected once each, and within one inflate budget together. */
interface InlineZipChecks {
  readonly budget: InflateBudget;
  readonly verdicts: Map<string, string | undefined>;
}

function checkedContext(ctx: SpecContext): CheckedContext {
  validateWorkspaceId(ctx.workspace);
  const maxNameLength = maxFunctionNameLength(ctx.managedPrefix, ctx.workspace);
  if (!functionNameCharactersPattern.test(ctx.managedPrefix) || maxNameLength < 1) {
    // A deployment misconfiguration, not the caller's fault: a plain Error answers 500.
    throw new Error(
      `managed prefix ${JSON.stringify(ctx.managedPrefix)} must be letters, digits, hyphens or underscores and leave room for a function name in workspace ${JSON.stringify(ctx.workspace)}`,
    );
  }
  const maxReservedConcurrency = ctx.maxReservedConcurrency ?? maxReservedConcurrencyFor();
  if (!Number.isSafeInteger(maxReservedConcurrency) || maxReservedConcurrency < 0) {
    throw new Error(`maxReservedConcurrency must be an integer of at least 0, got ${maxReservedConcurrency}`);
  }
  return {
    managedPrefix: ctx.managedPrefix,
    workspace: ctx.workspace,
    now: ctx.now ?? new Date(),
    maxNameLength,
    maxReservedConcurrency,
    inlineZips: { budget: new InflateBudget(), verdicts: new Map() },
  };
}

function functionSpecInputSchema(ctx: CheckedContext) {
  const name = z
    .string({ error: (issue) => `must be a string, got ${describe(issue.input)}` })
    .check((check) => {
      const value = check.value;
      if (value.length === 0 || !functionNameCharactersPattern.test(value)) {
        check.issues.push(
          custom(
            value,
            `must be letters, digits, hyphens or underscores (at least one), got ${JSON.stringify(value)}`,
          ),
        );
      } else if (value.length > ctx.maxNameLength) {
        check.issues.push(
          custom(
            value,
            `must be at most ${ctx.maxNameLength} characters in workspace ${JSON.stringify(ctx.workspace)}, got ${value.length}: the Lambda function name ${managedFunctionName(ctx.managedPrefix, ctx.workspace, '<name>')} is limited to ${Limits.functionNameMaxLength} characters`,
          ),
        );
      }
    });

  const runtime = z
    .string({ error: (issue) => `must be a string, got ${describe(issue.input)}` })
    .check((check) => {
      const message = runtimeProblem(check.value, ctx.now);
      if (message !== undefined) check.issues.push(custom(check.value, message));
    });

  const handler = z
    .string({ error: (issue) => `must be a string, got ${describe(issue.input)}` })
    .check((check) => {
      const value = check.value;
      if (value.length === 0 || value.length > Limits.handlerMaxLength) {
        check.issues.push(
          custom(value, `must be 1 to ${Limits.handlerMaxLength} characters, got ${value.length}`),
        );
      } else if (!handlerPattern.test(value)) {
        check.issues.push(custom(value, `must not contain whitespace, got ${JSON.stringify(value)}`));
      } else if (hasControlCharacter(value)) {
        check.issues.push(
          custom(value, `must not contain control characters (NUL included), got ${JSON.stringify(value)}`),
        );
      }
    });

  const codeObject = z
    .strictObject(
      {
        zipBase64: z.optional(
          z.string({ error: (issue) => `must be a string, got ${describe(issue.input)}` }).check((check) => {
            const message = inlineZipProblem(check.value, ctx.inlineZips);
            if (message !== undefined) check.issues.push(custom(check.value, message));
          }),
        ),
        sha256: z.optional(
          z.string({ error: (issue) => `must be a string, got ${describe(issue.input)}` }).check((check) => {
            if (!sha256Pattern.test(check.value)) {
              check.issues.push(
                custom(
                  check.value,
                  `must be 64 lowercase hex characters, got ${JSON.stringify(check.value)}`,
                ),
              );
            }
          }),
        ),
        sizeBytes: z.optional(
          z
            .int({ error: (issue) => zipSizeMessage(issue.input) })
            .check(z.gte(0, { error: (issue) => zipSizeMessage(issue.input) })),
        ),
        s3Key: z.optional(
          z.string({ error: (issue) => `is read-only: must be a string, got ${describe(issue.input)}` }),
        ),
      },
      {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? `must be an object with zipBase64 or sha256, got ${describe(issue.input)}`
            : undefined,
      },
    )
    .check((check) => {
      const hasZip = check.value.zipBase64 !== undefined;
      const hasSha = check.value.sha256 !== undefined;
      if (hasZip === hasSha) {
        check.issues.push(
          custom(
            check.value,
            `must have exactly one of zipBase64 or sha256, got ${hasZip ? 'both' : 'neither'}`,
          ),
        );
      }
      readOnlyCodeIssues(check.value, check.issues);
    });
  const code = z.pipe(
    codeObject,
    z.transform(
      (value: z.output<typeof codeObject>): CodeInput =>
        value.zipBase64 !== undefined
          ? { zipBase64: value.zipBase64 }
          : {
              sha256: value.sha256 as string,
              ...(value.sizeBytes === undefined ? {} : { sizeBytes: value.sizeBytes }),
            },
    ),
  );

  const environment = z
    .record(
      z.string().check((check) => {
        const message = environmentKeyProblem(check.value);
        if (message !== undefined) check.issues.push(custom(check.value, message));
      }),
      z.string({ error: (issue) => `must be a string, got ${describe(issue.input)}` }).check((check) => {
        if (check.value.includes('\u0000')) {
          check.issues.push(
            custom(check.value, 'must not contain NUL (U+0000): no process environment can hold it'),
          );
        }
      }),
      {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? `must be an object of strings, got ${describe(issue.input)}`
            : undefined,
      },
    )
    .check((check) => {
      let bytes = 0;
      for (const [key, value] of Object.entries(check.value)) bytes += utf8Length(key) + utf8Length(value);
      if (bytes > Limits.environmentMaxBytes) {
        check.issues.push(
          custom(
            check.value,
            `keys and values total ${bytes} bytes; Lambda allows at most ${Limits.environmentMaxBytes} bytes (4 KB)`,
          ),
        );
      }
    });

  const tags = z
    .record(
      z.string().check((check) => {
        const message = tagKeyProblem(check.value);
        if (message !== undefined) check.issues.push(custom(check.value, message));
      }),
      z.string({ error: (issue) => `must be a string, got ${describe(issue.input)}` }).check((check) => {
        if (check.value.length > Limits.tagValueMaxLength) {
          check.issues.push(
            custom(
              check.value,
              `must be at most ${Limits.tagValueMaxLength} characters, got ${check.value.length}`,
            ),
          );
        } else if (hasControlCharacter(check.value)) {
          check.issues.push(custom(check.value, 'must not contain control characters (NUL included)'));
        } else if (!tagCharactersPattern.test(check.value)) {
          check.issues.push(
            custom(check.value, `${tagCharactersMessage}, got ${JSON.stringify(check.value)}`),
          );
        }
      }),
      {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? `must be an object of strings, got ${describe(issue.input)}`
            : undefined,
      },
    )
    .check((check) => {
      const count = Object.keys(check.value).length;
      if (count > Limits.maxUserTags) {
        check.issues.push(
          custom(
            check.value,
            `must hold at most ${Limits.maxUserTags} tags, got ${count} (Lambda allows 50 per function; greco uses ${Object.keys(GrecoTags).length})`,
          ),
        );
      }
    });

  return z.strictObject(
    {
      name,
      runtime,
      handler,
      code,
      memoryMiB: z._default(
        integerIn(Limits.memoryMiBMin, Limits.memoryMiBMax, ' MiB'),
        Limits.memoryMiBDefault,
      ),
      timeoutSeconds: z._default(
        integerIn(Limits.timeoutSecondsMin, Limits.timeoutSecondsMax, ' seconds'),
        Limits.timeoutSecondsDefault,
      ),
      ephemeralStorageMiB: z._default(
        integerIn(Limits.ephemeralStorageMiBMin, Limits.ephemeralStorageMiBMax, ' MiB'),
        Limits.ephemeralStorageMiBDefault,
      ),
      environment: z._default(environment, {}),
      reservedConcurrency: z.optional(
        z
          .int({
            error: (issue) =>
              `must be an integer of at least 0 (omit it for unreserved concurrency), got ${describe(issue.input)}`,
          })
          .check(z.gte(0))
          .check((check) => {
            const max = ctx.maxReservedConcurrency;
            if (max !== undefined && check.value > max) {
              check.issues.push(
                custom(
                  check.value,
                  `must be at most ${max}, the account's concurrency quota of ${max + minUnreservedConcurrency} minus the ${minUnreservedConcurrency} Lambda keeps unreserved (context greco:accountConcurrency for a raised quota), got ${describe(check.value)}`,
                ),
              );
            }
          }),
      ),
      architecture: z._default(
        z.enum(['x86_64', 'arm64'], {
          error: (issue) => `must be "x86_64" or "arm64", got ${describe(issue.input)}`,
        }),
        'x86_64',
      ),
      tags: z._default(tags, {}),
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type' ? `must be an object, got ${describe(issue.input)}` : undefined,
    },
  );
}

/** `sizeBytes`, `s3Key` as GET answers them: beside `sha256` only, the key that sha256's (the size: core/artifacts.ts). */
function readOnlyCodeIssues(
  code: Record<string, string | number | undefined>,
  issues: z.core.$ZodRawIssue[],
): void {
  const key = typeof code.sha256 === 'string' ? artifactKey(code.sha256) : undefined;
  for (const field of ['sizeBytes', 's3Key'] as const) {
    const value = code[field];
    const message =
      value === undefined
        ? undefined
        : code.zipBase64 !== undefined || key === undefined
          ? 'is read-only: send it only beside sha256, as GET answers it, or leave it out'
          : field === 's3Key' && value !== key
            ? `is read-only: the zip of this sha256 is ${JSON.stringify(key)}, got ${describe(value)}`
            : undefined;
    if (message !== undefined) issues.push({ ...custom(value, message), path: [field] });
  }
}

const zipSizeMessage = (input: unknown) =>
  `is read-only: must be the zip's size in bytes, got ${describe(input)}`;

/** An integer schema whose every failure says the whole range, with its unit. */
function integerIn(min: number, max: number, unit: string) {
  return z
    .int({
      error: (issue) => `must be an integer between ${min} and ${max}${unit}, got ${describe(issue.input)}`,
    })
    .check(z.gte(min), z.lte(max));
}

function runtimeProblem(id: string, now: Date): string | undefined {
  const status = runtimeStatus(id, now);
  if (status.status === 'supported') return undefined;
  if (status.status === 'deprecated') {
    const family = runtimeInfo(id)?.family;
    const replacement = family === undefined ? undefined : newestSupportedRuntime(family, now);
    return `${JSON.stringify(id)} was deprecated by Lambda on ${status.deprecatedOn}${replacement === undefined ? '' : `; use ${replacement} or another supported runtime`}`;
  }
  return `unknown runtime ${JSON.stringify(id)}; supported runtimes: ${supportedRuntimeIds(now).join(', ')}`;
}

/**
 * What is wrong with an inline zip, if anything. Within one request, each distinct zip is
 * inspected once, and all of them inflate within one {@link InflateBudget} (Lambda's 250 MB
 * unzipped quota): a model of many functions cannot multiply the work.
 */
function inlineZipProblem(zipBase64: string, checks: InlineZipChecks | undefined): string | undefined {
  if (checks?.verdicts.has(zipBase64) === true) return checks.verdicts.get(zipBase64);
  if (!isBase64(zipBase64)) return 'must be valid base64 (A-Z, a-z, 0-9, +, /, with = padding)';
  const padding = zipBase64.endsWith('==') ? 2 : zipBase64.endsWith('=') ? 1 : 0;
  const decodedBytes = (zipBase64.length / 4) * 3 - padding;
  if (decodedBytes > Limits.inlineZipMaxBytes) {
    return `decodes to ${decodedBytes} bytes; inline zips are limited to ${Limits.inlineZipMaxBytes} bytes (5 MiB): upload larger code to the artifacts bucket and send its sha256`;
  }
  let verdict: string | undefined;
  try {
    inspectZip(new Uint8Array(Buffer.from(zipBase64, 'base64')), {
      ...(checks === undefined ? {} : { budget: checks.budget }),
    });
  } catch (error) {
    if (!(error instanceof InvalidZipError)) throw error;
    verdict = `is not a valid zip: ${error.message}`;
  }
  checks?.verdicts.set(zipBase64, verdict);
  return verdict;
}

function tagKeyProblem(key: string): string | undefined {
  if (key.length < 1 || key.length > Limits.tagKeyMaxLength) {
    return `must be 1 to ${Limits.tagKeyMaxLength} characters, got ${key.length}`;
  }
  const lower = key.toLowerCase();
  const reserved = reservedTagPrefixes.find((prefix) => lower.startsWith(prefix));
  if (reserved !== undefined) {
    return reserved === 'aws:'
      ? 'must not start with "aws:" (reserved by AWS)'
      : 'must not start with "greco:" (reserved for greco\'s own tags)';
  }
  if (hasControlCharacter(key)) return 'must not contain control characters (NUL included)';
  if (!tagCharactersPattern.test(key)) return tagCharactersMessage;
  return undefined;
}

/**
 * `JSON.parse` makes `"__proto__"` an own key, but zod's records drop it silently when copying;
 * report it instead of losing the entry.
 */
function protoKeyErrors(input: unknown, prefix: string): FieldError[] {
  if (!isObject(input)) return [];
  const errors: FieldError[] = [];
  for (const field of ['environment', 'tags']) {
    const record = input[field];
    if (isObject(record) && Object.hasOwn(record, '__proto__')) {
      errors.push({
        field: `${prefix}${fieldPath([field, '__proto__'])}`,
        message: 'key must not be "__proto__"',
      });
    }
  }
  return errors;
}

function isBase64(text: string): boolean {
  return text.length % 4 === 0 && base64Pattern.test(text);
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A short, human rendering of a value for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string')
    return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}…` : JSON.stringify(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function custom(input: unknown, message: string) {
  return { code: 'custom' as const, input, message, path: [] as PropertyKey[] };
}

function prefixOf(path: string | undefined): string {
  return path === undefined || path === '' ? '' : `${path}.`;
}

type Issue = z.core.$ZodIssue;

/** Turns zod issues into greco field errors, one per bad field and message, in input order. */
function toFieldErrors(issues: readonly Issue[], prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const add = (segments: readonly PropertyKey[], message: string): void => {
    const local = fieldPath(segments);
    const field = local === '' ? prefix.replace(/\.$/, '') || '(body)' : `${prefix}${local}`;
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    errors.push({ field, message });
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([...issue.path, key], 'is not a known field');
    } else if (issue.code === 'invalid_key') {
      for (const inner of issue.issues) add(issue.path, `key ${inner.message}`);
    } else if (issue.code === 'invalid_type' && issue.input === undefined && issue.path.length > 0) {
      add(issue.path, 'is required');
    } else {
      add(issue.path, issue.message);
    }
  }
  return errors;
}
