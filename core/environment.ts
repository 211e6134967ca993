/**
 * The environment variables of a function spec: which keys Lambda reserves, and which keys greco
 * refuses because they change the runtime itself. Values and the 4 KB total are checked with the
 * rest of the spec (core/spec.ts).
 *
 * @module
 */

/**
 * Lambda's reserved environment variable keys: "Defined runtime environment variables" in the
 * Lambda Developer Guide ("The keys for these environment variables are reserved and cannot be
 * set in your function configuration"). `_HANDLER` and `_X_AMZN_TRACE_ID` already fail the key
 * pattern; they are listed for completeness. Other keys that Lambda lets a function set but that
 * change the runtime itself, such as `AWS_LAMBDA_EXEC_WRAPPER`, are refused by greco apart:
 * {@link RuntimeControlEnvironmentKeys}.
 */
export const ReservedEnvironmentKeys: ReadonlySet<string> = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
]);

/**
 * Environment keys that Lambda lets a function set but that change the runtime itself rather than
 * configure the function's code: they run other code before or inside the runtime process, ahead
 * of greco's runtime library. greco refuses them (400 naming the key), with why:
 * - `AWS_LAMBDA_EXEC_WRAPPER`: a wrapper script that starts the runtime (Lambda Developer Guide,
 *   "Modifying the runtime environment", wrapper scripts);
 * - `NODE_OPTIONS`, `JAVA_TOOL_OPTIONS`, `DOTNET_STARTUP_HOOKS`: the language-specific variables
 *   Lambda documents for pre-loading code at startup (same page); `JDK_JAVA_OPTIONS` is read by
 *   the JVM like `JAVA_TOOL_OPTIONS`, `RUBYOPT` preloads Ruby code (`-r`) the same way;
 * - `LD_PRELOAD`, `LD_AUDIT`, `LD_LIBRARY_PATH`: the dynamic linker's (ld.so(8)) shared objects
 *   loaded into every process, and the library path Lambda sets for the runtime ("Defined
 *   runtime environment variables").
 * Source maps, the usual reason for `NODE_OPTIONS`, are enabled from code with
 * `process.setSourceMapsEnabled(true)`.
 */
export const RuntimeControlEnvironmentKeys: ReadonlyMap<string, string> = new Map([
  ['AWS_LAMBDA_EXEC_WRAPPER', 'a wrapper script that starts the runtime'],
  ['NODE_OPTIONS', 'Node.js startup options, e.g. --require or --import to preload code'],
  ['JAVA_TOOL_OPTIONS', 'JVM startup options, e.g. -javaagent'],
  ['JDK_JAVA_OPTIONS', 'JVM startup options, e.g. -javaagent'],
  ['DOTNET_STARTUP_HOOKS', '.NET startup hooks, assemblies loaded before the function'],
  ['RUBYOPT', 'Ruby startup options, e.g. -r to preload code'],
  ['LD_PRELOAD', 'shared objects the dynamic linker loads into every process'],
  ['LD_AUDIT', 'shared objects the dynamic linker loads into every process'],
  ['LD_LIBRARY_PATH', "the dynamic linker's search path, which Lambda sets for the runtime"],
]);

/** Lambda `Environment.Variables` key pattern: `[a-zA-Z]([a-zA-Z0-9_])+`. */
const environmentKeyPattern = /^[a-zA-Z][a-zA-Z0-9_]+$/;

/**
 * What is wrong with an environment key, if anything: Lambda's key pattern, a key Lambda
 * reserves ({@link ReservedEnvironmentKeys}), or one greco refuses
 * ({@link RuntimeControlEnvironmentKeys}).
 *
 * @returns a message for the field `environment.<key>`, or `undefined` when the key is accepted
 */
export function environmentKeyProblem(key: string): string | undefined {
  if (!environmentKeyPattern.test(key)) {
    return 'must start with a letter and have at least 2 characters, all letters, digits or underscores';
  }
  if (ReservedEnvironmentKeys.has(key)) return `is reserved by Lambda (${key} is set by the runtime)`;
  const runtimeControl = RuntimeControlEnvironmentKeys.get(key);
  if (runtimeControl !== undefined) {
    return `changes the runtime itself (${key}: ${runtimeControl}); greco refuses it (docs/security.md, "Input bounds")`;
  }
  return undefined;
}
