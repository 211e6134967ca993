import { Roles } from '../../domain/roles.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import {
  credentialsPath,
  decodeJwtPayload,
  localControllerUrl,
  requireLocalState,
  saveCredentials,
} from '../context.ts';
import { ApiError, CliError, UnreachableError, UsageError } from '../errors.ts';

/** `greco login`: mint a token from the local cloud's issuer, or store one from your identity provider. */
export const login: Command = {
  name: 'login',
  summary: 'sign in: a local-cloud token, or a token from your identity provider for a deployed greco',
  usage: `Usage:
  greco login --workspace NAME [--roles viewer,editor,approver,operator]     (local cloud)
  greco login --endpoint API_URL --token JWT [--controller-url URL] [--workspace NAME]
              [--region REGION] [--prefix greco]                              (deployed greco)

Local: mints a token from the local cloud's OIDC issuer (POST <issuer>/token) for the workspace
and roles (default: all four). Deployed: stores the API URL (the stack output ApiUrl), the token
from your identity provider (the Cognito ID token by default, see docs/cli.md), and the hot-path
controller URL (output ControllerUrl of GrecoDataPlaneController). Credentials are written to
<work dir>/credentials.json (mode 0600).

Options:
  --workspace NAME       workspace (local: required; deployed: default the token's custom:workspace claim)
  --roles LIST           comma-separated roles (local only)
  --expires-in SECONDS   token lifetime (local only, default 3600)
  --endpoint URL         the management API URL of a deployed greco
  --token JWT            the token for it
  --controller-url URL   the hot-path controller URL
  --region REGION        AWS region of the functions (for greco invoke)
  --prefix PREFIX        managed function name prefix (default greco)
  --json                 print the stored credentials (without the token) as JSON
`,
  async run(args, ctx) {
    const { values } = parseCommandArgs('login', args, {
      workspace: { type: 'string' },
      roles: { type: 'string' },
      'expires-in': { type: 'string' },
      endpoint: { type: 'string' },
      token: { type: 'string' },
      'controller-url': { type: 'string' },
      region: { type: 'string' },
      prefix: { type: 'string' },
    });
    const managedPrefix = values.prefix ?? 'greco';
    if (values.endpoint !== undefined || values.token !== undefined) {
      if (values.endpoint === undefined || values.token === undefined) {
        throw new UsageError('login: --endpoint and --token go together (see greco login --help)');
      }
      const claims = decodeJwtPayload(values.token);
      const claimed = claims?.['custom:workspace'];
      const workspace = values.workspace ?? (typeof claimed === 'string' ? claimed : undefined);
      if (workspace === undefined) {
        throw new UsageError('login: the token has no custom:workspace claim; give --workspace NAME');
      }
      await saveCredentials(ctx.workDir, {
        kind: 'aws',
        apiUrl: values.endpoint.endsWith('/') ? values.endpoint : `${values.endpoint}/`,
        ...(values['controller-url'] === undefined ? {} : { controllerUrl: values['controller-url'] }),
        token: values.token,
        workspace,
        managedPrefix,
        ...(values.region === undefined ? {} : { region: values.region }),
      });
      return report(ctx, { kind: 'aws', workspace, apiUrl: values.endpoint });
    }
    if (values.workspace === undefined) {
      throw new UsageError(
        'login: --workspace NAME is required for the local cloud (see greco login --help)',
      );
    }
    const state = await requireLocalState(ctx);
    const roles =
      values.roles === undefined
        ? [...Roles]
        : values.roles
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean);
    const expiresInSeconds = values['expires-in'] === undefined ? undefined : Number(values['expires-in']);
    let response: Response;
    try {
      response = await fetch(state.issuer.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          workspace: values.workspace,
          roles,
          ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
        }),
      });
    } catch (error) {
      throw new UnreachableError(
        `cannot reach the local cloud's issuer at ${state.issuer.tokenUrl}: the local cloud is not running any more (start it with npx greco local)`,
        { cause: error },
      );
    }
    const body = (await response.json().catch(() => undefined)) as
      | { access_token?: string; detail?: string }
      | undefined;
    if (!response.ok || typeof body?.access_token !== 'string') {
      throw new ApiError(
        `the issuer refused the token request: ${body?.detail ?? `HTTP ${response.status}`}`,
        response.status,
        body,
      );
    }
    if (state.apiUrl === undefined)
      throw new CliError('the local cloud has no management API (local.json has no apiUrl)');
    const controllerUrl = localControllerUrl(state);
    await saveCredentials(ctx.workDir, {
      kind: 'local',
      apiUrl: state.apiUrl,
      ...(controllerUrl === undefined ? {} : { controllerUrl }),
      token: body.access_token,
      workspace: values.workspace,
      managedPrefix,
    });
    return report(ctx, { kind: 'local', workspace: values.workspace, apiUrl: state.apiUrl, roles });
  },
};

function report(
  ctx: Parameters<Command['run']>[1],
  info: { kind: string; workspace: string; apiUrl: string; roles?: string[] },
): number {
  if (ctx.json) printJson(ctx, { ...info, credentialsFile: credentialsPath(ctx.workDir) });
  else {
    ctx.io.out(
      `Logged in to ${info.kind === 'local' ? 'the local cloud' : info.apiUrl} as workspace ${info.workspace}${info.roles === undefined ? '' : ` (${info.roles.join(', ')})`}; credentials in ${credentialsPath(ctx.workDir)}\n`,
    );
  }
  return 0;
}
