import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../domain/errors.ts';
import { checkTokenTimes, tokenClockToleranceSeconds } from '../../domain/tokens.ts';

const now = 1_800_000_000;
const tolerance = tokenClockToleranceSeconds;

describe('checkTokenTimes', () => {
  it.each([
    { title: 'a token without exp', claims: {}, message: 'the token has no exp claim' },
    {
      title: 'an exp that is a string',
      claims: { exp: `${now + 60}` },
      message: "the token's exp claim is not a number",
    },
    {
      title: 'an exp that is not finite',
      claims: { exp: Number.POSITIVE_INFINITY },
      message: "the token's exp claim is not a number",
    },
    {
      title: 'a token expired at the tolerance',
      claims: { exp: now - tolerance },
      message: 'the token has expired',
    },
    {
      title: 'a token not valid yet',
      claims: { exp: now + 60, nbf: now + tolerance + 1 },
      message: 'the token is not valid yet (nbf)',
    },
    {
      title: 'an nbf that is not a number',
      claims: { exp: now + 60, nbf: null },
      message: "the token's nbf claim is not a number",
    },
    {
      title: 'a token issued in the future',
      claims: { exp: now + 60, iat: now + tolerance + 1 },
      message: 'the token was issued in the future (iat)',
    },
    {
      title: 'a token issued an hour ahead',
      claims: { exp: now + 7200, iat: now + 3600 },
      message: 'the token was issued in the future (iat)',
    },
    {
      title: 'an iat that is not a number',
      claims: { exp: now + 60, iat: '1' },
      message: "the token's iat claim is not a number",
    },
  ])('refuses $title with 401', ({ claims, message }) => {
    // Act
    const check = () => checkTokenTimes(claims, now);
    // Assess
    expect(check).toThrow(UnauthorizedError);
    expect(check).toThrow(message);
  });

  it.each([
    { title: 'expiring within the tolerance', claims: { exp: now - tolerance + 1 } },
    { title: 'valid from the tolerance ahead', claims: { exp: now + 60, nbf: now + tolerance } },
    { title: 'issued the tolerance ahead', claims: { exp: now + 60, iat: now + tolerance } },
    { title: 'issued an hour ago', claims: { exp: now + 60, iat: now - 3600, nbf: now - 3600 } },
  ])('accepts a token $title', ({ claims }) => {
    expect(() => checkTokenTimes(claims, now)).not.toThrow();
  });

  it('counts whole seconds, as jose does', () => {
    expect(() => checkTokenTimes({ exp: now + 60, iat: now + tolerance }, now + 0.999)).not.toThrow();
    expect(() => checkTokenTimes({ exp: now - tolerance + 1 }, now + 0.999)).not.toThrow();
  });

  it('documents a tolerance of 5 seconds', () => {
    expect(tokenClockToleranceSeconds).toBe(5);
  });
});
