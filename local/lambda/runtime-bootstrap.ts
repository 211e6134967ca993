/**
 * The Node.js runtime of the local Lambda emulator: the entry point of every function process.
 *
 * Like Lambda's Node.js runtime it reads `_HANDLER` and `LAMBDA_TASK_ROOT`, loads the handler
 * module (`.js`, `.mjs` or `.cjs`; ESM or CommonJS), formats `console` output as
 * `<timestamp>\t<requestId>\t<LEVEL>\t<message>`, runs async and (before nodejs24.x) callback-style
 * handlers with Lambda's context object, and reports results and errors as
 * `{errorType, errorMessage, trace}`. The AWS SDK for JavaScript v3 (`@aws-sdk/*`) is provided by
 * the runtime, as on Lambda: a module resolution hook resolves it from greco's own node_modules when
 * the function did not bundle it.
 *
 * It talks to the emulator over the IPC channel (see runtime-protocol.ts) and exits when the
 * emulator goes away.
 */
import { existsSync } from 'node:fs';
import { createRequire, registerHooks } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import type {
  FunctionErrorPayload,
  InvokeMessage,
  ResultMessage,
  RuntimeMessage,
} from './runtime-protocol.ts';

/** Packages the Lambda Node.js runtimes provide without bundling. */
const providedPackagePrefix = '@aws-sdk/';

const requireProvided = createRequire(import.meta.url);

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!specifier.startsWith(providedPackagePrefix)) throw error;
      // require() resolves from the requiring module whatever parentURL says: resolve it here.
      if (context.conditions?.includes('require')) {
        return { url: pathToFileURL(requireProvided.resolve(specifier)).href, shortCircuit: true };
      }
      return nextResolve(specifier, { ...context, parentURL: import.meta.url });
    }
  },
});

const env = process.env;
const taskRoot = env.LAMBDA_TASK_ROOT ?? process.cwd();
const handlerString = env._HANDLER ?? '';
const runtimeMajor = Number(/nodejs(\d+)\.x/.exec(env.AWS_EXECUTION_ENV ?? '')?.[1] ?? '24');
const tailLimitBytes = 4096;

type Handler = (event: unknown, context: unknown, callback?: unknown) => unknown;

let currentRequestId: string | undefined;
let tail: string[] | undefined;
let tailBytes = 0;

function send(message: RuntimeMessage, then?: () => void): void {
  if (process.send === undefined) throw new Error('runtime-bootstrap must be started with an IPC channel');
  process.send(message, undefined, undefined, () => then?.());
}

/** Keeps the invocation's output (last 4 KB) when the caller asked for `LogType: Tail`. */
function capture(chunk: unknown): void {
  if (tail === undefined) return;
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  tail.push(text);
  tailBytes += Buffer.byteLength(text);
  while (tailBytes > tailLimitBytes * 2 && tail.length > 1)
    tailBytes -= Buffer.byteLength(tail.shift() ?? '');
}

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    capture(chunk);
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

/** Lambda's console format; newlines become `\r` so one call stays one log event. */
function patchConsole(): void {
  const levels = [
    ['log', 'INFO', process.stdout],
    ['info', 'INFO', process.stdout],
    ['debug', 'DEBUG', process.stdout],
    ['warn', 'WARN', process.stderr],
    ['error', 'ERROR', process.stderr],
    ['trace', 'TRACE', process.stderr],
  ] as const;
  for (const [method, level, stream] of levels) {
    console[method] = (...args: unknown[]) => {
      const message = format(...args).replaceAll('\n', '\r');
      stream.write(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${message}\n`);
    };
  }
}

/** Lambda's error payload: `{errorType, errorMessage, trace}`. */
function toErrorPayload(error: unknown): FunctionErrorPayload {
  if (error instanceof Error) {
    return {
      errorType: error.name,
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n').filter((line) => line !== ''),
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function runtimeError(errorType: string, errorMessage: string): FunctionErrorPayload {
  return { errorType, errorMessage, trace: [`${errorType}: ${errorMessage}`] };
}

class HandlerLoadError extends Error {
  readonly payload: FunctionErrorPayload;
  constructor(payload: FunctionErrorPayload) {
    super(payload.errorMessage);
    this.name = 'HandlerLoadError';
    this.payload = payload;
  }
}

/** Loads `dir/module.export.path` from the task root, as Lambda's Node.js runtime does. */
async function loadHandler(): Promise<Handler> {
  const slash = handlerString.lastIndexOf('/');
  const directory = handlerString.slice(0, slash + 1);
  const rest = handlerString.slice(slash + 1);
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) {
    throw new HandlerLoadError(runtimeError('Runtime.MalformedHandlerName', 'Bad handler'));
  }
  const moduleName = rest.slice(0, dot);
  const exportPath = rest.slice(dot + 1).split('.');
  const file = ['.js', '.mjs', '.cjs']
    .map((extension) => join(taskRoot, directory, `${moduleName}${extension}`))
    .find((candidate) => existsSync(candidate));
  if (file === undefined) {
    throw new HandlerLoadError(
      runtimeError(
        'Runtime.ImportModuleError',
        `Error: Cannot find module '${directory}${moduleName}'\nRequire stack:\n- ${import.meta.filename}`,
      ),
    );
  }
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new HandlerLoadError(
        runtimeError('Runtime.ImportModuleError', `Error: ${(error as Error).message}`),
      );
    }
    if (error instanceof SyntaxError) {
      throw new HandlerLoadError(
        runtimeError('Runtime.UserCodeSyntaxError', `SyntaxError: ${error.message}`),
      );
    }
    throw new HandlerLoadError(toErrorPayload(error));
  }
  const lookup = (root: unknown): unknown =>
    exportPath.reduce<unknown>(
      (value, key) =>
        value === null || value === undefined ? undefined : (value as Record<string, unknown>)[key],
      root,
    );
  const handler = lookup(loaded) ?? lookup(loaded.default);
  if (typeof handler !== 'function') {
    throw new HandlerLoadError(
      runtimeError(
        'Runtime.HandlerNotFound',
        `${directory}${moduleName}.${exportPath.join('.')} is undefined or not exported`,
      ),
    );
  }
  const isAsync = handler.constructor.name === 'AsyncFunction';
  if (runtimeMajor >= 24 && handler.length >= 3 && !isAsync) {
    throw new HandlerLoadError(
      runtimeError(
        'Runtime.CallbackHandlerDeprecated',
        'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.',
      ),
    );
  }
  return handler as Handler;
}

let pendingExitCode: number | undefined;
let finishCurrent: ((outcome: { payload?: string; error?: FunctionErrorPayload }) => void) | undefined;

function parseClientContext(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Runs one invocation; resolves with the result or error, whichever way the handler ends. */
function invoke(
  handler: Handler,
  message: InvokeMessage,
): Promise<{ payload?: string; error?: FunctionErrorPayload }> {
  return new Promise((resolve) => {
    let settled = false;
    const succeed = (result: unknown): void => {
      if (settled) return;
      settled = true;
      try {
        resolve({ payload: JSON.stringify(result === undefined ? null : result) });
      } catch (error) {
        resolve({ error: toErrorPayload(error) });
      }
    };
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      resolve({ error: toErrorPayload(error) });
    };
    finishCurrent = (outcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const callback = (error: unknown, result?: unknown): void => {
      if (error !== null && error !== undefined) fail(error);
      else succeed(result);
    };
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: message.invokedFunctionArn,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      awsRequestId: message.requestId,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: parseClientContext(message.clientContext),
      identity: undefined,
      getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
      done: callback,
      succeed,
      fail,
    };
    let event: unknown;
    try {
      event = JSON.parse(message.payload);
    } catch (error) {
      fail(error);
      return;
    }
    try {
      const usesCallback = handler.length >= 3 && runtimeMajor < 24;
      const returned = usesCallback ? handler(event, context, callback) : handler(event, context);
      if (
        returned !== null &&
        typeof returned === 'object' &&
        typeof (returned as Promise<unknown>).then === 'function'
      ) {
        (returned as Promise<unknown>).then(succeed, fail);
      } else if (!usesCallback) {
        succeed(returned);
      }
    } catch (error) {
      fail(error);
    }
  });
}

async function main(): Promise<void> {
  patchConsole();
  let handler: Handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    const payload = error instanceof HandlerLoadError ? error.payload : toErrorPayload(error);
    console.error(`Init Error \t${JSON.stringify(payload)}`);
    send({ type: 'init-error', error: payload }, () => process.exit(1));
    return;
  }
  process.on('message', async (message: InvokeMessage) => {
    if (message.type !== 'invoke') return;
    currentRequestId = message.requestId;
    tail = message.tail ? [] : undefined;
    tailBytes = 0;
    const outcome = await invoke(handler, message);
    finishCurrent = undefined;
    if (outcome.error !== undefined) console.error(`Invoke Error \t${JSON.stringify(outcome.error)}`);
    const log = tail?.join('');
    const result: ResultMessage = {
      type: 'result',
      requestId: message.requestId,
      ...outcome,
      ...(log === undefined ? {} : { log: Buffer.from(log).subarray(-tailLimitBytes).toString('utf8') }),
      maxMemoryUsedMiB: Math.round(process.memoryUsage.rss() / 1048576),
      exiting: pendingExitCode !== undefined,
    };
    currentRequestId = undefined;
    tail = undefined;
    send(result, () => {
      if (pendingExitCode !== undefined) process.exit(pendingExitCode);
    });
  });
  send({ type: 'ready' });
}

/** An error that escaped the handler ends the invocation with it, then the process, as on Lambda. */
function crash(errorType: string | undefined, error: unknown, exitCode: number): void {
  const payload = errorType === undefined ? toErrorPayload(error) : runtimeError(errorType, String(error));
  console.error(
    `${errorType === undefined ? 'Uncaught Exception' : 'Unhandled Promise Rejection'} \t${JSON.stringify(payload)}`,
  );
  if (finishCurrent === undefined) {
    process.exit(exitCode);
  } else {
    pendingExitCode = exitCode;
    finishCurrent({ error: payload });
  }
}

process.on('uncaughtException', (error) => crash(undefined, error, 129));
process.on('unhandledRejection', (reason) => crash('Runtime.UnhandledPromiseRejection', reason, 128));
process.on('disconnect', () => process.exit(0));

await main();
