/**
 * The hot-path controller: start, suspend and state of managed functions, behind a Lambda function
 * URL. A plain handler (no middleware framework) over hotpath/; clients and the token key cache
 * live at module scope, and nothing here calls the network before the first request.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { createTokenVerifier } from '../../hotpath/auth.ts';
import { hotPathConfigFromEnv } from '../../hotpath/config.ts';
import { createEventPublisher } from '../../hotpath/events.ts';
import { type FunctionUrlResponse, handleHotPathRequest } from '../../hotpath/http.ts';
import { createLogger } from '../../hotpath/log.ts';
import { HotPathRetryStrategy } from '../../hotpath/retry.ts';
import { trackApiTime } from '../../hotpath/timing.ts';

const config = hotPathConfigFromEnv();
const log = createLogger();

const lambda = new LambdaClient({
  retryStrategy: new HotPathRetryStrategy(),
  requestHandler: { connectionTimeout: 1000, requestTimeout: 2500, throwOnRequestTimeout: true },
});
const lambdaTimer = trackApiTime(lambda);

const eventBridge = new EventBridgeClient({
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 200, requestTimeout: 300, throwOnRequestTimeout: true },
});
const eventsTimer = trackApiTime(eventBridge);

const verifyToken = createTokenVerifier({
  issuer: config.jwtIssuer,
  audience: config.jwtAudience,
  workspaceClaim: config.workspaceClaim,
  rolesClaim: config.rolesClaim,
  ...(config.jwksUrl === undefined ? {} : { jwksUrl: config.jwksUrl }),
});

const events = createEventPublisher(eventBridge, { eventBusName: config.eventBusName, log });

/** Lambda function URL handler (payload format 2.0). */
export async function handler(event: LambdaFunctionURLEvent): Promise<FunctionUrlResponse> {
  return handleHotPathRequest(event, {
    lambda,
    verifyToken,
    events,
    log,
    managedPrefix: config.managedPrefix,
    lambdaTimer,
    eventsTimer,
  });
}
