/**
 * The local IAM emulator: the query protocol of IAM (`POST /`, form-encoded `Action=...&Version=
 * 2010-05-08`, XML answers), as `@aws-sdk/client-iam` and the AWS CLI (`aws iam ...
 * --endpoint-url`) send it. Actions: CreateRole, GetRole, ListRoles (`PathPrefix`; one page),
 * DeleteRole, PutRolePolicy, GetRolePolicy, ListRolePolicies, DeleteRolePolicy.
 *
 * It records roles and inline policies in memory and enforces nothing: no call of the local cloud
 * is checked against them (docs/local-cloud.md). The Lambda conductor creates each workspace's
 * execution role here, as it does in IAM.
 *
 * @example
 * const iam = await startIamEmulator();
 * const client = new IAMClient({ endpoint: iam.endpoint, region: localRegion, credentials: localCredentials });
 * await client.send(new ListRolesCommand({ PathPrefix: '/greco/' }));
 * await iam.close();
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { BodyTooLargeError, closeServer, listen, readBody } from '../http.ts';
import { localAccountId } from '../net.ts';
import { xmlElement } from '../s3/xml.ts';
import { IamApiError, RoleStore, type StoredRole } from './store.ts';

export { IamApiError } from './store.ts';

/** The XML namespace of IAM answers (API version 2010-05-08). */
const iamNamespace = 'https://iam.amazonaws.com/doc/2010-05-08/';
/** Request bodies above this are refused: a policy document is at most 10,240 characters (IAM quotas). */
const maxRequestBytes = 1024 * 1024;

/** Options of {@link startIamEmulator}. */
export interface IamEmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 - the OS picks a free port */
  readonly port?: number;
  /** @default '000000000000' (local/net.ts localAccountId) */
  readonly accountId?: string;
  /** Receives notices (internal errors). @default - lines to stderr */
  readonly logSink?: (line: string) => void;
}

/** A running IAM emulator. */
export interface RunningIamEmulator {
  /** `http://127.0.0.1:<port>`: `endpoint` of `IAMClient`, `--endpoint-url` of `aws iam`. */
  readonly endpoint: string;
  /** Stops the server; the roles are gone. */
  close(): Promise<void>;
}

/** One action: the form parameters in, the `<…Result>` content out. */
type Action = (params: URLSearchParams) => string;

/** A required parameter. @throws IamApiError ValidationError when it is missing */
function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') {
    throw new IamApiError(
      'ValidationError',
      `1 validation error detected: Value null at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function optional(params: URLSearchParams, name: string): string | undefined {
  const value = params.get(name);
  return value === null || value === '' ? undefined : value;
}

/** A role's XML, as IAM writes it (documents URL-encoded, as IAM returns them). */
function roleXml(role: StoredRole): string {
  return [
    xmlElement('Path', role.path),
    xmlElement('RoleName', role.roleName),
    xmlElement('RoleId', role.roleId),
    xmlElement('Arn', role.arn),
    xmlElement('CreateDate', role.createDate.toISOString()),
    xmlElement('AssumeRolePolicyDocument', encodeURIComponent(role.assumeRolePolicyDocument)),
    xmlElement('Description', role.description),
    xmlElement('MaxSessionDuration', role.maxSessionDuration),
    role.permissionsBoundary === undefined
      ? ''
      : `<PermissionsBoundary>${xmlElement('PermissionsBoundaryType', 'Policy')}${xmlElement('PermissionsBoundaryArn', role.permissionsBoundary)}</PermissionsBoundary>`,
  ].join('');
}

function iamActions(store: RoleStore): Readonly<Record<string, Action>> {
  return {
    CreateRole: (params) => {
      const maxSessionDuration = optional(params, 'MaxSessionDuration');
      const description = optional(params, 'Description');
      const path = optional(params, 'Path');
      const permissionsBoundary = optional(params, 'PermissionsBoundary');
      const role = store.create({
        roleName: required(params, 'RoleName'),
        assumeRolePolicyDocument: required(params, 'AssumeRolePolicyDocument'),
        ...(path === undefined ? {} : { path }),
        ...(description === undefined ? {} : { description }),
        ...(maxSessionDuration === undefined ? {} : { maxSessionDuration: Number(maxSessionDuration) }),
        ...(permissionsBoundary === undefined ? {} : { permissionsBoundary }),
      });
      return `<Role>${roleXml(role)}</Role>`;
    },
    GetRole: (params) => `<Role>${roleXml(store.get(required(params, 'RoleName')))}</Role>`,
    ListRoles: (params) => {
      const roles = store.list(optional(params, 'PathPrefix') ?? '/');
      return `<IsTruncated>false</IsTruncated><Roles>${roles.map((role) => `<member>${roleXml(role)}</member>`).join('')}</Roles>`;
    },
    DeleteRole: (params) => {
      store.delete(required(params, 'RoleName'));
      return '';
    },
    PutRolePolicy: (params) => {
      store.putPolicy(
        required(params, 'RoleName'),
        required(params, 'PolicyName'),
        required(params, 'PolicyDocument'),
      );
      return '';
    },
    GetRolePolicy: (params) => {
      const roleName = required(params, 'RoleName');
      const policyName = required(params, 'PolicyName');
      const document = store.getPolicy(roleName, policyName);
      return (
        xmlElement('RoleName', store.get(roleName).roleName) +
        xmlElement('PolicyName', policyName) +
        xmlElement('PolicyDocument', encodeURIComponent(document))
      );
    },
    ListRolePolicies: (params) => {
      const names = [...store.get(required(params, 'RoleName')).policies.keys()].sort();
      return `<IsTruncated>false</IsTruncated><PolicyNames>${names.map((name) => xmlElement('member', name)).join('')}</PolicyNames>`;
    },
    DeleteRolePolicy: (params) => {
      store.deletePolicy(required(params, 'RoleName'), required(params, 'PolicyName'));
      return '';
    },
  };
}

/**
 * Starts the IAM emulator on 127.0.0.1 and resolves once it listens.
 *
 * @throws Error when the port cannot be listened on (`EADDRINUSE`)
 */
export async function startIamEmulator(options: IamEmulatorOptions = {}): Promise<RunningIamEmulator> {
  const store = new RoleStore(options.accountId ?? localAccountId);
  const actions = iamActions(store);
  const log = options.logSink ?? ((line: string) => process.stderr.write(`${line}\n`));

  const sendXml = (res: ServerResponse, status: number, text: string): void => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n${text}`;
    res.writeHead(status, {
      'content-type': 'text/xml',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(body);
  };
  const sendError = (res: ServerResponse, error: IamApiError): void =>
    sendXml(
      res,
      error.status,
      `<ErrorResponse xmlns="${iamNamespace}"><Error><Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type>${xmlElement('Code', error.code)}${xmlElement('Message', error.message)}</Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: Buffer;
    try {
      body = await readBody(req, maxRequestBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      return sendError(res, new IamApiError('ValidationError', error.message, 413));
    }
    const params = new URLSearchParams(
      req.method === 'POST' ? body.toString('utf8') : new URL(req.url ?? '/', 'http://x').search,
    );
    const name = params.get('Action') ?? '';
    const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
    if (action === undefined) {
      return sendError(
        res,
        new IamApiError(
          'InvalidAction',
          `The local IAM emulator does not support ${name === '' ? `${req.method} ${req.url}` : name}`,
        ),
      );
    }
    try {
      const result = action(params);
      sendXml(
        res,
        200,
        `<${name}Response xmlns="${iamNamespace}">${result === '' ? '' : `<${name}Result>${result}</${name}Result>`}<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${name}Response>`,
      );
    } catch (error) {
      if (error instanceof IamApiError) return sendError(res, error);
      throw error;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`[iam emulator] internal error: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) sendError(res, new IamApiError('ServiceFailure', 'internal error', 500));
    });
  });
  const endpoint = await listen(server, options.port ?? 0);
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    close() {
      closing ??= closeServer(server);
      return closing;
    },
  };
}
