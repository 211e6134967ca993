/**
 * A seeded fuzz of greco's two HTTP surfaces (security issue 10, "How it is shown"): the
 * management API through the local HTTP API and its JWT authorizer, and the hot path through its
 * local function URL (test/support/security-rig.ts), both on loopback. Random methods, paths
 * (long, unicode, `..`, `%00`), headers, bodies (malformed JSON, huge, deeply nested) and tokens
 * (forged, `alg: none`, expired, issued in the future, another workspace, role games), sent one at
 * a time. For every answer:
 * - the status is 2xx or 4xx; a 5xx only for the injected outage (the deployments handler's Step
 *   Functions endpoint refuses connections, so starting a deployment answers 503);
 * - a 4xx from greco is `application/problem+json` whose `status` is the answer's; API Gateway's
 *   own answers (401 from the authorizer, 404 without a route, 413 over 10 MB) are
 *   `{"message": ...}` JSON, which an HTTP API cannot change;
 * - after a 4xx, the config table, the artifacts bucket and the Lambda emulator's functions (tags,
 *   reserved concurrency, and its count of mutating calls) are exactly as before.
 * The same seed sends the same requests; set GRECO_FUZZ_SEED to replay another run.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Roles } from '../../domain/roles.ts';
import { managementRoutes } from '../../lib/constructs/management-api.ts';
import { functionInput } from '../../support/fixtures.ts';
import { roleClaimCases } from '../support/role-claims.ts';
import { type SecurityRig, startSecurityRig } from '../support/security-rig.ts';

/** The seed of the run: fixed, unless GRECO_FUZZ_SEED replays another. */
const seed = Number(process.env.GRECO_FUZZ_SEED ?? 0x5eed_2026);
/** Requests sent, at most, and the time they may take, in milliseconds. */
const maxRequests = 300;
const budgetMs = 25_000;

/** mulberry32: a small, fast, seeded 32-bit PRNG (uniform in [0, 1)). */
function prng(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const workspace = 'fuzz';
const otherWorkspace = 'other';
let rig: SecurityRig;
let draftId = '';

beforeAll(async () => {
  rig = await startSecurityRig();
  await rig.createManagedFunction(workspace, 'resize', 5);
  await rig.createManagedFunction(workspace, 'idle', 2);
  await rig.createManagedFunction(otherWorkspace, 'thumb', 3);
  // A draft of the fuzzed workspace, made through the API as a client would.
  const token = await rig.issuer.token({ 'custom:workspace': workspace, 'cognito:groups': ['editor'] });
  const created = await fetch(`${rig.managementUrl}/v1/drafts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ functions: [functionInput('alpha')] }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  draftId = ((await created.json()) as { draftId: string }).draftId;
});

afterAll(async () => {
  await rig?.close();
});

/** Bodies no write route may take: malformed, hostile, huge or deeply nested JSON. */
const hostileBodies: readonly { readonly what: string; readonly text: string }[] = [
  { what: 'an empty object', text: '{}' },
  { what: 'an array', text: '[]' },
  { what: 'null', text: 'null' },
  { what: 'a string', text: '"text"' },
  { what: 'a number', text: '42' },
  { what: 'a cut object', text: '{' },
  { what: 'a cut member', text: '{"functions":' },
  { what: 'a cut array', text: '{"functions":[' },
  { what: 'a NUL', text: '\u0000' },
  {
    what: 'a handler with a NUL',
    text: JSON.stringify(functionInput('alpha', { handler: 'index.handler\u0000' })),
  },
  {
    what: 'another workspace in the body',
    text: JSON.stringify(functionInput('alpha', { workspace: otherWorkspace })),
  },
  {
    what: 'a zip that is only a header',
    text: JSON.stringify(functionInput('alpha', { code: { zipBase64: 'UEsDBA==' } })),
  },
  {
    what: 'code by an unknown sha256',
    text: JSON.stringify(functionInput('alpha', { code: { sha256: 'a'.repeat(64) } })),
  },
  {
    what: 'a duplicate member',
    text: `{"functions":[],"functions":[${JSON.stringify(functionInput('alpha'))}]}`,
  },
  {
    what: 'a duplicate member inside a function',
    text: JSON.stringify({ functions: [functionInput('alpha')] }).replace(
      '"name":"alpha"',
      '"name":"alpha","name":"beta"',
    ),
  },
  { what: 'a __proto__ member', text: '{"__proto__":{"polluted":true},"functions":[]}' },
  {
    what: 'a constructor.prototype member',
    text: '{"constructor":{"prototype":{"polluted":true}},"functions":[]}',
  },
  { what: 'arrays nested 20,000 deep', text: `${'['.repeat(20_000)}${']'.repeat(20_000)}` },
  { what: 'functions nested 20,000 deep', text: `{"functions":${'['.repeat(20_000)}${']'.repeat(20_000)}}` },
  { what: 'objects nested 20,000 deep', text: `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}` },
  {
    what: 'a spec nested 20,000 deep',
    text: JSON.stringify(functionInput('alpha')).replace(
      '"index.handler"',
      `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
    ),
  },
  {
    what: '500 tags',
    text: JSON.stringify(
      functionInput('alpha', {
        tags: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'])),
      }),
    ),
  },
  { what: 'a 3 MB string', text: `"${'a'.repeat(3 * 1024 * 1024)}"` },
  {
    what: '5,001 functions',
    text: JSON.stringify({ functions: Array.from({ length: 5001 }, (_, i) => ({ name: `f${i}` })) }),
  },
];

/** The kinds of token the fuzz sends besides valid ones. */
const tokenKinds = [
  'none',
  'valid',
  'foreign-key',
  'alg-none',
  'hs256',
  'expired',
  'future-iat',
  'no-exp',
  'nbf-future',
  'other-workspace',
  'bad-workspace',
  'role-game',
  'garbage',
  'lowercase-bearer',
  'two-tokens',
  'huge',
  'wrong-audience',
  'wrong-issuer',
  'payload-swap',
] as const;
type TokenKind = (typeof tokenKinds)[number];

/** Role claims that grant nothing (test/support/role-claims.ts). */
const refusedRoleClaims = roleClaimCases.filter((c) => c.roles.length === 0);

/** One fuzzed request. */
interface FuzzRequest {
  readonly surface: 'management' | 'hotpath';
  readonly method: string;
  /** Raw request target, sent as is (only characters HTTP/1.1 allows). */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  /** Why a 503 is expected: the deployments route with a token that may deploy. */
  readonly mayHitOutage: boolean;
}

/** What came back. */
interface RawAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  /** Whether the HTTP API emulator wrote the answer (it sets `apigw-requestid` on every one). */
  readonly fromApiGateway: boolean;
}

/** Sends `request` with node:http, so that the path is not normalised (`..` stays). */
function sendRaw(base: string, request: FuzzRequest): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        // A connection per request: a reset is then the server's answer, never a stale keep-alive.
        agent: false,
        method: request.method,
        path: request.path,
        headers: {
          ...request.headers,
          ...(request.body === undefined ? {} : { 'content-length': String(request.body.byteLength) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
            fromApiGateway: res.headers['apigw-requestid'] !== undefined,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/** Draws values for one run. */
class Fuzzer {
  readonly #random: () => number;
  constructor(random: () => number) {
    this.#random = random;
  }

  chance(p: number): boolean {
    return this.#random() < p;
  }

  int(max: number): number {
    return Math.floor(this.#random() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** A path segment: valid, hostile or odd, already fit for a request target. */
  segment(kind: 'name' | 'draft' | 'deployment'): string {
    const valid =
      kind === 'name'
        ? this.pick(['alpha', 'live-fn', 'resize', 'idle', 'thumb', 'missing'])
        : kind === 'draft'
          ? this.pick([draftId, draftId, 'no-such-draft'])
          : this.pick(['dep-aaaaaaaaaaaaaaaaaaaaaaaaaa', 'dep-234567234567234567234567ab']);
    if (this.chance(0.45)) return valid;
    return this.pick([
      'a'.repeat(1 + this.int(2048)),
      '..',
      '.',
      '%2e%2e',
      '%00',
      'x%00y',
      '%2F',
      '..%2F..%2Fetc%2Fpasswd',
      '%',
      '%zz',
      encodeURIComponent('résumé'),
      encodeURIComponent('函数'),
      encodeURIComponent('🙂'),
      'a%20b',
      'a+b',
      'WS%23acme',
      'DRAFT%23x',
      '%C0%AE%C0%AE',
      `${valid};x=1`,
      `${valid}%0d%0aX-Injected:1`,
      encodeURIComponent(`greco-${otherWorkspace}-thumb`),
      '-',
      '_',
      '0',
    ]);
  }

  /** A path for `surface`: a real route's shape with fuzzed segments, or something else entirely. */
  path(surface: FuzzRequest['surface']): string {
    let path: string;
    if (surface === 'hotpath') {
      path = this.pick([
        `/v1/functions/${this.segment('name')}`,
        `/v1/functions/${this.segment('name')}/suspend`,
        `/v1/functions/${this.segment('name')}/start`,
        `/v1/functions/${this.segment('name')}/${this.pick(['stop', 'state', '', '..'])}`,
        '/',
        '/v1/functions',
        `/v1/functions/${this.segment('name')}/suspend/extra`,
        `/${'x'.repeat(this.int(4000))}`,
      ]);
    } else {
      path = this.pick([
        '/v1/functions',
        `/v1/functions/${this.segment('name')}`,
        '/v1/drafts',
        `/v1/drafts/${this.segment('draft')}`,
        `/v1/drafts/${this.segment('draft')}/functions/${this.segment('name')}`,
        `/v1/drafts/${this.segment('draft')}/plan`,
        `/v1/drafts/${this.segment('draft')}/deployments`,
        '/v1/deployments',
        `/v1/deployments/${this.segment('deployment')}`,
        '/v1/audit',
        '/',
        '/v2/drafts',
        '/v1/drafts/../functions',
        '/v1//drafts',
        `/v1/${'x'.repeat(this.int(4000))}`,
      ]);
    }
    if (this.chance(0.25)) {
      path += `?${this.pick([
        'limit=1',
        'limit=0',
        'limit=-1',
        'limit=99999999999999999999',
        'limit=1e3',
        'limit=%00',
        'cursor=%00',
        `cursor=${'z'.repeat(this.int(3000))}`,
        'cursor=eyJ2IjoxfQ',
        'limit=1&limit=2',
        'a=%zz',
      ])}`;
    }
    return path;
  }

  /** A body: none, valid, malformed, huge or deeply nested. */
  body(): Buffer | undefined {
    if (this.chance(0.3)) return undefined;
    if (this.chance(0.25)) {
      const name = this.pick(['alpha', 'beta', 'gamma']);
      const valid = this.chance(0.5) ? functionInput(name) : { functions: [functionInput(name)] };
      return Buffer.from(JSON.stringify(valid), 'utf8');
    }
    const text = this.chance(0.5)
      ? this.pick(hostileBodies).text
      : this.pick([
          JSON.stringify({
            functions: [functionInput('beta', { memoryMiB: this.pick([0, -1, 1e9, 'x', 128.5]) })],
          }),
          JSON.stringify(
            functionInput('alpha', { reservedConcurrency: this.pick([10_000_000, 2 ** 53 - 1, -1, 1.5]) }),
          ),
          `${'['.repeat(1000 + this.int(20_000))}`,
          `"${'a'.repeat(1024 * 1024 * (1 + this.int(3)))}"`,
        ]);
    return Buffer.from(text, 'utf8');
  }

  /** An authorization header value (or none), with the token's kind. */
  /**
   * An authorization header value (or none) and whether it may deploy: a valid token more often
   * than not, else one of {@link tokenKinds}; `kind` forces one.
   */
  async authorization(kind?: TokenKind): Promise<{ header?: string; mayDeploy: boolean }> {
    const now = Math.floor(Date.now() / 1000);
    const { issuer } = rig;
    // Every role more often than not, so that requests get past the role checks into the handlers.
    const roles = kind !== undefined || this.chance(0.6) ? [...Roles] : Roles.filter(() => this.chance(0.5));
    const base = { 'custom:workspace': workspace, 'cognito:groups': roles };
    if (kind === undefined && this.chance(0.4)) {
      return { header: `Bearer ${await issuer.token(base)}`, mayDeploy: roles.includes('approver') };
    }
    const bearer = (token: string) => ({ header: `Bearer ${token}`, mayDeploy: false });
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const chosen = kind ?? this.pick(tokenKinds);
    switch (chosen) {
      case 'none':
        return { mayDeploy: false };
      case 'valid':
      case 'lowercase-bearer': {
        const token = await issuer.token(base);
        return {
          header: `${chosen === 'valid' ? 'Bearer' : 'bearer'} ${token}`,
          mayDeploy: roles.includes('approver'),
        };
      }
      case 'foreign-key':
        return bearer(
          await issuer.signWithForeignKey({
            iss: issuer.issuer,
            aud: issuer.audience,
            sub: 'x',
            exp: now + 60,
            ...base,
            'cognito:groups': ['approver', 'operator'],
          }),
        );
      case 'alg-none':
        return bearer(
          `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: issuer.issuer, aud: issuer.audience, sub: 'x', exp: now + 60, ...base, 'cognito:groups': ['approver', 'operator'] })}.`,
        );
      case 'hs256':
        return bearer(
          `${part({ alg: 'HS256', kid: 'security-rig' })}.${part({ iss: issuer.issuer, aud: issuer.audience, sub: 'x', exp: now + 60, ...base })}.${'A'.repeat(43)}`,
        );
      case 'expired':
        return bearer(await issuer.token({ ...base, iat: now - 7200, exp: now - 60 }));
      case 'future-iat':
        return bearer(await issuer.token({ ...base, iat: now + 60 + this.int(3600) }));
      case 'no-exp':
        return bearer(await issuer.token({ ...base, exp: undefined }));
      case 'nbf-future':
        return bearer(await issuer.token({ ...base, nbf: now + 60 }));
      case 'other-workspace': {
        const token = await issuer.token({ ...base, 'custom:workspace': otherWorkspace });
        return { header: `Bearer ${token}`, mayDeploy: roles.includes('approver') };
      }
      case 'bad-workspace':
        return bearer(
          await issuer.token({
            ...base,
            'custom:workspace': this.pick(['FUZZ', 'fuzz#1', '', 42, ['fuzz'], 'a'.repeat(100)]),
          }),
        );
      case 'role-game':
        return bearer(await issuer.token({ ...base, 'cognito:groups': this.pick(refusedRoleClaims).claim }));
      case 'garbage':
        return {
          header: this.pick([
            'Bearer',
            'Bearer ',
            'Bearer a.b.c',
            'Basic dXNlcjpwYXNz',
            'Bearer ..',
            'x'.repeat(5000),
          ]),
          mayDeploy: false,
        };
      case 'two-tokens': {
        const token = await issuer.token(base);
        return { header: `Bearer ${token}, Bearer ${token}`, mayDeploy: false };
      }
      case 'huge':
        // Up to about 9 KB of token: mostly under API Gateway's 10 KB quota on the request line
        // and headers, so that it reaches the authorizer and the handlers; with other long headers
        // it may pass the quota, and API Gateway answers 431 itself.
        return bearer(await issuer.token({ ...base, padding: 'p'.repeat(3000 + this.int(3500)) }));
      case 'wrong-audience':
        return bearer(await issuer.token({ ...base, aud: 'someone-else' }));
      case 'wrong-issuer':
        return bearer(await issuer.token({ ...base, iss: 'https://evil.example.com' }));
      case 'payload-swap': {
        // A viewer's real signature over an approver's payload.
        const [header, , signature] = (await issuer.token({ ...base, 'cognito:groups': ['viewer'] })).split(
          '.',
        );
        const payload = part({
          iss: issuer.issuer,
          aud: issuer.audience,
          sub: 'user-1',
          exp: now + 60,
          ...base,
          'cognito:groups': ['approver', 'operator'],
        });
        return { header: `Bearer ${header}.${payload}.${signature}`, mayDeploy: false };
      }
    }
  }

  /** Random extra headers. */
  headers(): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.chance(0.5)) {
      headers['content-type'] = this.pick([
        'application/json',
        'application/json; charset=utf-8',
        'application/json; charset=latin1',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/problem+json',
        'APPLICATION/JSON',
      ]);
    }
    if (this.chance(0.4))
      headers['if-match'] = this.pick([
        '*',
        '"1"',
        '"2", "1"',
        'W/"1"',
        '"x"',
        '"99999999999999999999"',
        `"${'9'.repeat(500)}"`,
        '',
      ]);
    if (this.chance(0.2))
      headers['idempotency-key'] = this.pick(['k1', '', ' ', 'k'.repeat(300), 'ä'.repeat(4)]);
    if (this.chance(0.1)) headers['content-encoding'] = this.pick(['gzip', 'br', 'identity']);
    if (this.chance(0.1)) headers['x-forwarded-for'] = '127.0.0.1, 10.0.0.1';
    if (this.chance(0.05)) headers['x-big'] = 'b'.repeat(4000);
    if (this.chance(0.03)) headers['x-huge'] = 'h'.repeat(this.pick([10_300, 20_000, 70_000]));
    return headers;
  }

  /** A route that exists, with fuzzed parameters: its method and path. */
  route(surface: FuzzRequest['surface']): { method: string; path: string } {
    const routes =
      surface === 'hotpath'
        ? [
            { method: 'GET', path: '/v1/functions/{name}' },
            { method: 'POST', path: '/v1/functions/{name}/suspend' },
            { method: 'POST', path: '/v1/functions/{name}/start' },
          ]
        : managementRoutes.map(({ method, path }) => ({ method: String(method), path }));
    const { method, path } = this.pick(routes);
    const filled = path
      .replace('{name}', () => this.segment('name'))
      .replace('{id}', () => this.segment(path.startsWith('/v1/deployments') ? 'deployment' : 'draft'));
    return { method, path: filled };
  }

  async request(): Promise<FuzzRequest> {
    const surface = this.chance(0.7) ? 'management' : 'hotpath';
    const { method, path } = this.chance(0.65)
      ? this.route(surface)
      : {
          method: this.pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']),
          path: this.path(surface),
        };
    const auth = await this.authorization();
    const headers = this.headers();
    if (auth.header !== undefined) headers.authorization = auth.header;
    const body = method === 'GET' || method === 'HEAD' ? undefined : this.body();
    const deploying =
      surface === 'management' && method === 'POST' && /^\/v1\/drafts\/[^/]+\/deployments(\?|$)/.test(path);
    return {
      surface,
      method,
      path,
      headers,
      ...(body === undefined ? {} : { body }),
      mayHitOutage: deploying && auth.mayDeploy,
    };
  }
}

/** The state a refused request must leave as it found it. */
async function stateSnapshot(): Promise<string> {
  const [table, artifacts, functions] = await Promise.all([
    rig.api.scanTable(),
    rig.api.listArtifacts(),
    rig.lambdaState(),
  ]);
  return JSON.stringify({ table, artifacts, functions, lambdaMutations: rig.lambdaMutations() });
}

/** Statuses API Gateway answers itself, with `{"message": ...}`, and never a handler. */
const apiGatewayStatuses = new Set([401, 403, 404, 413, 431]);

/** What is wrong with an answer, if anything. */
function violation(request: FuzzRequest, answer: RawAnswer): string | undefined {
  const { status } = answer;
  if (status >= 500) {
    const outage =
      request.mayHitOutage && status === 503 && answer.contentType === 'application/problem+json';
    return outage ? undefined : `answered ${status}: ${answer.text.slice(0, 200)}`;
  }
  if (status < 200 || (status >= 300 && status < 400))
    return `answered ${status} ${answer.text.slice(0, 200)}`;
  if (status < 400) return undefined;
  if (!answer.fromApiGateway) {
    return `answered ${status} from outside API Gateway`;
  }
  if (answer.contentType === 'application/problem+json') {
    if (request.method === 'HEAD') return undefined;
    const problem = JSON.parse(answer.text) as { status?: unknown; type?: unknown; title?: unknown };
    if (problem.status !== status || typeof problem.type !== 'string' || typeof problem.title !== 'string') {
      return `answered ${status} with a malformed problem: ${answer.text.slice(0, 200)}`;
    }
    return undefined;
  }
  if (apiGatewayStatuses.has(status) && answer.contentType.startsWith('application/json')) {
    if (request.method === 'HEAD') return undefined;
    const body = JSON.parse(answer.text) as Record<string, unknown>;
    const own = Object.keys(body).length === 1 && typeof body.message === 'string';
    return own
      ? undefined
      : `answered ${status} neither problem+json nor API Gateway's own: ${answer.text.slice(0, 200)}`;
  }
  return `answered ${status} with ${answer.contentType || 'no content type'}: ${answer.text.slice(0, 200)}`;
}

/** Sends `request`, checks the answer, and checks that a refusal changed nothing; returns the answer. */
async function probe(request: FuzzRequest): Promise<RawAnswer> {
  const before = await stateSnapshot();
  const answer = await sendRaw(
    request.surface === 'management' ? rig.managementUrl : rig.hotPathUrl,
    request,
  );
  expect(violation(request, answer)).toBeUndefined();
  if (answer.status >= 400 && answer.status < 500) expect(await stateSnapshot()).toBe(before);
  return answer;
}

/** Headers of a valid request of the fuzzed workspace with every role. */
async function everyRoleHeaders(): Promise<Record<string, string>> {
  const token = await rig.issuer.token({ 'custom:workspace': workspace, 'cognito:groups': [...Roles] });
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-match': '*' };
}

describe('hostile bodies on every write route', () => {
  const writeRoutes = [
    { method: 'POST', route: '/v1/drafts', path: () => '/v1/drafts' },
    { method: 'PUT', route: '/v1/drafts/{id}', path: () => `/v1/drafts/${draftId}` },
    {
      method: 'PUT',
      route: '/v1/drafts/{id}/functions/{name}',
      path: () => `/v1/drafts/${draftId}/functions/alpha`,
    },
  ];
  const cases = hostileBodies.flatMap((body) => writeRoutes.map((route) => ({ ...body, ...route })));

  it.each(cases)(
    'answers $what on $method $route below 500, in problem+json when refusing',
    async ({ method, path, text }) => {
      // Act and assess
      await probe({
        surface: 'management',
        method,
        path: path(),
        headers: await everyRoleHeaders(),
        body: Buffer.from(text, 'utf8'),
        mayHitOutage: false,
      });
    },
  );
});

describe('bodies that a proxy and greco could read differently', () => {
  const spec = JSON.stringify(functionInput('alpha'));
  it.each<{ what: string; headers: Record<string, string>; text: string; status: number; field: string }>([
    {
      what: 'a duplicate member',
      headers: {},
      text: `{"functions":[],"functions":[${spec}]}`,
      status: 400,
      field: 'body',
    },
    {
      what: 'a duplicate name inside a function',
      headers: {},
      text: `{"functions":[${spec.replace('"name":"alpha"', '"name":"alpha","name":"beta"')}]}`,
      status: 400,
      field: 'body',
    },
    {
      what: 'an environment value with an unpaired surrogate',
      headers: {},
      text: JSON.stringify({ functions: [functionInput('alpha', { environment: { AB: 'X' } })] }).replace(
        '"X"',
        '"\\ud800"',
      ),
      status: 400,
      field: 'body',
    },
    {
      what: 'a gzip content-encoding',
      headers: { 'content-encoding': 'gzip' },
      text: JSON.stringify({ functions: [functionInput('alpha')] }),
      status: 415,
      field: 'headers.content-encoding',
    },
  ])(
    'refuses $what with $status naming $field and writes nothing',
    async ({ headers, text, status, field }) => {
      // Act
      const answer = await probe({
        surface: 'management',
        method: 'POST',
        path: '/v1/drafts',
        headers: { ...(await everyRoleHeaders()), ...headers },
        body: Buffer.from(text, 'utf8'),
        mayHitOutage: false,
      });

      // Assess (probe also asserts that the stores are as before)
      expect(answer.status).toBe(status);
      expect(answer.contentType).toBe('application/problem+json');
      expect((JSON.parse(answer.text) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(
        [field],
      );
    },
  );
});

describe('cursors of another list', () => {
  it('refuses a cursor of one draft on another draft at the same version with 400', async () => {
    // Prepare: two drafts of the workspace, both at version 1, with two functions each
    const headers = await everyRoleHeaders();
    const body = JSON.stringify({ functions: [functionInput('one'), functionInput('two')] });
    const drafts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const created = await fetch(`${rig.managementUrl}/v1/drafts`, { method: 'POST', headers, body });
      expect(created.status).toBe(201);
      drafts.push(((await created.json()) as { draftId: string }).draftId);
    }
    const first = await fetch(`${rig.managementUrl}/v1/drafts/${drafts[0]}?limit=1`, { headers });
    const { nextCursor } = (await first.json()) as { nextCursor: string };

    // Act
    const answer = await probe({
      surface: 'management',
      method: 'GET',
      path: `/v1/drafts/${drafts[1]}?limit=1&cursor=${nextCursor}`,
      headers,
      mayHitOutage: false,
    });

    // Assess
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({ errors: [{ field: 'cursor' }] });
  });
});

describe('hostile tokens on both surfaces', () => {
  const refusals: { kind: TokenKind; status: number }[] = [
    { kind: 'none', status: 401 },
    { kind: 'foreign-key', status: 401 },
    { kind: 'alg-none', status: 401 },
    { kind: 'hs256', status: 401 },
    { kind: 'expired', status: 401 },
    { kind: 'future-iat', status: 401 },
    { kind: 'no-exp', status: 401 },
    { kind: 'nbf-future', status: 401 },
    { kind: 'bad-workspace', status: 403 },
    { kind: 'role-game', status: 403 },
    { kind: 'garbage', status: 401 },
    { kind: 'two-tokens', status: 401 },
    { kind: 'wrong-audience', status: 401 },
    { kind: 'wrong-issuer', status: 401 },
    { kind: 'payload-swap', status: 401 },
  ];
  const cases = refusals.flatMap((refusal) =>
    [
      { surface: 'management' as const, method: 'POST', path: '/v1/drafts' },
      { surface: 'hotpath' as const, method: 'POST', path: '/v1/functions/resize/suspend' },
    ].map((target) => ({ ...refusal, ...target })),
  );

  it.each(cases)(
    'refuses a $kind token on $surface $method $path with $status and changes nothing',
    async ({ kind, status, surface, method, path }) => {
      // Prepare
      const fuzzer = new Fuzzer(prng(seed));
      const { header } = await fuzzer.authorization(kind);
      // Act
      const answer = await probe({
        surface,
        method,
        path,
        headers: header === undefined ? {} : { authorization: header },
        mayHitOutage: false,
      });
      // Assess
      expect(answer.status, answer.text).toBe(status);
    },
  );
});

describe('a seeded fuzz of both surfaces', () => {
  it(`answers every request 2xx/4xx, refuses in problem+json, and changes nothing when refusing (seed ${seed})`, async () => {
    // Prepare
    const fuzzer = new Fuzzer(prng(seed));
    const deadline = Date.now() + budgetMs;
    const violations: string[] = [];
    const statuses = new Map<number, number>();
    let before = await stateSnapshot();
    let sent = 0;

    // Act and assess, one request at a time so that each change has one cause.
    while (sent < maxRequests && Date.now() < deadline) {
      const request = await fuzzer.request();
      const base = request.surface === 'management' ? rig.managementUrl : rig.hotPathUrl;
      let answer: RawAnswer;
      try {
        answer = await sendRaw(base, request);
      } catch (error) {
        answer = { status: 0, contentType: '', text: String(error), fromApiGateway: false };
      }
      sent += 1;
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const where = `#${sent} ${request.surface} ${request.method} ${request.path.slice(0, 120)} (headers ${Object.entries(
        request.headers,
      )
        .map(([name, value]) => `${name}: ${value.length > 40 ? `${value.length} chars` : value}`)
        .join('; ')}; body ${request.body?.byteLength ?? 'none'})`;
      const wrong = violation(request, answer);
      if (wrong !== undefined) violations.push(`${where}: ${wrong}`);
      const after = await stateSnapshot();
      if (answer.status >= 400 && answer.status < 500 && after !== before) {
        violations.push(`${where}: answered ${answer.status} but changed the state`);
      }
      before = after;
    }

    // Assess the run as a whole: enough requests, and both refusals and successes seen.
    console.info(
      `security fuzz, seed ${seed}: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    expect(violations).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(100);
    const count = (predicate: (status: number) => boolean) =>
      [...statuses].filter(([status]) => predicate(status)).reduce((sum, [, n]) => sum + n, 0);
    expect(count((s) => s >= 200 && s < 300)).toBeGreaterThan(0);
    expect(count((s) => s >= 400 && s < 500)).toBeGreaterThan(sent / 2);
  }, 90_000);
});
