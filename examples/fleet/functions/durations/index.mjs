/**
 * Uses a third-party npm package (`ms`), which `greco plan` bundles into the zip with esbuild:
 * `{ "duration": "2h" }` → `{ "duration": "2h", "milliseconds": 7200000, "long": "2 hours" }`.
 */
import ms from 'ms';

export async function handler(event) {
  const duration = typeof event?.duration === 'string' ? event.duration : '1m';
  const milliseconds = ms(duration);
  if (typeof milliseconds !== 'number' || Number.isNaN(milliseconds)) {
    return { error: `cannot read "${duration}" as a duration (try 90s, 2h, 1d)` };
  }
  return { duration, milliseconds, long: ms(milliseconds, { long: true }) };
}
