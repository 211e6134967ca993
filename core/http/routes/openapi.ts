import openApiDocument from '../../../docs/openapi.json' with { type: 'json' };
import { jsonResponse } from '../responses.ts';
import type { Routes } from '../types.ts';

/**
 * The route of the API's own description (viewer and up): `GET /v1/openapi.json` → the OpenAPI
 * 3.1 document checked in as docs/openapi.json, which core/http/openapi.ts generates from the
 * route tables and the spec schemas (`npm run openapi`; test/unit/openapi.test.ts keeps the file
 * and the routes in step). Behind the JWT authorizer like every route: a public route would be
 * the API's only unauthenticated one; tools without a token read docs/openapi.json.
 */
export function openApiRoutes(): Routes {
  return {
    'GET /v1/openapi.json': {
      role: 'viewer',
      async handle() {
        return jsonResponse(200, openApiDocument);
      },
    },
  };
}
