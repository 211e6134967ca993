/**
 * An HTTP-style JSON API handler (API Gateway HTTP API payload 2.0 or a function URL, or a
 * direct Invoke with the same shape): `GET /orders/{id}` and `POST /orders`.
 * The answer is a proxy result: `{ statusCode, headers, body }` with a JSON body.
 */
const orders = new Map([
  ['o-1', { id: 'o-1', item: 'coffee', quantity: 2 }],
  ['o-2', { id: 'o-2', item: 'tea', quantity: 1 }],
]);

function json(statusCode, body) {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export async function handler(event) {
  const method = event?.requestContext?.http?.method ?? event?.httpMethod ?? 'GET';
  const path = event?.rawPath ?? event?.path ?? '/orders';
  const match = /^\/orders(?:\/([^/]+))?$/.exec(path);
  if (match === null) return json(404, { message: `no route for ${method} ${path}` });
  const id = match[1];
  if (method === 'GET' && id !== undefined) {
    const order = orders.get(id);
    return order === undefined ? json(404, { message: `no order ${id}` }) : json(200, order);
  }
  if (method === 'GET') return json(200, { orders: [...orders.values()] });
  if (method === 'POST' && id === undefined) {
    let input;
    try {
      input = JSON.parse(event.body ?? '{}');
    } catch {
      return json(400, { message: 'the body must be JSON' });
    }
    if (typeof input.item !== 'string' || !Number.isInteger(input.quantity) || input.quantity < 1) {
      return json(400, { message: 'item (string) and quantity (integer >= 1) are required' });
    }
    return json(201, { id: `o-${orders.size + 1}`, item: input.item, quantity: input.quantity });
  }
  return json(405, { message: `${method} is not allowed on ${path}` });
}
