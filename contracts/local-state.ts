/**
 * The local cloud's state file: the one contract between the local cloud (`local/`, which
 * writes it) and the CLI (`cli/`, which reads it). Neither imports the other's code; both import
 * this module, and it imports nothing of either.
 *
 * The work folder holds the state file, the CLI's credentials and drafts, and the local cloud's
 * `cdk.out` and `data/`. The local cloud also writes the state file into the user-level state
 * folder ({@link userStateDir}), where the CLI finds it from any folder, and where it keeps the
 * credentials and drafts of a user who has no `.greco` folder.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** The work folder's name: `<project>/.greco` by default, the nearest one for the CLI. */
export const workDirName = '.greco';

/** The state file's name in the work folder: `local.json`. */
export const stateFileName = 'local.json';

/**
 * The CLI's stored login in the work folder: `credentials.json`. The local cloud reads only its
 * `kind` (`'local' | 'aws'`), so that `npm start` never replaces a login to a deployed greco.
 */
export const credentialsFileName = 'credentials.json';

/** Path of the state file in `workDir`: `<workDir>/local.json`. */
export function stateFilePath(workDir: string): string {
  return join(workDir, stateFileName);
}

/** The variable that names the user-level state folder: `GRECO_STATE_DIR`. */
export const stateDirVariable = 'GRECO_STATE_DIR';

/** The variable that names the CLI's work folder: `GRECO_WORK_DIR`. */
export const workDirVariable = 'GRECO_WORK_DIR';

/**
 * The user-level state folder: `$GRECO_STATE_DIR` (relative to `cwd`), else
 * `$XDG_STATE_HOME/greco`, else `~/.local/state/greco` (the XDG Base Directory specification's
 * place for state; a relative `XDG_STATE_HOME` is ignored, as the specification says).
 *
 * @param env - the environment to read. @default process.env
 * @param home - the home folder. @default - `$HOME` of `env`, else os.homedir()
 * @param cwd - what a relative `GRECO_STATE_DIR` is relative to. @default process.cwd()
 * @example
 * userStateDir({ XDG_STATE_HOME: '/home/ada/.state' }); // '/home/ada/.state/greco'
 */
export function userStateDir(
  env: NodeJS.ProcessEnv = process.env,
  home: string = env.HOME === undefined || env.HOME === '' ? homedir() : env.HOME,
  cwd: string = process.cwd(),
): string {
  const own = env[stateDirVariable];
  if (own !== undefined && own !== '') return resolve(cwd, own);
  const xdg = env.XDG_STATE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'greco');
  return join(home, '.local', 'state', 'greco');
}

/** The endpoints of a running local cloud, each for `--endpoint-url` / an SDK client's `endpoint`. */
export interface LocalCloudEndpoints {
  readonly dynamodb: string;
  readonly s3: string;
  readonly lambda: string;
  readonly stepfunctions: string;
  readonly eventbridge: string;
  /** CloudWatch Logs: function output, in `/aws/lambda/<function name>` (`AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`). */
  readonly logs: string;
  /** IAM: roles and inline policies, recorded and not enforced (`AWS_ENDPOINT_URL_IAM`). */
  readonly iam: string;
  /** The OIDC issuer URL (`iss` of minted tokens); `POST <issuer>/token` mints one. */
  readonly issuer: string;
}

/** A deployed stack as the local cloud reports it. */
export interface LocalStack {
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Logical id → physical id (`Ref`), and `arn` when the resource has an `Arn` attribute. */
  readonly resources: Readonly<
    Record<string, { readonly type: string; readonly physicalId: string; readonly arn?: string }>
  >;
}

/**
 * The JSON written to `.greco/local.json` (and to the user-level state folder): everything a tool
 * needs to talk to the local cloud.
 */
export interface LocalStateDocument {
  /** The process that wrote it (and removes it on close). */
  readonly pid: number;
  /** ISO 8601 time of the start. */
  readonly startedAt: string;
  readonly region: string;
  readonly accountId: string;
  /** Fake credentials every local service accepts. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly persist: boolean;
  readonly endpoints: LocalCloudEndpoints;
  /** The local cloud's work folder (`cdk.out`, `data/`, and this file when written there). */
  readonly workDir: string;
  /** Every event put on an EventBridge bus of this local cloud, one JSON line each (`greco events` reads it). */
  readonly eventsFile: string;
  /** Base URL of the management API, ending with `/`; undefined when the app has none. */
  readonly apiUrl: string | undefined;
  /** Every HTTP endpoint started: HTTP APIs and function URLs, by `<stack>/<logicalId>`. */
  readonly httpEndpoints: Readonly<Record<string, string>>;
  readonly issuer: {
    readonly issuer: string;
    readonly jwksUri: string;
    readonly audience: string;
    /** `POST` `{workspace, roles, expiresInSeconds?}` here mints a token. */
    readonly tokenUrl: string;
  };
  /** How to get a token: a ready-to-run curl. */
  readonly tokenCommand: string;
  readonly stacks: Readonly<Record<string, LocalStack>>;
}
