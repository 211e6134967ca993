/**
 * The Lambda handler every conductor function exports: the state machine's `lambda:invoke` with a
 * `ConductorRequest`, answered with a `ConductorResponse`. A thin middy handler over a conductor
 * (built once at module scope): the time budget from the invocation's remaining time
 * (`budget.ts`), `observe()` from core/observability.ts (Powertools Logger with the Lambda context
 * injected, metrics flushed once per invocation), and one metric per call.
 *
 * @module
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { ConductorResponse } from '../../deployments/types.ts';
import { MetricUnit, metrics, observe } from '../../observability.ts';
import { callBudgetMs } from './budget.ts';

/**
 * The metrics a conductor function emits (namespace `POWERTOOLS_METRICS_NAMESPACE`, dimension
 * `service`: the conductor function's own service name), one per call.
 */
export const conductorMetricNames = {
  /** Calls answered (unit Count, 1 per call), done or not. */
  batches: 'ConductorBatches',
  /** Calls that threw (unit Count, 1 per call): the state machine's Retry and Catch take over. */
  batchFailures: 'ConductorBatchFailures',
} as const;

/** What a conductor handler runs: a `ConductorRunner`, or an adapter's facade over one. */
export interface ConductorEntry {
  run(request: unknown, budgetMs: number): Promise<ConductorResponse>;
}

/**
 * Builds a conductor function's handler.
 *
 * @example
 * export const handler = conductorHandler(new ConductorRunner({ conductor: myAdapter, doc, tableName, managedPrefix, logger }));
 */
export function conductorHandler(conductor: ConductorEntry) {
  return middy(async function runConductorCall(event: unknown, context: Context): Promise<ConductorResponse> {
    try {
      const answer = await conductor.run(event, callBudgetMs(context.getRemainingTimeInMillis()));
      metrics.addMetric(conductorMetricNames.batches, MetricUnit.Count, 1);
      return answer;
    } catch (error) {
      metrics.addMetric(conductorMetricNames.batchFailures, MetricUnit.Count, 1);
      throw error;
    }
  }).use(observe());
}
