import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { CloudAssembly } from '../assembly.ts';
import type { DeployedReference } from '../intrinsics.ts';
import type { PhysicalNames } from '../names.ts';
import type { CfnResource } from '../template.ts';

/** AWS SDK v3 clients pointed at the local emulators. */
export interface DeployClients {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
  readonly eventbridge: EventBridgeClient;
}

/** A route of a local HTTP endpoint, in the shape local/apigateway/index.ts `startHttpApi` takes. */
export interface HttpRouteSpec {
  /** `METHOD /path`, `ANY /path/{proxy+}` or `$default`. */
  readonly routeKey: string;
  /** The Lambda function (name, or `name:qualifier`) the AWS_PROXY integration invokes. */
  readonly functionName: string;
  /** The JWT authorizer of the route, when it has one. */
  readonly authorizer?: HttpJwtAuthorizerSpec;
}

/** A JWT authorizer: the issuer (`iss`), accepted audiences, and where the token is read. */
export interface HttpJwtAuthorizerSpec {
  readonly issuer: string;
  readonly audience: readonly string[];
  /** e.g. `$request.header.Authorization`. @default - the gateway's default */
  readonly identitySource?: string;
}

/** What a local HTTP endpoint (an HTTP API stage, or a function URL) serves. */
export interface HttpEndpointSpec {
  /** TCP port on 127.0.0.1, reserved by {@link DeployServices.reserveHttpPort}. */
  readonly port: number;
  readonly apiId: string;
  /** Stage name: `$default` serves at the root. */
  readonly stage: string;
  readonly routes: readonly HttpRouteSpec[];
}

/** A started local HTTP endpoint. */
export interface RunningHttpEndpoint {
  /** Base URL, `http://127.0.0.1:<port>` (plus `/<stage>` for a named stage). */
  readonly url: string;
  close(): Promise<void>;
}

/** What the deployer needs from the local cloud. */
export interface DeployServices {
  readonly clients: DeployClients;
  /** The region the emulators claim to be (`AWS::Region`). */
  readonly region: string;
  /** The account id the emulators claim to be (`AWS::AccountId`). */
  readonly accountId: string;
  /**
   * A port for an HTTP endpoint (an HTTP API or a function URL) of `stackName`: from the fixed
   * block of `npm start`, or a free one.
   */
  reserveHttpPort(owner: {
    readonly stackName: string;
    readonly logicalId: string;
    readonly kind: 'api' | 'url';
  }): Promise<number>;
  /** Starts a local HTTP API (API Gateway HTTP API or function URL) in front of the Lambda emulator. */
  startHttpEndpoint(spec: HttpEndpointSpec): Promise<RunningHttpEndpoint>;
}

/** One HTTP API of a stack, gathered from its Api/Stage/Integration/Authorizer/Route resources. */
export interface HttpApiRecord {
  readonly logicalId: string;
  readonly apiId: string;
  readonly name: string;
  readonly port: number;
  readonly endpoint: string;
  readonly stages: string[];
  readonly routes: HttpRouteSpec[];
  /** Integration id → function (name or `name:qualifier`). */
  readonly integrations: Map<string, string>;
  /** Authorizer id → its JWT configuration. */
  readonly authorizers: Map<string, HttpJwtAuthorizerSpec>;
}

/** What one stack's deployment keeps between resources. */
export interface StackDeployState {
  readonly stackName: string;
  /** HTTP APIs by API id (the `Ref` of `AWS::ApiGatewayV2::Api`). */
  readonly httpApis: Map<string, HttpApiRecord>;
  /** Endpoints started while deploying (function URLs); closed with the local cloud. */
  readonly endpoints: RunningHttpEndpoint[];
  /**
   * AWS URLs of local endpoints → their local URL, e.g. `https://<apiId>.execute-api.<region>.amazonaws.com`
   * → `http://127.0.0.1:<port>`. Applied to every resolved value, so an output or environment
   * variable built from the API id (as CDK's `stage.url`) points at the local endpoint.
   */
  readonly urlRewrites: Map<string, string>;
}

/** Everything a provisioner gets for one resource. */
export interface ProvisionRequest {
  readonly stackName: string;
  readonly logicalId: string;
  readonly resource: CfnResource;
  /** `Properties` with every intrinsic resolved. */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly services: DeployServices;
  readonly assembly: CloudAssembly;
  readonly names: PhysicalNames;
  readonly state: StackDeployState;
}

/** Creates one resource type in the local cloud. */
export interface ResourceProvisioner {
  /**
   * Refuses forms of the type that the local cloud cannot run, before anything is deployed.
   * Gets the unresolved resource. @returns the reason, or undefined when it is fine
   */
  readonly check?: (resource: CfnResource) => string | undefined;
  /** Creates the resource and returns what `Ref` and `Fn::GetAtt` give for it. */
  readonly provision: (request: ProvisionRequest) => Promise<DeployedReference>;
}
