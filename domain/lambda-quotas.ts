/**
 * Lambda's account-level concurrency quota and the bound it puts on reserved concurrency, defined
 * once for the management API (draft-time validation), the Lambda conductor (prepare-time vote)
 * and the local Lambda emulator.
 *
 * @module
 */

/**
 * Lambda's default "Concurrent executions" quota per account and Region: 1,000 (Lambda quotas,
 * "Concurrent executions: 1,000. Can be increased to tens of thousands"). Accounts with a raised
 * quota configure theirs (context `greco:accountConcurrency`).
 */
export const defaultAccountConcurrency = 1000;

/**
 * Concurrent executions Lambda keeps unreserved in every account: 100. `PutFunctionConcurrency`
 * refuses a value that would leave fewer ("Specified ReservedConcurrentExecutions for function
 * decreases account's UnreservedConcurrentExecution below its minimum value of [100]"; Lambda
 * Developer Guide, "Configuring reserved concurrency").
 */
export const minUnreservedConcurrency = 100;

/**
 * Most reserved concurrency one function can have in an account whose concurrency quota is
 * `accountConcurrency`: the quota minus the {@link minUnreservedConcurrency} Lambda keeps
 * unreserved, and never below 0.
 *
 * @param accountConcurrency - the account's concurrent executions quota
 * @example
 * maxReservedConcurrencyFor(1000); // 900
 */
export function maxReservedConcurrencyFor(accountConcurrency: number = defaultAccountConcurrency): number {
  return Math.max(0, accountConcurrency - minUnreservedConcurrency);
}
