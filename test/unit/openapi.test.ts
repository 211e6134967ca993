import { readFile } from 'node:fs/promises';
import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { apiHandler } from '../../core/http/api-handler.ts';
import {
  hotPathDocument,
  type Json,
  managementApiDocument,
  managementRouteTables,
} from '../../core/http/openapi.ts';
import { openApiRoutes } from '../../core/http/routes/openapi.ts';
import type { HttpEvent } from '../../core/http/types.ts';
import { Limits } from '../../core/spec.ts';
import { HotPathRoutes } from '../../domain/hotpath-api.ts';
import { managementRoutes } from '../../lib/constructs/management-api.ts';
import { generatedClientFiles, generatedOpenApiFiles, repositoryPath } from '../../support/openapi.ts';
import { httpApiEvent, lambdaContext } from '../support/http-api-event.ts';

/** `METHOD /path` of every operation of a document. */
function operationKeys(document: Json): string[] {
  const paths = document.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

function schemas(document: Json): Record<string, Json> {
  return (document.components as { schemas: Record<string, Json> }).schemas;
}

describe('the checked-in OpenAPI documents', () => {
  it.each(generatedOpenApiFiles().map((file) => [file.path, file.text]))(
    'fails when %s and the routes or schemas disagree (run npm run openapi)',
    async (path, generated) => {
      // Act
      const checkedIn = JSON.parse(await readFile(repositoryPath(path), 'utf8'));

      // Assess
      expect(checkedIn, `${path} is stale: run npm run openapi`).toEqual(JSON.parse(generated));
    },
  );

  it('fails when the openapi-typescript client types and the management API document disagree (run npm run openapi)', async () => {
    // Prepare
    const generated = await generatedClientFiles();

    for (const file of generated) {
      // Act
      const checkedIn = await readFile(repositoryPath(file.path), 'utf8');

      // Assess
      expect(checkedIn, `${file.path} is stale: run npm run openapi`).toBe(file.text);
    }
    expect(generated.map((file) => file.path)).toEqual(['support/generated/management-api.d.ts']);
  });

  it.each([
    ['docs/openapi.json', managementApiDocument],
    ['docs/openapi-hotpath.json', hotPathDocument],
  ])('%s is a valid OpenAPI 3.1 document (@readme/openapi-parser)', async (_path, generate) => {
    // Act
    const result = await validate(structuredClone(generate()) as never);

    // Assess
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.specification).toBe('OpenAPI');
  });
});

describe('the management API document', () => {
  it('describes exactly the routes API Gateway routes', () => {
    // Prepare
    const routed = managementRoutes.map((route) => `${route.method} ${route.path}`).sort();

    // Act
    const documented = operationKeys(managementApiDocument());

    // Assess
    expect(documented).toEqual(routed);
    expect(documented).toEqual(Object.keys(managementRouteTables()).sort());
  });

  it('names the role and the path-parameter rule of every route', () => {
    // Prepare
    const routes = managementRouteTables();
    const paths = managementApiDocument().paths as Record<string, Record<string, Json>>;

    for (const [routeKey, route] of Object.entries(routes)) {
      const [method = '', path = ''] = routeKey.split(' ');
      // Act
      const operation = paths[path]?.[method.toLowerCase()];

      // Assess
      expect(operation?.['x-greco-role'], routeKey).toBe(route.role);
      const pathParams = ((operation?.parameters ?? []) as Json[]).filter((p) => p.in === 'path');
      expect(
        pathParams.map((p) => [p.name, (p.schema as Json).pattern]),
        routeKey,
      ).toEqual(Object.entries(route.params ?? {}).map(([name, rule]) => [name, rule.pattern.source]));
    }
  });

  it('renders function bodies from the schema that validates them', () => {
    // Act
    const { FunctionInput = {}, FunctionPut = {}, FunctionSpec = {} } = schemas(managementApiDocument());

    // Assess
    const properties = FunctionInput.properties as Record<string, Json>;
    expect(properties.memoryMiB).toEqual({
      default: Limits.memoryMiBDefault,
      type: 'integer',
      minimum: Limits.memoryMiBMin,
      maximum: Limits.memoryMiBMax,
    });
    expect(FunctionInput.additionalProperties).toBe(false);
    expect(FunctionInput.required).toEqual(['name', 'runtime', 'handler', 'code']);
    expect(FunctionPut.required).toEqual(['runtime', 'handler', 'code']);
    expect(Object.keys(properties.code?.properties as Json)).toEqual([
      'zipBase64',
      'sha256',
      'sizeBytes',
      's3Key',
    ]);
    expect(FunctionSpec.required).not.toContain('reservedConcurrency');
  });

  it('secures every operation with a bearer JWT and answers errors as problem+json', () => {
    // Act
    const document = managementApiDocument();

    // Assess
    expect(document.security).toEqual([{ bearerJwt: [] }]);
    expect((document.components as Json).securitySchemes).toMatchObject({
      bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    });
    for (const item of Object.values(document.paths as Record<string, Record<string, Json>>)) {
      for (const operation of Object.values(item)) {
        const responses = operation.responses as Record<string, Json>;
        expect(responses['401']?.content).toEqual({
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        });
      }
    }
  });

  it('refuses to generate a document for a route without documentation', () => {
    // Prepare
    const routes = {
      ...managementRouteTables(),
      'GET /v1/undocumented': {
        role: 'viewer' as const,
        handle: async () => ({ statusCode: 204, headers: {} }),
      },
    };

    // Act + Assess
    expect(() => managementApiDocument(routes)).toThrow(
      'route GET /v1/undocumented has no OpenAPI documentation in core/http/openapi.ts',
    );
  });

  it('is served at GET /v1/openapi.json to a viewer', async () => {
    // Prepare
    const handler = apiHandler(openApiRoutes());
    const checkedIn = JSON.parse(await readFile(repositoryPath('docs/openapi.json'), 'utf8'));

    // Act
    const answer = await handler(
      httpApiEvent({ routeKey: 'GET /v1/openapi.json', caller: { roles: ['viewer'] } }) as HttpEvent,
      lambdaContext('greco-functions-api'),
    );

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body as string)).toEqual(checkedIn);
  });
});

describe('the hot-path document', () => {
  it('describes exactly the hot-path routes, each for the operator role', () => {
    // Act
    const document = hotPathDocument();

    // Assess
    expect(operationKeys(document)).toEqual(
      Object.values(HotPathRoutes)
        .map((route) => `${route.method} ${route.path}`)
        .sort(),
    );
    for (const item of Object.values(document.paths as Record<string, Record<string, Json>>)) {
      for (const operation of Object.values(item)) expect(operation['x-greco-role']).toBe('operator');
    }
  });
});
