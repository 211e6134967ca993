import {
  defaultRolesClaim,
  defaultWorkspaceClaim,
  EnvNames,
  optionalEnv,
  requireEnv,
} from '../domain/env.ts';
import { defaultEventBusName } from '../domain/events.ts';
import { defaultManagedPrefix } from '../domain/names.ts';

/** The hot-path controller's settings, from its environment. */
export interface HotPathConfig {
  /** Prefix of managed function names (`GRECO_MANAGED_PREFIX`, default `greco`). */
  readonly managedPrefix: string;
  /** Expected `iss` of tokens (`GRECO_JWT_ISSUER`, required). */
  readonly jwtIssuer: string;
  /** Accepted audiences (`GRECO_JWT_AUDIENCE`, comma-separated, required). */
  readonly jwtAudience: readonly string[];
  /** Key set URL (`GRECO_JWKS_URL`); `undefined`: `<issuer>/.well-known/jwks.json`. */
  readonly jwksUrl: string | undefined;
  /** Workspace claim (`GRECO_WORKSPACE_CLAIM`, default `custom:workspace`). */
  readonly workspaceClaim: string;
  /** Roles claim (`GRECO_ROLES_CLAIM`, default `cognito:groups`). */
  readonly rolesClaim: string;
  /** Event bus (`GRECO_EVENT_BUS_NAME`, default `greco`). */
  readonly eventBusName: string;
}

/**
 * Reads {@link HotPathConfig} from environment variables (names in domain/env.ts `EnvNames`).
 *
 * @throws Error naming the variable when a required one is unset or the audience list is empty
 */
export function hotPathConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HotPathConfig {
  const jwtAudience = requireEnv(EnvNames.jwtAudience, env)
    .split(',')
    .map((audience) => audience.trim())
    .filter((audience) => audience !== '');
  if (jwtAudience.length === 0)
    throw new Error(`environment variable ${EnvNames.jwtAudience} lists no audience`);
  const jwksUrl = optionalEnv(EnvNames.jwksUrl, '', env);
  return {
    managedPrefix: optionalEnv(EnvNames.managedPrefix, defaultManagedPrefix, env),
    jwtIssuer: requireEnv(EnvNames.jwtIssuer, env),
    jwtAudience,
    jwksUrl: jwksUrl === '' ? undefined : jwksUrl,
    workspaceClaim: optionalEnv(EnvNames.workspaceClaim, defaultWorkspaceClaim, env),
    rolesClaim: optionalEnv(EnvNames.rolesClaim, defaultRolesClaim, env),
    eventBusName: optionalEnv(EnvNames.eventBusName, defaultEventBusName, env),
  };
}
