/**
 * The OpenAPI 3.1 documents of greco's two HTTP surfaces, generated, never written by hand:
 *
 * - the management API (`docs/openapi.json`, served at `GET /v1/openapi.json`): its paths,
 *   methods, roles and path-parameter rules walked from the route tables (`core/http/routes/*.ts`),
 *   its request bodies rendered from the schemas that validate them (core/spec.ts
 *   {@link specInputSchemas}, `z.toJSONSchema`);
 * - the hot-path controller (`docs/openapi-hotpath.json`): its routes from domain/hotpath-api.ts,
 *   the facts the hot path serves (core/ may not import hotpath/: the plane rules).
 *
 * Two documents, not one: the two surfaces are different servers (an HTTP API and a function
 * URL) that both serve `GET /v1/functions/{name}`, and an OpenAPI document holds one operation
 * per path and method. `npm run openapi` writes both; test/unit/openapi.test.ts fails when a
 * route or schema and a checked-in document disagree.
 *
 * @module
 */
import * as z from 'zod/mini';
import { HotPathRoutes, hotPathRole } from '../../domain/hotpath-api.ts';
import { lambdaFunctionNameMaxLength, modelFunctionNamePattern } from '../../domain/names.ts';
import { uploadZipMaxBytes } from '../artifacts.ts';
import { Limits, specInputSchemas } from '../spec.ts';
import { artifactsRoutes } from './routes/artifacts.ts';
import { auditPageMaxLimit, auditRoutes } from './routes/audit.ts';
import { deploymentsPageMaxLimit, deploymentsRoutes } from './routes/deployments.ts';
import { draftsRoutes } from './routes/drafts.ts';
import { functionsRoutes } from './routes/functions.ts';
import { openApiRoutes } from './routes/openapi.ts';
import type { Routes } from './types.ts';

/** A JSON Schema (2020-12, OpenAPI 3.1's dialect) or an OpenAPI object, as plain JSON. */
export type Json = { readonly [key: string]: unknown };

/** The version of the documents: the management API's `/v1`. */
export const apiVersion = '1.0.0';

/**
 * Every route of the management API: the route tables of all four handlers, built over inert
 * dependencies (documentation reads each route's key, role and parameter rules; no handler runs).
 */
export function managementRouteTables(): Routes {
  const deps = inertDependencies();
  return {
    ...functionsRoutes(deps),
    ...openApiRoutes(),
    ...draftsRoutes(deps),
    ...artifactsRoutes(deps),
    ...auditRoutes(deps),
    ...deploymentsRoutes(deps),
  };
}

/**
 * The management API's OpenAPI 3.1 document.
 *
 * @param routes - the route tables to describe. @default - {@link managementRouteTables}
 * @throws Error when a route has no documentation below, or documentation names no route (a
 *   programming error: the test that regenerates the document fails on it)
 */
export function managementApiDocument(routes: Routes = managementRouteTables()): Json {
  const documented = new Set(Object.keys(operations));
  const paths: Record<string, Record<string, Json>> = {};
  for (const [routeKey, route] of Object.entries(routes)) {
    const doc = operations[routeKey];
    if (doc === undefined)
      throw new Error(`route ${routeKey} has no OpenAPI documentation in core/http/openapi.ts`);
    documented.delete(routeKey);
    const [method = '', path = ''] = routeKey.split(' ');
    const parameters = [
      ...Object.entries(route.params ?? {}).map(([name, rule]) => ({
        name,
        in: 'path',
        required: true,
        description: rule.description,
        schema: { type: 'string', pattern: rule.pattern.source },
      })),
      ...(doc.parameters ?? []),
    ];
    paths[path] = {
      ...paths[path],
      [method.toLowerCase()]: {
        operationId: doc.operationId,
        summary: doc.summary,
        ...(doc.description === undefined ? {} : { description: doc.description }),
        'x-greco-role': route.role,
        ...(parameters.length === 0 ? {} : { parameters }),
        ...(doc.requestBody === undefined ? {} : { requestBody: doc.requestBody }),
        responses: { ...doc.responses, ...problemResponses(doc.errors) },
      },
    };
  }
  if (documented.size > 0) {
    throw new Error(`OpenAPI documentation names routes that do not exist: ${[...documented].join(', ')}`);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'greco management API',
      version: apiVersion,
      description:
        "The control plane of greco: live model, drafts, plans, deployments, audit. Every request carries a JWT (Cognito, or the configured OIDC issuer) whose claims give the workspace and roles; other workspaces' resources answer 404. `x-greco-role` names the least role an operation needs (viewer < editor < approver).",
    },
    servers: [{ url: '/', description: "the management API's endpoint (`ManagementApiUrl` output)" }],
    security: [{ bearerJwt: [] }],
    paths: sortedKeys(paths),
    components: { securitySchemes, schemas: managementSchemas() },
  };
}

/** The hot-path controller's OpenAPI 3.1 document (routes from domain/hotpath-api.ts). */
export function hotPathDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const [verb, route] of Object.entries(HotPathRoutes)) {
    paths[route.path] = {
      [route.method.toLowerCase()]: {
        operationId: `${verb}Function`,
        summary: route.summary,
        'x-greco-role': hotPathRole,
        parameters: [nameParameter],
        responses: {
          '200': jsonResponse('The function after the verb', ref('HotPathFunctionState')),
          ...problemResponses([404, 405]),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'greco hot-path controller',
      version: apiVersion,
      description:
        "Start, suspend and state of one function, in the token's workspace. Served by its own function URL in its own stack; it keeps serving while the control plane is down. Every request needs the operator role.",
    },
    servers: [{ url: '/', description: "the hot-path controller's function URL (`HotPathUrl` output)" }],
    security: [{ bearerJwt: [] }],
    paths: sortedKeys(paths),
    components: {
      securitySchemes,
      schemas: {
        Problem: problemSchema,
        FieldError: fieldErrorSchema,
        HotPathFunctionState: hotPathStateSchema,
      },
    },
  };
}

/** A document as checked in: two-space JSON and a final newline. */
export function renderDocument(document: Json): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// What the route tables do not say: summaries, queries, headers, bodies, answers.

interface OperationDoc {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly parameters?: readonly Json[];
  readonly requestBody?: Json;
  readonly responses: Readonly<Record<string, Json>>;
  /** Error statuses beyond 401/403 (and 400 when there is a body or parameter), problem+json. */
  readonly errors: readonly number[];
}

const pageQuery = (max: number, fallback?: number): Json[] => [
  {
    name: 'limit',
    in: 'query',
    required: false,
    description: `Largest page: 1 to ${max}${fallback === undefined ? ' (default: all)' : ` (default ${fallback})`}`,
    schema: {
      type: 'integer',
      minimum: 1,
      maximum: max,
      ...(fallback === undefined ? {} : { default: fallback }),
    },
  },
  {
    name: 'cursor',
    in: 'query',
    required: false,
    description: "The previous page's `nextCursor`",
    schema: { type: 'string' },
  },
];

const ifMatch = (required: boolean): Json => ({
  name: 'If-Match',
  in: 'header',
  required,
  description: 'The ETag read (`"<version>"`), or `*`: 412 when stale',
  schema: { type: 'string' },
});

const etagHeader = {
  ETag: { description: 'The draft\'s version, `"<version>"`', schema: { type: 'string' } },
};
const locationHeader = {
  Location: { description: 'Where the created resource is', schema: { type: 'string' } },
};

const operations: Readonly<Record<string, OperationDoc>> = {
  'GET /v1/openapi.json': {
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    responses: { '200': jsonResponse('The OpenAPI 3.1 document of the management API', { type: 'object' }) },
    errors: [],
  },
  'GET /v1/functions': {
    operationId: 'listLiveFunctions',
    summary: 'The live model: epoch 0 and no functions until a deployment commits',
    parameters: pageQuery(Limits.maxFunctionsPerWorkspace),
    responses: { '200': jsonResponse('A page of the live model', livePageSchema()) },
    errors: [400],
  },
  'GET /v1/functions/{name}': {
    operationId: 'getLiveFunction',
    summary: 'One function of the live model',
    responses: {
      '200': jsonResponse('The function and the live epoch', {
        type: 'object',
        properties: { epoch: { type: 'integer', minimum: 0 }, function: ref('FunctionSpec') },
        required: ['epoch', 'function'],
      }),
    },
    errors: [404],
  },
  'POST /v1/drafts': {
    operationId: 'createDraft',
    summary: 'Creates a draft: a copy of the live model, or the model in the body',
    requestBody: { required: false, content: { 'application/json': { schema: ref('ModelInput') } } },
    responses: {
      '201': jsonResponse('The draft created', ref('DraftSummary'), { ...locationHeader, ...etagHeader }),
    },
    errors: [413, 415, 503],
  },
  'GET /v1/drafts': {
    operationId: 'listDrafts',
    summary: "The workspace's drafts",
    responses: {
      '200': jsonResponse('Every draft, metadata only', {
        type: 'object',
        properties: { drafts: { type: 'array', items: ref('DraftSummary') } },
        required: ['drafts'],
      }),
    },
    errors: [],
  },
  'GET /v1/drafts/{id}': {
    operationId: 'getDraft',
    summary: 'A draft with a page of its functions',
    parameters: pageQuery(Limits.maxFunctionsPerWorkspace),
    responses: { '200': jsonResponse('The draft', ref('Draft'), etagHeader) },
    errors: [404],
  },
  'PUT /v1/drafts/{id}': {
    operationId: 'replaceDraft',
    summary: "Replaces a draft's whole model",
    parameters: [ifMatch(true)],
    requestBody: { required: true, content: { 'application/json': { schema: ref('ModelInput') } } },
    responses: { '200': jsonResponse('The draft after the change', ref('DraftSummary'), etagHeader) },
    errors: [404, 409, 412, 413, 415, 428, 503],
  },
  'DELETE /v1/drafts/{id}': {
    operationId: 'deleteDraft',
    summary: 'Discards a draft',
    parameters: [ifMatch(false)],
    responses: { '204': { description: 'Discarded' } },
    errors: [404, 409, 412],
  },
  'PUT /v1/drafts/{id}/functions/{name}': {
    operationId: 'putDraftFunction',
    summary: 'Creates or replaces one function of a draft',
    description:
      'Takes a function as GET answers it: `code.sizeBytes` and `code.s3Key` are read-only and accepted beside `code.sha256` when they agree with the stored zip (400 naming the field otherwise). `name` may be left out; when sent it must match the path.',
    parameters: [ifMatch(true)],
    requestBody: { required: true, content: { 'application/json': { schema: ref('FunctionPut') } } },
    responses: {
      '200': jsonResponse(
        'The draft, the function as stored, and whether it was created',
        {
          type: 'object',
          properties: {
            draft: ref('DraftSummary'),
            function: ref('FunctionSpec'),
            created: { type: 'boolean' },
          },
          required: ['draft', 'function', 'created'],
        },
        etagHeader,
      ),
    },
    errors: [404, 409, 412, 413, 415, 428, 503],
  },
  'DELETE /v1/drafts/{id}/functions/{name}': {
    operationId: 'deleteDraftFunction',
    summary: 'Removes one function from a draft',
    parameters: [ifMatch(true)],
    responses: { '200': jsonResponse('The draft after the change', ref('DraftSummary'), etagHeader) },
    errors: [404, 409, 412, 428],
  },
  'GET /v1/drafts/{id}/plan': {
    operationId: 'planDraft',
    summary: 'The change set between the live model and a draft, with field-level diffs',
    responses: { '200': jsonResponse('The plan', ref('Plan'), etagHeader) },
    errors: [404],
  },
  'POST /v1/drafts/{id}/rebase': {
    operationId: 'rebaseDraft',
    summary: 'Moves a draft onto the live epoch by a three-way merge',
    description:
      'Merges, function by function and field by field, the draft (ours) and the live model (theirs) from the model of the epoch the draft is based on. Field conflicts answer 409 `rebase-conflict` with `conflicts` (`{ function, field, base, draft, live }`) and change nothing. A draft already on the live epoch answers `rebased: false`.',
    parameters: [ifMatch(true)],
    responses: {
      '200': jsonResponse(
        'The draft on the live epoch',
        {
          type: 'object',
          properties: {
            draft: ref('DraftSummary'),
            rebased: { type: 'boolean' },
            fromEpoch: { type: 'integer' },
            liveEpoch: { type: 'integer' },
          },
          required: ['draft', 'rebased'],
        },
        etagHeader,
      ),
    },
    errors: [404, 409, 412, 428, 503],
  },
  'POST /v1/artifacts': {
    operationId: 'createArtifactUpload',
    summary: 'A presigned upload of a zip too large to send inline',
    description:
      'Answers 201 with a presigned `PUT` of the zip of this SHA-256 and size, or 200 without `upload` when the artifacts bucket holds it already. A function then refers to it as `{ "code": { "sha256": ... } }`.',
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
              sizeBytes: { type: 'integer', minimum: 1, maximum: uploadZipMaxBytes },
            },
            required: ['sha256', 'sizeBytes'],
            additionalProperties: false,
          },
        },
      },
    },
    responses: {
      '200': jsonResponse('The zip is stored already', ref('ArtifactUpload')),
      '201': jsonResponse('Upload the zip with `upload`', ref('ArtifactUpload')),
    },
    errors: [413, 415, 503],
  },
  'GET /v1/audit': {
    operationId: 'listAudit',
    summary: 'The audit log, newest first',
    parameters: pageQuery(auditPageMaxLimit, 50),
    responses: {
      '200': jsonResponse('A page of audit records', {
        type: 'object',
        properties: { records: { type: 'array', items: { type: 'object' } }, nextCursor: { type: 'string' } },
        required: ['records'],
      }),
    },
    errors: [400],
  },
  'POST /v1/drafts/{id}/deployments': {
    operationId: 'deployDraft',
    summary: 'Make it so: starts a two-phase-commit deployment of a draft',
    parameters: [
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'The same key again answers the same deployment',
        schema: { type: 'string' },
      },
      ifMatch(false),
    ],
    requestBody: {
      required: false,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            description:
              '`planHash`: the hash of the plan reviewed (`GET /v1/drafts/{id}/plan`); a plan that moved answers 412 `plan-changed`',
            properties: { planHash: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
            additionalProperties: false,
          },
        },
      },
    },
    responses: { '202': jsonResponse('The deployment, started', ref('Deployment'), locationHeader) },
    errors: [404, 409, 412, 503],
  },
  'GET /v1/deployments': {
    operationId: 'listDeployments',
    summary: "The workspace's deployments, newest first",
    parameters: pageQuery(deploymentsPageMaxLimit, 25),
    responses: {
      '200': jsonResponse('A page of deployments', {
        type: 'object',
        properties: {
          deployments: { type: 'array', items: ref('Deployment') },
          nextCursor: { type: 'string' },
        },
        required: ['deployments'],
      }),
    },
    errors: [400],
  },
  'GET /v1/deployments/{id}': {
    operationId: 'getDeployment',
    summary: 'One deployment with its per-function results',
    responses: { '200': jsonResponse('The deployment', ref('Deployment')) },
    errors: [404],
  },
};

// ---------------------------------------------------------------------------------------------
// Schemas.

const securitySchemes = {
  bearerJwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A JWT of the configured issuer (Cognito by default); its claims give the workspace and roles',
  },
};

const fieldErrorSchema: Json = {
  type: 'object',
  properties: {
    field: { type: 'string', description: 'A path such as `functions[3].memoryMiB`' },
    message: { type: 'string' },
  },
  required: ['field', 'message'],
};

/** RFC 9457 problem details with greco's extension members (domain/errors.ts `ProblemDetails`). */
const problemSchema: Json = {
  type: 'object',
  description: 'RFC 9457 problem details (`application/problem+json`)',
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: { type: 'array', items: ref('FieldError'), description: 'Every invalid field (400)' },
    requestId: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'detail'],
};

/** `HotPathFunctionState` (domain/concurrency/protocol.ts). */
const hotPathStateSchema: Json = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    functionName: { type: 'string', description: 'The Lambda function name, `<prefix>-<workspace>-<name>`' },
    state: { type: 'string', enum: ['running', 'suspended'] },
    reservedConcurrency: { type: ['integer', 'null'], description: 'What start restores; null: unreserved' },
    currentConcurrency: {
      type: ['integer', 'null'],
      description: 'What Lambda applies now; null: unreserved',
    },
  },
  required: ['name', 'functionName', 'state', 'reservedConcurrency', 'currentConcurrency'],
};

const nameParameter: Json = {
  name: 'name',
  in: 'path',
  required: true,
  description: `a function name: 1 to ${lambdaFunctionNameMaxLength} letters, digits, - or _`,
  schema: { type: 'string', pattern: modelFunctionNamePattern.source },
};

function managementSchemas(): Json {
  const { functionInput, modelInput } = specInputSchemas();
  const input = jsonSchemaOf(functionInput);
  const properties = (input.properties ?? {}) as Record<string, Json>;
  const functionPut: Json = {
    ...input,
    required: ((input.required ?? []) as string[]).filter((name) => name !== 'name'),
  };
  const model = jsonSchemaOf(modelInput);
  const { default: _default, ...codeInput } = properties.code ?? {};
  const stored: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(properties)) {
    const { default: _omitted, ...rest } = schema;
    stored[name] = name === 'code' ? ref('CodeRef') : rest;
  }
  return {
    Problem: problemSchema,
    FieldError: fieldErrorSchema,
    FunctionInput: { ...input, properties: { ...properties, code: codeInput } },
    FunctionPut: functionPut,
    ModelInput: {
      ...model,
      properties: {
        functions: {
          ...((model.properties as Record<string, Json>).functions ?? {}),
          items: ref('FunctionInput'),
        },
      },
    },
    CodeRef: {
      type: 'object',
      properties: {
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        sizeBytes: { type: 'integer', minimum: 0 },
        s3Key: { type: 'string', description: '`code/<sha256>.zip` in the artifacts bucket' },
      },
      required: ['sha256', 'sizeBytes', 's3Key'],
    },
    FunctionSpec: {
      type: 'object',
      description: 'A function as stored: every default applied. PUT takes it back unchanged.',
      properties: stored,
      required: Object.keys(stored).filter((name) => name !== 'reservedConcurrency'),
    },
    ArtifactUpload: {
      type: 'object',
      properties: {
        sha256: { type: 'string' },
        sizeBytes: { type: 'integer' },
        upload: {
          type: 'object',
          description: 'Absent when the zip is stored already',
          properties: {
            url: { type: 'string', format: 'uri' },
            method: { const: 'PUT' },
            headers: { type: 'object', additionalProperties: { type: 'string' } },
            expiresAt: { type: 'string', format: 'date-time' },
          },
          required: ['url', 'method', 'headers', 'expiresAt'],
        },
      },
      required: ['sha256', 'sizeBytes'],
    },
    DraftSummary: draftSummarySchema,
    Draft: {
      allOf: [
        ref('DraftSummary'),
        {
          type: 'object',
          properties: {
            functions: { type: 'array', items: ref('FunctionSpec') },
            nextCursor: { type: 'string' },
          },
          required: ['functions'],
        },
      ],
    },
    Plan: {
      type: 'object',
      properties: {
        draftId: { type: 'string' },
        draftVersion: { type: 'integer' },
        baseEpoch: { type: 'integer' },
        liveEpoch: { type: 'integer' },
        planHash: {
          type: 'string',
          pattern: '^[0-9a-f]{64}$',
          description: 'SHA-256 of the canonical JSON of `changes`',
        },
        changes: { type: 'array', items: { type: 'object' } },
        summary: {
          type: 'object',
          properties: Object.fromEntries(
            ['create', 'update', 'delete', 'unchanged'].map((key) => [key, { type: 'integer', minimum: 0 }]),
          ),
        },
      },
      required: ['draftId', 'draftVersion', 'liveEpoch', 'changes', 'summary', 'planHash'],
    },
    Deployment: {
      type: 'object',
      description:
        'A deployment record (docs/deployments.md); `functions` on `GET /v1/deployments/{id}` only',
      properties: {
        deploymentId: { type: 'string' },
        draftId: { type: 'string' },
        status: { type: 'string' },
        consoleUrl: { type: 'string' },
        functions: { type: 'array', items: { type: 'object' } },
      },
      required: ['deploymentId', 'draftId', 'status'],
    },
  };
}

const actorSchema: Json = { type: 'object', description: 'Who: the token subject' };

const draftSummarySchema: Json = {
  type: 'object',
  properties: {
    draftId: { type: 'string' },
    version: { type: 'integer', minimum: 1, description: 'The ETag is `"<version>"`' },
    state: { type: 'string' },
    deploymentId: { type: 'string' },
    baseEpoch: { type: 'integer', minimum: 0 },
    functionCount: { type: 'integer', minimum: 0 },
    createdAt: { type: 'string', format: 'date-time' },
    createdBy: actorSchema,
    updatedAt: { type: 'string', format: 'date-time' },
    updatedBy: actorSchema,
  },
  required: ['draftId', 'version', 'state', 'functionCount', 'createdAt', 'updatedAt'],
};

function livePageSchema(): Json {
  return {
    type: 'object',
    properties: {
      epoch: { type: 'integer', minimum: 0 },
      functions: { type: 'array', items: ref('FunctionSpec') },
      nextCursor: { type: 'string' },
    },
    required: ['epoch', 'functions'],
  };
}

/** A zod schema as JSON Schema 2020-12, request side (defaults shown, transforms' input). */
function jsonSchemaOf(schema: z.core.$ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' });
  return json;
}

function ref(name: string): Json {
  return { $ref: `#/components/schemas/${name}` };
}

function jsonResponse(description: string, schema: Json, headers?: Json): Json {
  return {
    description,
    ...(headers === undefined ? {} : { headers }),
    content: { 'application/json': { schema } },
  };
}

const statusTitles: Readonly<Record<number, string>> = {
  400: 'Invalid request: every bad field is listed in `errors`',
  401: 'No valid token',
  403: 'The token lacks the role',
  404: 'No such resource in this workspace',
  405: 'Method not allowed',
  409: 'Conflict with the resource state',
  412: '`If-Match` is stale',
  413: 'Body too large',
  415: 'Body is not JSON',
  428: '`If-Match` is required',
  503: 'Unavailable: retry after `Retry-After`',
};

function problemResponses(errors: readonly number[]): Record<string, Json> {
  const statuses = [...new Set([400, 401, 403, ...errors])].sort((a, b) => a - b);
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: statusTitles[status] ?? 'Error',
        content: { 'application/problem+json': { schema: ref('Problem') } },
      },
    ]),
  );
}

function sortedKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Dependencies that are never called: any property is itself, any call throws. The route
 * factories keep them for their handlers; documentation only reads keys, roles and rules.
 */
function inertDependencies(): never {
  const inert: object = new Proxy(() => undefined, {
    get: (_target, key) => (key === 'then' ? undefined : inert),
    apply() {
      throw new Error('route tables built for documentation do not serve requests');
    },
  });
  return inert as never;
}
