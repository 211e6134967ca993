import { describe, expect, it } from 'vitest';
import { claimToString } from '../../local/apigateway/jwt.ts';
import {
  clfTime,
  isTextContentType,
  MalformedLambdaResponseError,
  mapResponse,
} from '../../local/apigateway/payload.ts';
import { InvalidRouteError, parseRouteKey, selectRoute } from '../../local/apigateway/routes.ts';

const routeKeys = [
  'GET /pets/dog/1',
  'GET /pets/dog/{id}',
  'GET /pets/{proxy+}',
  'ANY /{proxy+}',
  'GET /v1/drafts',
  'POST /v1/drafts',
  'ANY /v1/drafts',
  'GET /v1/drafts/{id}',
  'GET /v1/drafts/{id}/plan',
  'GET /v1/{kind}/special',
  'ANY /v1/drafts/{id}/{rest+}',
  'GET /',
  '$default',
];
const routes = routeKeys.map(parseRouteKey);

describe('HTTP API route selection', () => {
  it.each([
    ['GET', '/pets/dog/1', 'GET /pets/dog/1', {}],
    ['GET', '/pets/dog/2', 'GET /pets/dog/{id}', { id: '2' }],
    ['GET', '/pets/cat/1', 'GET /pets/{proxy+}', { proxy: 'cat/1' }],
    ['POST', '/pets/dog/1', 'ANY /{proxy+}', { proxy: 'pets/dog/1' }],
    ['GET', '/v1/drafts', 'GET /v1/drafts', {}],
    ['POST', '/v1/drafts', 'POST /v1/drafts', {}],
    ['DELETE', '/v1/drafts', 'ANY /v1/drafts', {}],
    ['GET', '/v1/drafts/d-1', 'GET /v1/drafts/{id}', { id: 'd-1' }],
    ['GET', '/v1/drafts/d-1/plan', 'GET /v1/drafts/{id}/plan', { id: 'd-1' }],
    ['GET', '/v1/drafts/special', 'GET /v1/drafts/{id}', { id: 'special' }],
    ['GET', '/v1/other/special', 'GET /v1/{kind}/special', { kind: 'other' }],
    ['PUT', '/v1/drafts/d-1/a/b', 'ANY /v1/drafts/{id}/{rest+}', { id: 'd-1', rest: 'a/b' }],
    ['GET', '/v1/drafts/a%20b', 'GET /v1/drafts/{id}', { id: 'a b' }],
    ['GET', '/v1/drafts/a%2Fb', 'GET /v1/drafts/{id}', { id: 'a/b' }],
    ['GET', '/', 'GET /', {}],
    ['POST', '/', '$default', {}],
    ['GET', '/v1/drafts/', 'ANY /{proxy+}', { proxy: 'v1/drafts/' }],
  ])('%s %s goes to %s', (method, path, routeKey, pathParameters) => {
    const match = selectRoute(routes, method, path);
    expect(match?.route.routeKey).toBe(routeKey);
    expect(match?.pathParameters).toEqual(pathParameters);
  });

  it('finds no route (404) when there is no $default route', () => {
    const withoutDefault = routes.filter((r) => !r.isDefault);
    expect(selectRoute(withoutDefault, 'POST', '/')).toBeUndefined();
    expect(selectRoute([parseRouteKey('GET /x/{proxy+}')], 'GET', '/x')).toBeUndefined();
    expect(selectRoute([parseRouteKey('GET /x')], 'GET', '/x/')).toBeUndefined();
    expect(selectRoute([parseRouteKey('GET /x')], 'POST', '/x')).toBeUndefined();
  });

  it.each([
    'GET',
    'GET pets',
    'FETCH /pets',
    'GET /pets//x',
    'GET /pets/{proxy+}/x',
    'GET /pets/{id}/{id}',
    'GET /pets/x{id}',
    '$other',
  ])('refuses the route key %s', (routeKey) => {
    expect(() => parseRouteKey(routeKey)).toThrow(InvalidRouteError);
  });
});

describe('JWT claims in the event', () => {
  it.each([
    ['a string', 'acme', 'acme'],
    ['a number', 1700000000, '1700000000'],
    ['a boolean', true, 'true'],
    ['an array', ['editor', 'approver'], '[editor approver]'],
    ['an empty array', [], '[]'],
    ['an object', { b: 1, a: 'x' }, 'map[a:x b:1]'],
    ['null', null, '<nil>'],
  ])('renders %s as API Gateway does', (_what, value, expected) => {
    expect(claimToString(value)).toBe(expected);
  });
});

describe('payload 2.0 responses', () => {
  const payload = (value: unknown) => Buffer.from(JSON.stringify(value));

  it('reads a structured response with base64 body and cookies', () => {
    const answer = mapResponse(
      payload({
        statusCode: 201,
        headers: { 'Content-Type': 'image/png', 'X-Count': 3 },
        body: Buffer.from([1, 2, 3]).toString('base64'),
        isBase64Encoded: true,
        cookies: ['a=1', 'b=2; Path=/'],
      }),
    );
    expect(answer).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'image/png', 'x-count': '3' },
      cookies: ['a=1', 'b=2; Path=/'],
      body: Buffer.from([1, 2, 3]),
    });
  });

  it.each([
    ['an object without statusCode', { hello: 'world' }, '{"hello":"world"}'],
    ['a string', 'Hello from Lambda!', 'Hello from Lambda!'],
    ['a number', 42, '42'],
    ['null', null, 'null'],
    ['an array', [1, 2], '[1,2]'],
  ])('answers 200 application/json for %s', (_what, value, body) => {
    expect(mapResponse(payload(value))).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(body),
    });
  });

  it.each([
    ['a status that is not a number', { statusCode: '200' }],
    ['a status out of range', { statusCode: 700 }],
    ['headers that are an array', { statusCode: 200, headers: ['a'] }],
    ['a header that is an object', { statusCode: 200, headers: { a: { b: 1 } } }],
    ['a body that is an object', { statusCode: 200, body: { a: 1 } }],
    ['cookies that are not strings', { statusCode: 200, cookies: [1] }],
  ])('refuses %s', (_what, value) => {
    expect(() => mapResponse(payload(value))).toThrow(MalformedLambdaResponseError);
  });

  it('refuses a payload that is not JSON', () => {
    expect(() => mapResponse(Buffer.from('not json'))).toThrow(MalformedLambdaResponseError);
  });
});

describe('payload 2.0 requests', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['text/plain', true],
    ['text/csv', true],
    ['application/xml', true],
    ['application/javascript', true],
    ['application/octet-stream', false],
    ['application/x-www-form-urlencoded', false],
    ['image/png', false],
    [undefined, false],
  ])('treats content type %s as text: %s', (contentType, text) => {
    expect(isTextContentType(contentType)).toBe(text);
  });

  it('formats requestContext.time like API Gateway', () => {
    expect(clfTime(new Date(Date.UTC(2020, 2, 12, 19, 3, 58)))).toBe('12/Mar/2020:19:03:58 +0000');
  });
});
