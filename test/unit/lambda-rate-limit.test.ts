import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../local/lambda/rate-limit.ts';

/** A clock the test moves by hand, in milliseconds. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return { now: () => time, advance: (ms) => (time += ms) };
}

function takeAll(bucket: TokenBucket, attempts: number): number {
  let taken = 0;
  for (let i = 0; i < attempts; i += 1) if (bucket.tryTake()) taken += 1;
  return taken;
}

describe('TokenBucket', () => {
  it('lets a burst of one second of requests through, then refuses', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(15, clock.now);
    expect(takeAll(bucket, 40)).toBe(15);
  });

  it('refills at the rate, never above one second of tokens', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(10, clock.now);
    takeAll(bucket, 10);
    clock.advance(300);
    expect(takeAll(bucket, 10)).toBe(3);
    clock.advance(60_000);
    expect(takeAll(bucket, 100)).toBe(10);
  });

  it('is unlimited at 0', () => {
    const bucket = new TokenBucket(0, manualClock().now);
    expect(takeAll(bucket, 1000)).toBe(1000);
  });

  it('starts full at a new rate', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(2, clock.now);
    takeAll(bucket, 2);
    bucket.setRate(5);
    expect(bucket.requestsPerSecond).toBe(5);
    expect(takeAll(bucket, 10)).toBe(5);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses the rate %s', (rate) => {
    expect(() => new TokenBucket(rate)).toThrow(RangeError);
    expect(() => new TokenBucket(1).setRate(rate)).toThrow(RangeError);
  });
});
