import { isObject } from '../../../domain/objects.ts';
import { LocalDeployError } from '../errors.ts';
import { functionNameFromArn } from './lambda.ts';
import type {
  HttpApiRecord,
  HttpEndpointSpec,
  ProvisionRequest,
  ResourceProvisioner,
  RunningHttpEndpoint,
  StackDeployState,
} from './types.ts';

function apiOf(request: ProvisionRequest): HttpApiRecord {
  const apiId = String(request.properties.ApiId);
  const api = request.state.httpApis.get(apiId);
  if (api === undefined) {
    throw new LocalDeployError(
      `${request.stackName}/${request.logicalId}: ApiId ${apiId} is not an HTTP API of this stack (the local cloud wires APIs within one stack)`,
    );
  }
  return api;
}

/**
 * The function an AWS_PROXY integration invokes, from its `IntegrationUri`: a function ARN
 * (optionally qualified) or `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations`.
 */
export function integrationFunction(uri: string): string | undefined {
  const match = /function:([^:/]+(?::[^:/]+)?)/.exec(uri);
  return match === null ? undefined : functionNameFromArn(`:function:${match[1]}`);
}

/**
 * AWS::ApiGatewayV2::Api (HTTP only) → reserves a port; the endpoint starts once the stack's
 * routes are known ({@link startHttpApis}). `Ref` is a 10-character API id; `ApiEndpoint` is
 * `http://127.0.0.1:<port>`. CORS and throttling are not run locally.
 */
export const httpApi: ResourceProvisioner = {
  check(resource) {
    const properties = resource.Properties ?? {};
    if (properties.ProtocolType !== undefined && properties.ProtocolType !== 'HTTP') {
      return `ProtocolType ${String(properties.ProtocolType)} is not supported by the local cloud (HTTP APIs only)`;
    }
    if (properties.Body !== undefined || properties.BodyS3Location !== undefined) {
      return 'APIs imported from OpenAPI (Body, BodyS3Location) are not supported by the local cloud';
    }
    if (properties.Target !== undefined)
      return 'quick-create APIs (Target) are not supported by the local cloud';
    return undefined;
  },
  async provision(request) {
    const apiId = request.names.id(request.stackName, request.logicalId, 10);
    const port = await request.services.reserveHttpPort({
      stackName: request.stackName,
      logicalId: request.logicalId,
      kind: 'api',
    });
    const endpoint = `http://127.0.0.1:${port}`;
    request.state.urlRewrites.set(
      `https://${apiId}.execute-api.${request.services.region}.amazonaws.com`,
      endpoint,
    );
    request.state.httpApis.set(apiId, {
      logicalId: request.logicalId,
      apiId,
      name: String(request.properties.Name ?? request.logicalId),
      port,
      endpoint,
      stages: [],
      routes: [],
      integrations: new Map(),
      authorizers: new Map(),
    });
    return { ref: apiId, attributes: { ApiId: apiId, ApiEndpoint: endpoint } };
  },
};

/** AWS::ApiGatewayV2::Stage → recorded on its API. `Ref` is the stage name. Access logs and throttling are not run locally. */
export const httpStage: ResourceProvisioner = {
  async provision(request) {
    const stageName = String(request.properties.StageName);
    apiOf(request).stages.push(stageName);
    return { ref: stageName, attributes: {} };
  },
};

/** AWS::ApiGatewayV2::Integration → recorded; AWS_PROXY to a Lambda function, payload format 2.0 only. */
export const httpIntegration: ResourceProvisioner = {
  check(resource) {
    const properties = resource.Properties ?? {};
    if (properties.IntegrationType !== 'AWS_PROXY') {
      return `IntegrationType ${String(properties.IntegrationType)} is not supported by the local cloud (AWS_PROXY to Lambda only)`;
    }
    if (properties.PayloadFormatVersion !== undefined && properties.PayloadFormatVersion !== '2.0') {
      return `PayloadFormatVersion ${String(properties.PayloadFormatVersion)} is not supported by the local cloud (2.0 only)`;
    }
    if (properties.IntegrationSubtype !== undefined) {
      return `AWS service integrations (IntegrationSubtype ${String(properties.IntegrationSubtype)}) are not supported by the local cloud`;
    }
    return undefined;
  },
  async provision(request) {
    const uri = String(request.properties.IntegrationUri);
    const functionName = integrationFunction(uri);
    if (functionName === undefined) {
      throw new LocalDeployError(
        `${request.stackName}/${request.logicalId}: IntegrationUri ${uri} is not a Lambda function`,
      );
    }
    const id = request.names.id(request.stackName, request.logicalId, 7);
    apiOf(request).integrations.set(id, functionName);
    return { ref: id, attributes: { IntegrationId: id } };
  },
};

/** AWS::ApiGatewayV2::Authorizer → recorded; JWT authorizers only (issuer + audiences). */
export const httpAuthorizer: ResourceProvisioner = {
  check(resource) {
    const type = resource.Properties?.AuthorizerType;
    return type === 'JWT'
      ? undefined
      : `AuthorizerType ${String(type)} is not supported by the local cloud (JWT authorizers only)`;
  },
  async provision(request) {
    const jwt = request.properties.JwtConfiguration;
    if (!isObject(jwt) || typeof jwt.Issuer !== 'string') {
      throw new LocalDeployError(
        `${request.stackName}/${request.logicalId}: JwtConfiguration.Issuer is missing`,
      );
    }
    const audience = Array.isArray(jwt.Audience) ? jwt.Audience.map(String) : [];
    const sources = request.properties.IdentitySource;
    const identitySource = Array.isArray(sources) && typeof sources[0] === 'string' ? sources[0] : undefined;
    const id = request.names.id(request.stackName, request.logicalId, 7);
    apiOf(request).authorizers.set(id, {
      issuer: jwt.Issuer,
      audience,
      ...(identitySource === undefined ? {} : { identitySource }),
    });
    return { ref: id, attributes: { AuthorizerId: id } };
  },
};

/**
 * AWS::ApiGatewayV2::Route → a route of its API: the route key, the function of its
 * `integrations/<id>` target and its JWT authorizer. `AWS_IAM` authorization is not enforced
 * locally; `CUSTOM` (Lambda authorizers) is refused.
 */
export const httpRoute: ResourceProvisioner = {
  check(resource) {
    const type = resource.Properties?.AuthorizationType;
    return type === 'CUSTOM'
      ? 'Lambda authorizers (AuthorizationType CUSTOM) are not supported by the local cloud'
      : undefined;
  },
  async provision(request) {
    const api = apiOf(request);
    const routeKey = String(request.properties.RouteKey);
    const target = String(request.properties.Target ?? '');
    const integrationId = target.startsWith('integrations/')
      ? target.slice('integrations/'.length)
      : undefined;
    const functionName = integrationId === undefined ? undefined : api.integrations.get(integrationId);
    if (functionName === undefined) {
      throw new LocalDeployError(
        `${request.stackName}/${request.logicalId}: route ${routeKey} has no integration target of this API (Target ${JSON.stringify(target)})`,
      );
    }
    if (request.properties.AuthorizationType === 'JWT') {
      const found = api.authorizers.get(String(request.properties.AuthorizerId));
      if (found === undefined) {
        throw new LocalDeployError(
          `${request.stackName}/${request.logicalId}: route ${routeKey} names authorizer ${String(request.properties.AuthorizerId)}, which this API does not have`,
        );
      }
      api.routes.push({ routeKey, functionName, authorizer: found });
    } else {
      api.routes.push({ routeKey, functionName });
    }
    const id = request.names.id(request.stackName, request.logicalId, 7);
    return { ref: id, attributes: { RouteId: id } };
  },
};

/** A started HTTP API of a stack. */
export interface StartedHttpApi {
  readonly logicalId: string;
  readonly apiId: string;
  readonly name: string;
  readonly url: string;
  readonly routeKeys: readonly string[];
}

/**
 * Starts one local endpoint per HTTP API of the stack, once all its resources are deployed,
 * serving its first stage (`$default` when it has none) with every route gathered.
 */
export async function startHttpApis(
  state: StackDeployState,
  start: (spec: HttpEndpointSpec) => Promise<RunningHttpEndpoint>,
): Promise<StartedHttpApi[]> {
  const started: StartedHttpApi[] = [];
  for (const api of state.httpApis.values()) {
    const stage = api.stages[0] ?? '$default';
    const endpoint = await start({ port: api.port, apiId: api.apiId, stage, routes: api.routes });
    state.endpoints.push(endpoint);
    started.push({
      logicalId: api.logicalId,
      apiId: api.apiId,
      name: api.name,
      url: endpoint.url,
      routeKeys: api.routes.map((route) => route.routeKey),
    });
  }
  return started;
}
