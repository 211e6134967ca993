import { ValidationError } from '../../../domain/errors.ts';
import { isObject } from '../../../domain/objects.ts';
import type { ArtifactStore } from '../../artifacts.ts';
import { planChanges, planHash } from '../../plan.ts';
import { parseFunctionSpecInput, parseModelInput, type SpecContext } from '../../spec.ts';
import type { DraftStore } from '../../store/drafts.ts';
import type { LiveModels } from '../../store/snapshots.ts';
import type { ChangeContext, DraftSummary } from '../../store/types.ts';
import { formatETag, parseIfMatch, requireIfMatch } from '../etag.ts';
import { pageOfFunctions } from '../paging.ts';
import { draftIdParam, functionNameParam } from '../params.ts';
import { emptyResponse, jsonResponse } from '../responses.ts';
import { integerParam, requireBody } from '../router.ts';
import type { ApiRequest, Routes } from '../types.ts';

/** What the draft routes need. */
export interface DraftsRoutesDeps {
  readonly drafts: DraftStore;
  /** The live models: the plan route compares a draft with the live model. */
  readonly live: LiveModels;
  readonly artifacts: ArtifactStore;
  /** Prefix of managed Lambda function names (`GRECO_MANAGED_PREFIX`), for the name-length rule. */
  readonly managedPrefix: string;
  /**
   * Most reserved concurrency one function may have: the account's concurrency quota minus the
   * 100 Lambda keeps unreserved (`maxReservedConcurrencyFor`, domain/lambda-quotas.ts).
   * @default - 900, for Lambda's default quota of 1,000
   */
  readonly maxReservedConcurrency?: number;
  /** Clock for runtime deprecation checks. @default - the system clock */
  readonly now?: () => Date;
}

/**
 * The draft routes. Reads need viewer, writes editor. Every write that targets an existing
 * draft needs `If-Match` with the ETag read (`"<version>"`, or `*`): 428 without it, 412 when
 * stale; `DELETE /v1/drafts/{id}` honours `If-Match` when sent.
 *
 * | route | answer |
 * |---|---|
 * | `POST /v1/drafts` (body optional: `{ functions: [...] }`) | 201, `Location`, `ETag`, the draft's metadata |
 * | `GET /v1/drafts` | `{ drafts: [...] }` (metadata) |
 * | `GET /v1/drafts/{id}?limit=&cursor=` | `ETag`, metadata + `functions` (+ `nextCursor`) |
 * | `PUT /v1/drafts/{id}` (body `{ functions: [...] }`) | `ETag`, metadata |
 * | `DELETE /v1/drafts/{id}` | 204 |
 * | `PUT /v1/drafts/{id}/functions/{name}` (body: one function) | `ETag`, `{ draft, function, created }` |
 * | `DELETE /v1/drafts/{id}/functions/{name}` | `ETag`, metadata |
 * | `GET /v1/drafts/{id}/plan` | `ETag`, `{ draftId, draftVersion, baseEpoch, liveEpoch, changes, summary, planHash }` |
 * | `POST /v1/drafts/{id}/rebase` | `ETag`, `{ draft, rebased, fromEpoch, liveEpoch }`; 409 `rebase-conflict` with `conflicts` |
 *
 * `planHash` is the SHA-256 of the change set's canonical JSON (`planHash`, core/plan.ts): a
 * deployment request may carry it, and is refused (412) when the plan no longer hashes so.
 * The rebase moves the draft onto the live epoch by a three-way merge (`DraftStore.rebaseDraft`).
 */
export function draftsRoutes(deps: DraftsRoutesDeps): Routes {
  const { drafts, live: liveModels, artifacts } = deps;
  const specContext = (request: ApiRequest): SpecContext => ({
    managedPrefix: deps.managedPrefix,
    workspace: request.caller.workspace,
    now: deps.now?.() ?? new Date(),
    ...(deps.maxReservedConcurrency === undefined
      ? {}
      : { maxReservedConcurrency: deps.maxReservedConcurrency }),
  });
  const changeContext = (request: ApiRequest): ChangeContext => ({
    actor: request.caller.actor,
    requestId: request.requestId,
  });
  const draftId = (request: ApiRequest): string => request.params.id ?? '';
  const withETag = (draft: DraftSummary): Record<string, string> => ({ etag: formatETag(draft.version) });

  return {
    'POST /v1/drafts': {
      role: 'editor',
      async handle(request) {
        const ws = request.caller.workspace;
        let draft: DraftSummary;
        if (request.body === undefined) {
          draft = await drafts.createDraft(ws, changeContext(request));
        } else {
          const inputs = parseModelInput(request.body, specContext(request));
          const functions = await artifacts.resolveSpecs(inputs, (i) => `functions[${i}].`, ws);
          draft = await drafts.createDraft(ws, changeContext(request), functions);
        }
        return jsonResponse(201, draft, { location: `/v1/drafts/${draft.draftId}`, ...withETag(draft) });
      },
    },

    'GET /v1/drafts': {
      role: 'viewer',
      async handle(request) {
        return jsonResponse(200, { drafts: await drafts.listDrafts(request.caller.workspace) });
      },
    },

    'GET /v1/drafts/{id}': {
      role: 'viewer',
      params: { id: draftIdParam },
      async handle(request) {
        const limit = integerParam(request.query, 'limit', { min: 1, max: 5000 });
        const { functions, ...draft } = await drafts.getDraft(request.caller.workspace, draftId(request));
        const page = pageOfFunctions(functions, draft.version, {
          limit,
          cursor: request.query.cursor,
          list: `draft:${draft.draftId}`,
        });
        return jsonResponse(200, { ...draft, ...page }, withETag(draft));
      },
    },

    'PUT /v1/drafts/{id}': {
      role: 'editor',
      params: { id: draftIdParam },
      async handle(request) {
        const ws = request.caller.workspace;
        const expected = requireIfMatch(request.headers);
        const inputs = parseModelInput(requireBody(request), specContext(request));
        await drafts.assertEditable(ws, draftId(request), expected);
        const functions = await artifacts.resolveSpecs(inputs, (i) => `functions[${i}].`, ws);
        const draft = await drafts.replaceDraft(
          ws,
          draftId(request),
          functions,
          expected,
          changeContext(request),
        );
        return jsonResponse(200, draft, withETag(draft));
      },
    },

    'DELETE /v1/drafts/{id}': {
      role: 'editor',
      params: { id: draftIdParam },
      async handle(request) {
        const expected = parseIfMatch(request.headers['if-match']);
        await drafts.deleteDraft(
          request.caller.workspace,
          draftId(request),
          expected,
          changeContext(request),
        );
        return emptyResponse(204);
      },
    },

    'PUT /v1/drafts/{id}/functions/{name}': {
      role: 'editor',
      params: { id: draftIdParam, name: functionNameParam },
      async handle(request) {
        const ws = request.caller.workspace;
        const expected = requireIfMatch(request.headers);
        const name = request.params.name ?? '';
        const body = requireBody(request);
        if (isObject(body) && body.name !== undefined && body.name !== name) {
          throw new ValidationError([
            {
              field: 'name',
              message: `must match the name in the path (${JSON.stringify(name)}), or be left out`,
            },
          ]);
        }
        const input = parseFunctionSpecInput(isObject(body) ? { ...body, name } : body, specContext(request));
        await drafts.assertEditable(ws, draftId(request), expected);
        const [spec] = await artifacts.resolveSpecs([input], () => '', ws);
        if (spec === undefined) throw new Error('resolveSpecs returned no spec for one input');
        const { draft, created } = await drafts.putDraftFunction(
          ws,
          draftId(request),
          spec,
          expected,
          changeContext(request),
        );
        return jsonResponse(200, { draft, function: spec, created }, withETag(draft));
      },
    },

    'DELETE /v1/drafts/{id}/functions/{name}': {
      role: 'editor',
      params: { id: draftIdParam, name: functionNameParam },
      async handle(request) {
        const expected = requireIfMatch(request.headers);
        const draft = await drafts.deleteDraftFunction(
          request.caller.workspace,
          draftId(request),
          request.params.name ?? '',
          expected,
          changeContext(request),
        );
        return jsonResponse(200, draft, withETag(draft));
      },
    },

    'GET /v1/drafts/{id}/plan': {
      role: 'viewer',
      params: { id: draftIdParam },
      async handle(request) {
        const ws = request.caller.workspace;
        const [draft, live] = await Promise.all([
          drafts.getDraft(ws, draftId(request)),
          liveModels.getLiveModel(ws),
        ]);
        const plan = planChanges(live.functions, draft.functions);
        return jsonResponse(
          200,
          {
            draftId: draft.draftId,
            draftVersion: draft.version,
            baseEpoch: draft.baseEpoch,
            liveEpoch: live.epoch,
            changes: plan.changes,
            summary: plan.summary,
            planHash: planHash(plan),
          },
          withETag(draft),
        );
      },
    },

    'POST /v1/drafts/{id}/rebase': {
      role: 'editor',
      params: { id: draftIdParam },
      async handle(request) {
        const expected = requireIfMatch(request.headers);
        const result = await drafts.rebaseDraft(
          request.caller.workspace,
          draftId(request),
          expected,
          changeContext(request),
        );
        return jsonResponse(
          200,
          {
            draft: result.draft,
            rebased: result.rebased,
            ...(result.fromEpoch === undefined ? {} : { fromEpoch: result.fromEpoch }),
            liveEpoch: result.draft.baseEpoch,
          },
          withETag(result.draft),
        );
      },
    },
  };
}
