import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EnvNames } from '../../domain/env.ts';
import { sharedNagReasons } from '../nag.ts';

/** Memory of a greco function when not given, in MiB. Lambda allows 128..10240 (Lambda quotas, "Function memory allocation"). */
export const defaultMemoryMiB = 512;

/**
 * Timeout of a greco function when not given: 29 s, under API Gateway's 30 s maximum integration
 * timeout for HTTP APIs (API Gateway quotas, "Maximum integration timeout"), so a slow request
 * ends in the function (logged) rather than as a bare 503 from the gateway.
 */
export const defaultTimeout = Duration.seconds(29);

/** How long function logs are kept. Three months: long enough to investigate a deployment after the fact. */
export const functionLogRetention = RetentionDays.THREE_MONTHS;

/**
 * ESM banner for bundles: gives CommonJS dependencies that call `require` on a Node built-in a
 * working `require` (esbuild's ESM output has none).
 */
const esmRequireBanner =
  "import { createRequire as __grecoCreateRequire } from 'node:module'; const require = __grecoCreateRequire(import.meta.url);";

/** Environment variables that {@link GrecoFunction} sets itself; a caller may not pass them. */
const ownedEnvironmentNames = ['NODE_OPTIONS', EnvNames.serviceName, EnvNames.metricsNamespace] as const;

/** Properties of a {@link GrecoFunction}. */
export interface GrecoFunctionProps {
  /** Absolute path of the handler module (TypeScript); it must export `handler`. */
  readonly entry: string;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /**
   * Environment variables, by the names in domain/env.ts `EnvNames`. The construct adds
   * `NODE_OPTIONS=--enable-source-maps`, `POWERTOOLS_SERVICE_NAME` (= `serviceName`) and, with
   * `metricsNamespace`, `POWERTOOLS_METRICS_NAMESPACE`.
   */
  readonly environment: Readonly<Record<string, string>>;
  /** Service name for logs and the `service` metric dimension (`POWERTOOLS_SERVICE_NAME`), e.g. `drafts-api`. */
  readonly serviceName: string;
  /**
   * CloudWatch namespace of the metrics the handler writes as Embedded Metric Format lines
   * (`POWERTOOLS_METRICS_NAMESPACE`), e.g. `ControlPlaneMetrics.namespace` (domain/metrics.ts).
   * EMF lines need no IAM permission: CloudWatch Logs extracts them.
   * @default - not set: the handler emits no Powertools metrics
   */
  readonly metricsNamespace?: string;
  /**
   * Memory in MiB (128..10240, Lambda quotas).
   * @default - {@link defaultMemoryMiB} (512 MiB)
   */
  readonly memoryMiB?: number;
  /**
   * Maximum run time of one invocation (1 s..900 s, Lambda quotas).
   * @default - {@link defaultTimeout} (29 s)
   */
  readonly timeout?: Duration;
}

/**
 * A greco Lambda function, built the one way every greco function is built: Node.js 24 on arm64,
 * bundled by the locally installed esbuild (never Docker) as minified ESM for node24 with source
 * maps, `@aws-sdk/*` left to the runtime, X-Ray active tracing, an explicit log group with
 * {@link functionLogRetention} (no `logRetention` custom resource), and its own role that may write
 * only to that log group (no `AWSLambdaBasicExecutionRole` managed policy). Grant it data access
 * with `grantXxx` on `function`.
 */
export class GrecoFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: GrecoFunctionProps) {
    super(scope, id);
    const memoryMiB = props.memoryMiB ?? defaultMemoryMiB;
    if (!Number.isInteger(memoryMiB) || memoryMiB < 128 || memoryMiB > 10240) {
      throw new Error(`memoryMiB must be an integer between 128 and 10240, got ${memoryMiB}`);
    }
    for (const name of ownedEnvironmentNames) {
      if (name in props.environment) {
        throw new Error(
          `environment must not set ${name}: GrecoFunction sets it, got ${JSON.stringify(props.environment[name])}`,
        );
      }
    }
    const timeout = props.timeout ?? defaultTimeout;
    const timeoutSeconds = timeout.toSeconds();
    if (timeoutSeconds < 1 || timeoutSeconds > 900) {
      throw new Error(`timeout must be between 1 and 900 seconds, got ${timeoutSeconds}`);
    }

    this.logGroup = new LogGroup(this, 'Logs', { retention: functionLogRetention });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: memoryMiB,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        [EnvNames.serviceName]: props.serviceName,
        ...(props.metricsNamespace === undefined
          ? {}
          : { [EnvNames.metricsNamespace]: props.metricsNamespace }),
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        externalModules: ['@aws-sdk/*'],
        banner: esmRequireBanner,
        forceDockerBundling: false,
      },
    });

    // Tracing.ACTIVE adds xray:PutTraceSegments and xray:PutTelemetryRecords on "*" to this role.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: sharedNagReasons.wildcardResource,
    });
  }
}
