import { ApiClient } from '../api.ts';
import type { Command, CommandContext } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import { type GrecoFile, loadGrecoFile } from '../config.ts';
import { loadSession, type Session, saveDraftId, savedDraftId } from '../context.ts';
import { CliError } from '../errors.ts';
import { type CodePackage, packageFunction } from '../package.ts';
import { type PlanView, renderPlan } from '../render.ts';
import { inlineCodeBudgetBytes, uploadZip } from '../upload.ts';

/** A draft as the API describes it (the fields the CLI reads). */
interface DraftMeta {
  readonly draftId: string;
  readonly version: number;
  readonly state: string;
}

/** What {@link planFile} did: the draft holding the file's model and its plan against the live epoch. */
export interface PlanResult {
  readonly session: Session;
  readonly file: GrecoFile;
  readonly draft: DraftMeta;
  readonly plan: PlanView;
  readonly packages: ReadonlyMap<string, CodePackage>;
}

/**
 * Packages every function of greco.yaml (code above the inline budget is uploaded through
 * `POST /v1/artifacts` and referred to by sha256, see cli/upload.ts), puts the whole model into this workspace's draft
 * (`PUT /v1/drafts/{id}` with `If-Match`; a new draft with `POST /v1/drafts` when there is none
 * open), and reads its plan (`GET /v1/drafts/{id}/plan`). The draft id is remembered in
 * `<work dir>/drafts.json`.
 *
 * @throws GrecoFileError, PackagingError, ApiError, CliError (workspace mismatch, not logged in)
 */
export async function planFile(path: string, ctx: CommandContext): Promise<PlanResult> {
  const file = await loadGrecoFile(path, ctx.cwd);
  const session = await loadSession(ctx);
  if (file.workspace !== undefined && file.workspace !== session.workspace) {
    throw new CliError(
      `${path} is for workspace ${file.workspace}, but you are logged in to ${session.workspace}: run greco login --workspace ${file.workspace}`,
    );
  }
  const packages = new Map<string, CodePackage>();
  for (const fn of file.functions) {
    const pkg = await packageFunction(fn.codeDir, fn.handler);
    packages.set(fn.name, pkg);
    if (!ctx.json)
      ctx.io.err(
        `  packaged ${fn.name}: ${pkg.zip.length} bytes, sha256 ${pkg.sha256.slice(0, 12)}${pkg.bundled ? ' (bundled with esbuild)' : ''}\n`,
      );
  }
  const api = new ApiClient(session.apiUrl, session.token);
  // Code rides inline while the model's inline zips stay within the budget; larger code goes
  // through a presigned upload to the artifacts bucket and is referred to by sha256.
  let inlineBytes = 0;
  const functions = [];
  for (const fn of file.functions) {
    const { codeDir: _codeDir, ...settings } = fn;
    const pkg = packages.get(fn.name) as CodePackage;
    if (inlineBytes + pkg.zip.length <= inlineCodeBudgetBytes) {
      inlineBytes += pkg.zip.length;
      functions.push({ ...settings, code: { zipBase64: Buffer.from(pkg.zip).toString('base64') } });
    } else {
      await uploadZip(api, fn.name, pkg.zip, pkg.sha256, ctx);
      functions.push({ ...settings, code: { sha256: pkg.sha256 } });
    }
  }
  const model = { functions };

  let draft: DraftMeta | undefined;
  const savedId = await savedDraftId(ctx.workDir, session.apiUrl, session.workspace);
  if (savedId !== undefined) {
    const current = await api.request<DraftMeta>('GET', `v1/drafts/${encodeURIComponent(savedId)}?limit=1`, {
      accept: [404],
    });
    if (current.status === 200 && current.body.state === 'open') {
      const etag = current.headers.get('etag') ?? `"${current.body.version}"`;
      const updated = await api.request<DraftMeta>('PUT', `v1/drafts/${encodeURIComponent(savedId)}`, {
        body: model,
        headers: { 'if-match': etag },
      });
      draft = updated.body;
    }
  }
  if (draft === undefined) {
    draft = (await api.request<DraftMeta>('POST', 'v1/drafts', { body: model })).body;
    await saveDraftId(ctx.workDir, session.apiUrl, session.workspace, draft.draftId);
  }
  const plan = (await api.request<PlanView>('GET', `v1/drafts/${encodeURIComponent(draft.draftId)}/plan`))
    .body;
  return { session, file, draft, plan, packages };
}

/** `greco plan -f greco.yaml`. */
export const plan: Command = {
  name: 'plan',
  summary: 'package the code, update the draft from greco.yaml, print the plan as a diff',
  usage: `Usage: greco plan -f greco.yaml [--json]

Packages each function's code folder (deterministic zips; a folder with a package.json is
bundled with esbuild, its npm dependencies included; code above 4 MiB is uploaded through a
presigned URL, POST /v1/artifacts, with progress on stderr), puts the whole model into this
workspace's draft (created on first use, remembered in <work dir>/drafts.json), and prints the
plan against the live model: + create, ~ update (field: before → after), - delete.

Options:
  -f, --file PATH   the model file (default greco.yaml)
  --json            print the plan as JSON
`,
  async run(args, ctx) {
    const { values } = parseCommandArgs('plan', args, { file: { type: 'string', short: 'f' } });
    const result = await planFile(values.file ?? 'greco.yaml', ctx);
    if (ctx.json) printJson(ctx, result.plan);
    else ctx.io.out(renderPlan(result.plan, result.session.workspace));
    return 0;
  },
};
