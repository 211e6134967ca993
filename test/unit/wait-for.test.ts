import { describe, expect, it } from 'vitest';
import { WaitTimeoutError, waitFor } from '../../local/net.ts';

describe('waitFor', () => {
  it('resolves with the first value the check returns', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? 'ready' : undefined), { intervalMs: 1 });
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('fails after the deadline with the last error as cause', async () => {
    const failure = new Error('still down');
    const attempt = waitFor(
      () => {
        throw failure;
      },
      { timeoutMs: 20, intervalMs: 5, what: 'the service' },
    );
    await expect(attempt).rejects.toBeInstanceOf(WaitTimeoutError);
    await expect(attempt).rejects.toMatchObject({
      message: 'timed out waiting for the service',
      cause: failure,
    });
  });

  it('stops at once when its signal is aborted, with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('the process died');
    let calls = 0;
    const attempt = waitFor(
      () => {
        calls += 1;
        if (calls === 2) controller.abort(reason);
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1, signal: controller.signal },
    );
    await expect(attempt).rejects.toBe(reason);
    expect(calls).toBe(2);
  });
});
