/**
 * Where the CLI finds things: the work folder (`.greco`, as the local cloud uses it), the local
 * cloud's `local.json`, the stored credentials (`.greco/credentials.json`), and the draft each
 * workspace's `greco plan` keeps editing (`.greco/drafts.json`).
 *
 * The work folder is `--work-dir`, else `$GRECO_WORK_DIR`, else the nearest `.greco` folder in
 * the current folder or above it, else the user-level state folder (`$GRECO_STATE_DIR`, else
 * `$XDG_STATE_HOME/greco`, else `~/.local/state/greco`; see contracts/local-state.ts). A running local
 * cloud's `local.json` is looked for in the work folder, then, unless the work folder was named
 * (`--work-dir`, `$GRECO_WORK_DIR`), in the user-level state folder, where `npm start` writes it
 * too: so `greco` finds the local cloud from any folder.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  credentialsFileName,
  type LocalStateDocument,
  stateDirVariable,
  stateFilePath,
  userStateDir,
  workDirName,
  workDirVariable,
} from '../contracts/local-state.ts';
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

/** A folder the CLI looks in for a local cloud's `local.json`, and why it looks there. */
export interface StatePlace {
  readonly dir: string;
  /** Why this folder, for messages: `--work-dir`, `$GRECO_WORK_DIR`, `the nearest .greco`, ... */
  readonly why: string;
}

/** The CLI's folders: where its files are, and where it looks for a running local cloud. */
export interface WorkFolders {
  /** Where `credentials.json` and `drafts.json` are read and written. */
  readonly workDir: string;
  /** Where `local.json` is looked for, in order (the work folder first). */
  readonly statePlaces: readonly StatePlace[];
  /** Folders that were searched and had nothing, for messages: `no .greco in /a or above`. @default - none */
  readonly searched?: readonly string[];
}

/**
 * Resolves the CLI's folders (see the module comment).
 *
 * @param option - `--work-dir`, when given
 * @param cwd - the folder the CLI runs in
 * @param env - the environment (`GRECO_WORK_DIR`, `GRECO_STATE_DIR`, `XDG_STATE_HOME`, `HOME`)
 */
export function resolveWorkFolders(
  option: string | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv,
): WorkFolders {
  if (option !== undefined) {
    const dir = resolve(cwd, option);
    return { workDir: dir, statePlaces: [{ dir, why: '--work-dir' }] };
  }
  const named = env[workDirVariable];
  if (named !== undefined && named !== '') {
    const dir = resolve(cwd, named);
    return { workDir: dir, statePlaces: [{ dir, why: `$${workDirVariable}` }] };
  }
  const userDir = userStateDir(env, undefined, cwd);
  const user: StatePlace = {
    dir: userDir,
    why: `the user-level state folder; $${stateDirVariable} sets it`,
  };
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, workDirName);
    if (existsSync(candidate)) {
      return {
        workDir: candidate,
        statePlaces:
          candidate === userDir ? [user] : [{ dir: candidate, why: `the nearest ${workDirName}` }, user],
      };
    }
    if (dirname(dir) === dir) break;
  }
  return {
    workDir: userDir,
    statePlaces: [user],
    searched: [`no ${workDirName} in ${resolve(cwd)} or above`],
  };
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

/** Whether the process that wrote a `local.json` still runs (a local cloud killed hard leaves its file behind). */
function isRunning(pid: unknown): boolean {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What looking for a local cloud found: its state, or what each place had. */
async function findLocalState(
  folders: WorkFolders,
): Promise<{ state: LocalStateDocument } | { state: undefined; misses: string[] }> {
  const misses = [...(folders.searched ?? [])];
  for (const place of folders.statePlaces) {
    const path = stateFilePath(place.dir);
    const state = await readJson<LocalStateDocument>(path);
    if (state === undefined) {
      misses.push(`no ${path} (${place.why})`);
    } else if (!isRunning(state.pid)) {
      misses.push(`${path} (${place.why}) is left from process ${state.pid}, which has exited`);
    } else {
      return { state };
    }
  }
  return { state: undefined, misses };
}

/** The running local cloud's `local.json` (see the module comment), or undefined when none is found. */
export async function readLocalState(folders: WorkFolders): Promise<LocalStateDocument | undefined> {
  return (await findLocalState(folders)).state;
}

/**
 * The running local cloud's `local.json`, or a one-line error that says every place looked in and
 * how to start one.
 * @throws CliError when there is none
 */
export async function requireLocalState(folders: WorkFolders): Promise<LocalStateDocument> {
  const found = await findLocalState(folders);
  if (found.state === undefined) {
    throw new CliError(
      `no local cloud is running (${found.misses.join('; ')}): start one with npx greco local (or npm start) in another terminal, or log in to a deployed greco with greco login --endpoint URL --token JWT`,
    );
  }
  return found.state;
}

/** The hot-path controller URL of a local cloud (the `ControllerUrl` output), ending with `/`. */
export function localControllerUrl(state: LocalStateDocument): string | undefined {
  const url = state.stacks[controllerStack]?.outputs.ControllerUrl;
  return typeof url === 'string' ? (url.endsWith('/') ? url : `${url}/`) : undefined;
}

/** Path of the credentials file. */
export function credentialsPath(workDir: string): string {
  return join(workDir, credentialsFileName);
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
export async function loadSession(folders: WorkFolders, now: Date = new Date()): Promise<Session> {
  const { workDir } = folders;
  const credentials = await readJson<StoredCredentials>(credentialsPath(workDir));
  let local: LocalStateDocument | undefined;
  if (credentials === undefined) {
    // Say first what is missing at the bottom: a local cloud.
    await requireLocalState(folders);
    throw new CliError(
      `you are not logged in (no ${credentialsPath(workDir)}): run greco login --workspace NAME (local cloud) or greco login --endpoint URL --token JWT`,
    );
  }
  if (credentials.kind === 'local') local = await requireLocalState(folders);
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
