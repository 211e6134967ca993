/**
 * One bounded worker pool: work on many items, a few at a time. Used wherever greco fans calls
 * out under a service quota (DynamoDB batch writes, S3 uploads and reads of artifacts, the Lambda
 * conductor's calls).
 *
 * @module
 */

/** Options of {@link forEachWithConcurrency}. */
export interface PoolOptions {
  /** Most items in work at once: an integer ≥ 1. */
  readonly concurrency: number;
  /**
   * Asked before each item is started; `false` starts no more items (those in work finish).
   * E.g. a time budget: `() => Date.now() < deadline`. @default - start every item
   */
  readonly keepStarting?: () => boolean;
}

/**
 * Runs `work` on the items in order, at most `concurrency` at once. The first failure starts no
 * more items; once the items in work have ended, it is thrown. Items never started are left as
 * they are, so a caller that stops on a budget (see {@link PoolOptions.keepStarting}) can resume.
 *
 * @throws RangeError when `concurrency` is not an integer ≥ 1
 * @throws the first error `work` threw, after every started item has ended
 * @example
 * await forEachWithConcurrency(chunks, (chunk) => writeChunk(chunk), { concurrency: 4 });
 */
export async function forEachWithConcurrency<T>(
  items: readonly T[],
  work: (item: T, index: number) => Promise<void>,
  options: PoolOptions,
): Promise<void> {
  const { concurrency, keepStarting = () => true } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  }
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length && keepStarting()) {
      const index = next++;
      try {
        await work(items[index] as T, index);
      } catch (error) {
        if (!failed) {
          failed = true;
          failure = error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failed) throw failure;
}
