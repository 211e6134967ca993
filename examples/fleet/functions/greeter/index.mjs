/**
 * Reads its configuration from environment variables, set in greco.yaml:
 * `GREETING` (the word) and `PUNCTUATION`. `{ "name": "Ada" }` → `{ "message": "Hello, Ada!" }`.
 */
const greeting = process.env.GREETING ?? 'Hello';
const punctuation = process.env.PUNCTUATION ?? '!';

export async function handler(event) {
  const name = typeof event?.name === 'string' && event.name !== '' ? event.name : 'world';
  return { message: `${greeting}, ${name}${punctuation}` };
}
