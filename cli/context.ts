/**
 * Where the CLI finds things: the work folder (`.greco`, as the local cloud uses it), the local
 * cloud's `local.json`, the stored credentials (`.greco/credentials.json`), and the draft each
 * workspace's `greco plan` keeps editing (`.greco/drafts.json`).
 *
 * The work folder is `--work-dir`, else `$GRECO_WORK_DIR`, else the nearest `.greco` folder in
 * the current folder or above it, else `./.greco`.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { LocalStateDocument } from '../local/cloud.ts';
import { CliError } from './errors.ts';

/** The stack output that holds the hot-path controller's URL (lib/data-plane-controller-stack.ts). */
const controllerStack = 'GrecoDataPlaneController';

/** What `greco login` stores. */
export interface StoredCredentials {
  /** `local`: the local cloud of this work folder (endpoints re-read from local.json each time); `aws`: a deployed greco. */
  readonly kind: 'local' | 'aws';
  /** The management API base URL, ending with `/`. For `local`, the one of local.json at login time. */
  readonly apiUrl: string;
  /** The hot-path controller's base URL, when known. */
  readonly controllerUrl?: string;
  /** The JWT. */
  readonly token: string;
  /** The workspace the token is for. */
  readonly workspace: string;
  /** Prefix of managed function names (`greco:managedPrefix`). @default 'greco' */
  readonly managedPrefix: string;
  /** AWS region of the Lambda functions (`aws` only; else the SDK's default chain). */
  readonly region?: string;
}

/** Everything a command needs to talk to greco, resolved from credentials and local.json. */
export interface Session {
  readonly kind: 'local' | 'aws';
  readonly apiUrl: string;
  readonly controllerUrl: string | undefined;
  readonly token: string;
  readonly workspace: string;
  readonly managedPrefix: string;
  /** The local cloud, when kind is `local`. */
  readonly local: LocalStateDocument | undefined;
  readonly region: string | undefined;
  readonly workDir: string;
}

/** Resolves the work folder (see the module comment). */
export function resolveWorkDir(option: string | undefined, cwd: string, env: NodeJS.ProcessEnv): string {
  if (option !== undefined) return resolve(cwd, option);
  if (env.GRECO_WORK_DIR !== undefined && env.GRECO_WORK_DIR !== '') return resolve(cwd, env.GRECO_WORK_DIR);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.greco'))) return join(dir, '.greco');
    if (dirname(dir) === dir) break;
  }
  return join(resolve(cwd), '.greco');
}

async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new CliError(`${path} is not valid JSON: delete it and run the command again`, { cause: error });
  }
}

async function writeJson(path: string, value: unknown, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  await chmod(temp, mode);
  await rename(temp, path);
}

/** The local cloud's `local.json` in `workDir`, or undefined when no local cloud wrote one. */
export async function readLocalState(workDir: string): Promise<LocalStateDocument | undefined> {
  return readJson<LocalStateDocument>(join(workDir, 'local.json'));
}

/**
 * The local cloud's `local.json`, or a one-line error saying how to start one.
 * @throws CliError when there is none
 */
export async function requireLocalState(workDir: string): Promise<LocalStateDocument> {
  const state = await readLocalState(workDir);
  if (state === undefined) {
    throw new CliError(
      `no local cloud is running (no ${join(workDir, 'local.json')}): start one with npx greco local (or npm start) in another terminal, or log in to a deployed greco with greco login --endpoint URL --token JWT`,
    );
  }
  return state;
}

/** The hot-path controller URL of a local cloud (the `ControllerUrl` output), ending with `/`. */
export function localControllerUrl(state: LocalStateDocument): string | undefined {
  const url = state.stacks[controllerStack]?.outputs.ControllerUrl;
  return typeof url === 'string' ? (url.endsWith('/') ? url : `${url}/`) : undefined;
}

/** Path of the credentials file. */
export function credentialsPath(workDir: string): string {
  return join(workDir, 'credentials.json');
}

/** Stores credentials (file mode 0600). */
export async function saveCredentials(workDir: string, credentials: StoredCredentials): Promise<void> {
  await writeJson(credentialsPath(workDir), credentials);
}

/** Decodes a JWT's payload without verifying it (the API verifies); undefined if it is not a JWT. */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (part === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The session of the stored credentials: for a local login, endpoints from the running local
 * cloud's local.json. Checks the token's `exp` first, so an expired token is one clear line
 * before any call.
 *
 * @throws CliError when nobody logged in, the local cloud is gone, or the token expired
 */
export async function loadSession(workDir: string, now: Date = new Date()): Promise<Session> {
  const credentials = await readJson<StoredCredentials>(credentialsPath(workDir));
  let local: LocalStateDocument | undefined;
  if (credentials === undefined) {
    // Say first what is missing at the bottom: a local cloud.
    await requireLocalState(workDir);
    throw new CliError(
      'you are not logged in: run greco login --workspace NAME (local cloud) or greco login --endpoint URL --token JWT',
    );
  }
  if (credentials.kind === 'local') local = await requireLocalState(workDir);
  const exp = decodeJwtPayload(credentials.token)?.exp;
  if (typeof exp === 'number' && exp * 1000 <= now.getTime()) {
    throw new CliError(
      `your token for workspace ${credentials.workspace} expired at ${new Date(exp * 1000).toISOString()}: run greco login${credentials.kind === 'local' ? ` --workspace ${credentials.workspace}` : ' --endpoint URL --token JWT with a fresh token'}`,
    );
  }
  return {
    kind: credentials.kind,
    apiUrl: local?.apiUrl ?? credentials.apiUrl,
    controllerUrl: (local === undefined ? undefined : localControllerUrl(local)) ?? credentials.controllerUrl,
    token: credentials.token,
    workspace: credentials.workspace,
    managedPrefix: credentials.managedPrefix,
    local,
    region: local?.region ?? credentials.region,
    workDir,
  };
}

/** The draft `greco plan` keeps editing, per API URL and workspace (`.greco/drafts.json`). */
export async function savedDraftId(
  workDir: string,
  apiUrl: string,
  workspace: string,
): Promise<string | undefined> {
  const drafts = (await readJson<Record<string, string>>(join(workDir, 'drafts.json'))) ?? {};
  return drafts[`${apiUrl} ${workspace}`];
}

/** Remembers the draft of an API URL and workspace. */
export async function saveDraftId(
  workDir: string,
  apiUrl: string,
  workspace: string,
  draftId: string,
): Promise<void> {
  const path = join(workDir, 'drafts.json');
  const drafts = (await readJson<Record<string, string>>(path)) ?? {};
  drafts[`${apiUrl} ${workspace}`] = draftId;
  await writeJson(path, drafts, 0o644);
}
