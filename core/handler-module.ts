/**
 * Whether a function's handler can be found in its code package, by the runtime's own resolution
 * rules, so that a missing handler file is refused at draft time instead of failing at invoke.
 *
 * Only the rules greco can cite are applied:
 * - **Node.js** (`nodejs*`): the runtime interface client (aws-lambda-nodejs-runtime-interface-client,
 *   `src/UserFunction.js`, `_loadUserApp` / `_tryRequire`) splits `dir/file.fn` into the module
 *   root `dir`, the module `file` (the basename up to its first `.`) and the function path `fn`,
 *   then loads, in this order: `dir/file` (extensionless), `dir/file.js`, `dir/file.mjs`,
 *   `dir/file.cjs`, and last, Node's own resolution of the bare name `file` from the task root
 *   and `dir` (a package under a `node_modules/` folder, or a layer on `NODE_PATH`).
 * - Every other runtime family (Python, Java, .NET, Ruby, OS-only `provided`): not checked. Their
 *   handlers may name modules of the runtime, a layer or a classpath that the zip does not hold
 *   (e.g. a Java class inside a jar, a Python package from a layer), so a check on the zip's
 *   entries alone could refuse code that works.
 *
 * @module
 */
import { runtimeInfo } from './runtimes.ts';

/** How many of the zip's entries a refusal lists, at most. */
export const listedEntriesMax = 20;

/**
 * The files that would satisfy a Node.js handler, in the runtime's resolution order, or
 * `undefined` when the handler is malformed (no `.` in its basename, or a `..` segment: the
 * runtime refuses both).
 *
 * @example
 * nodejsHandlerCandidates('src/app.handler'); // ['src/app', 'src/app.js', 'src/app.mjs', 'src/app.cjs']
 */
export function nodejsHandlerCandidates(
  handler: string,
): { files: string[]; module: string; root: string } | undefined {
  if (handler.includes('..')) return undefined;
  const slash = handler.lastIndexOf('/');
  const root = slash === -1 ? '' : handler.slice(0, slash);
  const base = handler.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot <= 0 || dot === base.length - 1) return undefined;
  const module = base.slice(0, dot);
  const prefix = root === '' ? '' : `${root.replace(/^\.\//, '').replace(/^\/+/, '')}/`;
  const path = `${prefix}${module}`;
  return { files: [path, `${path}.js`, `${path}.mjs`, `${path}.cjs`], module, root: prefix };
}

/**
 * What is wrong with a handler for a zip's entries, if anything.
 *
 * @param runtime - the Lambda runtime id, e.g. `nodejs22.x`
 * @param handler - the handler setting, e.g. `src/app.handler`
 * @param entries - the zip's entry names (as `inspectZip` lists them; directories end in `/`)
 * @returns a message naming the handler and listing (at most {@link listedEntriesMax}) what the
 *   zip holds; `undefined` when the handler resolves or the runtime's rules are not checked
 * @example
 * handlerModuleProblem('nodejs22.x', 'app.handler', ['index.js']);
 * // 'handler "app.handler" needs app, app.js, app.mjs or app.cjs in the zip …'
 */
export function handlerModuleProblem(
  runtime: string,
  handler: string,
  entries: readonly string[],
): string | undefined {
  if (runtimeInfo(runtime)?.family !== 'nodejs') return undefined;
  const candidates = nodejsHandlerCandidates(handler);
  if (candidates === undefined) {
    return `handler ${JSON.stringify(handler)} is not of the form [dir/]file.function that the Node.js runtime loads`;
  }
  const names = new Set(entries.map((entry) => entry.replace(/^\.\//, '')));
  if (candidates.files.some((file) => names.has(file))) return undefined;
  if (inNodeModules(candidates.module, candidates.root, entries)) return undefined;
  const files = entries.filter((entry) => !entry.endsWith('/'));
  const listed = files.slice(0, listedEntriesMax).join(', ');
  const more = files.length > listedEntriesMax ? ` and ${files.length - listedEntriesMax} more` : '';
  const wanted = candidates.files;
  return `handler ${JSON.stringify(handler)} needs ${wanted.slice(0, -1).join(', ')} or ${wanted.at(-1)} in the zip (the Node.js runtime's resolution order), but the zip holds: ${listed}${more}`;
}

/**
 * Node's resolution of a bare module name from the task root and the module root: a
 * `node_modules/<module>` file or folder in the root or any of its ancestors.
 */
function inNodeModules(module: string, root: string, entries: readonly string[]): boolean {
  const folders = [''];
  const parts = root.split('/').filter((part) => part !== '');
  for (let i = 1; i <= parts.length; i += 1) folders.push(`${parts.slice(0, i).join('/')}/`);
  return entries.some((entry) =>
    folders.some((folder) => {
      const at = `${folder}node_modules/${module}`;
      return entry === at || entry.startsWith(`${at}/`) || entry.startsWith(`${at}.`);
    }),
  );
}
