/**
 * Both of greco's HTTP surfaces on loopback, for the security tests, with the lightest setup that
 * still goes through the real emulators:
 * - the management API: the local API Gateway HTTP API (local/apigateway) with its JWT authorizer
 *   on every route the stack deploys (lib/constructs/management-api.ts `managementRoutes`), in
 *   front of the real handler modules (lambdas/*-api), on a fresh config table of the run's
 *   DynamoDB Local (test/support/management-api.ts);
 * - the hot path: the same emulator serving a function URL (`$default`, no authorizer, as
 *   local/deploy provisions `AWS::Lambda::Url`) in front of the real controller module
 *   (lambdas/hotpath-controller), acting on managed functions in the Lambda emulator.
 * The handler modules run in this process: a stand-in for Lambda's Invoke API hands them the
 * events the HTTP API emulator builds. Tokens come from an issuer that signs any claims at all
 * (role games, clock games), which both surfaces trust. The deployments handler's Step Functions
 * endpoint and the hot path's EventBridge endpoint refuse connections: starting a deployment is an
 * injected outage (503), and hot-path events are lost (they are best-effort).
 */
import { createServer } from 'node:http';
import { GetFunctionCommand, LambdaClient, paginateListFunctions } from '@aws-sdk/client-lambda';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { vi } from 'vitest';
import { EnvNames } from '../../domain/env.ts';
import { managementRoutes } from '../../lib/constructs/management-api.ts';
import { type RunningHttpApi, startHttpApi } from '../../local/apigateway/index.ts';
import { closeServer, listen, readBody } from '../../local/http.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localCredentials, localRegion, type PortReservation, reservePort } from '../../local/net.ts';
import { createFunction, managedTags } from '../unit/hotpath-support.ts';
import { lambdaContext } from './http-api-event.ts';
import { type ManagementApiHarness, startManagementApi } from './management-api.ts';

/** An OIDC issuer on loopback that signs whatever it is given: discovery document and JWKS. */
export interface ClaimsIssuer {
  /** `http://127.0.0.1:<port>`: `iss` of its tokens. */
  readonly issuer: string;
  /** The audience both surfaces accept. */
  readonly audience: string;
  /** Signs exactly `payload` (RS256, the published key). */
  sign(payload: JWTPayload): Promise<string>;
  /**
   * Signs a usable token: `iss`, `aud`, `sub`, `iat` (now), `exp` (an hour), a fresh `jti`, then
   * `claims` over them (`undefined` leaves a claim out).
   */
  token(claims?: Readonly<Record<string, unknown>>): Promise<string>;
  /** Signs `payload` with a key that is not in the JWKS, under the published key id. */
  signWithForeignKey(payload: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

/** Starts a {@link ClaimsIssuer}. */
export async function startClaimsIssuer(audience = 'greco-security'): Promise<ClaimsIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const kid = 'security-rig';
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
  let issuer = '';
  const server = createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/.well-known/jwks.json` }
        : req.url === '/.well-known/jwks.json'
          ? jwks
          : undefined;
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not_found' }));
  });
  issuer = await listen(server);
  const signWith = (payload: JWTPayload, key: typeof privateKey) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
  return {
    issuer,
    audience,
    sign: (payload) => signWith(payload, privateKey),
    token(claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer,
        aud: audience,
        sub: 'user-1',
        iat: now,
        exp: now + 3600,
        jti: crypto.randomUUID(),
        ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return signWith(payload, privateKey);
    },
    signWithForeignKey: (payload) => signWith(payload, foreign.privateKey),
    close: () => closeServer(server),
  };
}

/** What a handler module exports. */
type LambdaHandler = (event: never, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

/** A stand-in for Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`) over in-process handlers. */
async function startInProcessInvoke(handlers: Readonly<Record<string, LambdaHandler>>) {
  const server = createServer((req, res) => {
    void (async () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url?.split('?')[0] ?? '');
      const name = decodeURIComponent(match?.[1] ?? '');
      const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
      const event = JSON.parse((await readBody(req)).toString('utf8')) as never;
      if (handler === undefined) {
        res.writeHead(404, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'ResourceNotFoundException',
        });
        res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }));
        return;
      }
      try {
        const result = await handler(event, lambdaContext(name));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result));
      } catch (error) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
        res.end(JSON.stringify({ errorType: (error as Error).name, errorMessage: (error as Error).message }));
      }
    })().catch(() => res.destroy());
  });
  const endpoint = await listen(server);
  return { endpoint, close: () => closeServer(server) };
}

/** Options of {@link startSecurityRig}. */
export interface SecurityRigOptions {
  /** A management API harness to put behind the HTTP API. @default - a new one (closed with the rig) */
  readonly api?: ManagementApiHarness;
}

/** The running surfaces and what is needed to probe them. */
export interface SecurityRig {
  readonly issuer: ClaimsIssuer;
  readonly api: ManagementApiHarness;
  /** The management API behind the JWT authorizer: `http://127.0.0.1:<port>` (append `/v1/...`). */
  readonly managementUrl: string;
  /** The hot path's function URL: `http://127.0.0.1:<port>` (append `/v1/functions/...`). */
  readonly hotPathUrl: string;
  readonly lambdaEndpoint: string;
  readonly lambda: LambdaClient;
  readonly emulator: RunningLambdaEmulator;
  /** Creates a function as a committed deployment leaves it (tags, reserved concurrency); returns its name. */
  createManagedFunction(workspace: string, name: string, reservedConcurrency?: number): Promise<string>;
  /** Every function of the Lambda emulator with its tags and reserved concurrency, sorted: compare two. */
  lambdaState(): Promise<string[]>;
  /** How many mutating Lambda calls (tag, untag, concurrency) the emulator has served. */
  lambdaMutations(): number;
  close(): Promise<void>;
}

/** The hot path's mutating Lambda operations. */
const mutatingOperations = [
  'TagResource',
  'UntagResource',
  'PutFunctionConcurrency',
  'DeleteFunctionConcurrency',
];

/**
 * Starts the rig: the issuer, the management API harness (unless given), the Lambda emulator, the
 * handler modules with their environment, and two local HTTP APIs. Call from `beforeAll`.
 */
export async function startSecurityRig(options: SecurityRigOptions = {}): Promise<SecurityRig> {
  const issuer = await startClaimsIssuer();
  const api = options.api ?? (await startManagementApi());
  const emulator = await startLambdaEmulator({
    controlPlaneRateLimit: 0,
    transitionMs: 0,
    logSink: () => {},
  });
  const lambda = new LambdaClient({
    endpoint: emulator.endpoint,
    region: localRegion,
    credentials: localCredentials,
  });
  const refused: PortReservation = await reservePort();
  Object.assign(process.env, {
    [EnvNames.deploymentStateMachineArn]:
      'arn:aws:states:us-east-1:000000000000:stateMachine:greco-deployment',
    AWS_ENDPOINT_URL_SFN: `http://127.0.0.1:${refused.port}`,
    [EnvNames.jwtIssuer]: issuer.issuer,
    [EnvNames.jwtAudience]: issuer.audience,
    [EnvNames.managedPrefix]: 'greco',
    AWS_ENDPOINT_URL_LAMBDA: emulator.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: `http://127.0.0.1:${refused.port}`,
  });
  vi.resetModules();
  const deployments = (await import('../../lambdas/deployments-api/index.ts')).handler;
  const hotPath = (await import('../../lambdas/hotpath-controller/index.ts')).handler;
  const invoke = await startInProcessInvoke({
    'functions-api': api.handlers.functions as LambdaHandler,
    'drafts-api': api.handlers.drafts as LambdaHandler,
    'audit-api': api.handlers.audit as LambdaHandler,
    'deployments-api': deployments as unknown as LambdaHandler,
    'hotpath-controller': hotPath as unknown as LambdaHandler,
  });
  const authorizer = { issuer: issuer.issuer, audience: [issuer.audience] };
  const management: RunningHttpApi = await startHttpApi({
    lambdaEndpoint: invoke.endpoint,
    routes: managementRoutes.map((route) => ({
      routeKey: `${route.method} ${route.path}`,
      functionName: route.handler,
      authorizer,
    })),
  });
  const functionUrl: RunningHttpApi = await startHttpApi({
    lambdaEndpoint: invoke.endpoint,
    routes: [{ routeKey: '$default', functionName: 'hotpath-controller' }],
  });

  return {
    issuer,
    api,
    managementUrl: management.url,
    hotPathUrl: functionUrl.url,
    lambdaEndpoint: emulator.endpoint,
    lambda,
    emulator,
    async createManagedFunction(workspace, name, reservedConcurrency = 5) {
      const functionName = `greco-${workspace}-${name}`;
      await createFunction(lambda, {
        functionName,
        tags: managedTags(workspace, name, reservedConcurrency),
        reservedConcurrency,
      });
      return functionName;
    },
    async lambdaState() {
      const names: string[] = [];
      for await (const page of paginateListFunctions({ client: lambda }, {})) {
        for (const fn of page.Functions ?? []) if (fn.FunctionName !== undefined) names.push(fn.FunctionName);
      }
      const lines = await Promise.all(
        names.map(async (name) => {
          const got = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
          return JSON.stringify({
            name,
            tags: Object.entries(got.Tags ?? {}).sort(),
            reserved: got.Concurrency?.ReservedConcurrentExecutions ?? null,
          });
        }),
      );
      return lines.sort();
    },
    lambdaMutations() {
      const operations = emulator.stats().operations as Record<string, number | undefined>;
      return mutatingOperations.reduce((sum, operation) => sum + (operations[operation] ?? 0), 0);
    },
    async close() {
      await Promise.allSettled([management.close(), functionUrl.close()]);
      await invoke.close();
      lambda.destroy();
      await emulator.close();
      await refused.release();
      await issuer.close();
      if (options.api === undefined) await api.close();
    },
  };
}

/** What a surface answered: status, headers, the body text and, when JSON, parsed. */
export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies freely
  readonly body: any;
}

/** Sends one request and reads the whole answer. */
export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<HttpAnswer> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, contentType, text, body };
}
