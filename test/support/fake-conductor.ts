import type {
  Conductor,
  ConductorCall,
  ConductorLogger,
  StageCall,
} from '../../core/conductor/kit/conductor.ts';
import { ChangeVetoError, TransientChangeError } from '../../core/conductor/kit/errors.ts';
import type { ChangeItem, Reason, ResultItem } from '../../core/deployments/types.ts';

/** What the fake runtime does with one change, by change name. */
export type FakeBehaviour =
  /** Stages (creates the resource for a create). */
  | 'ok'
  /** Vetoes in stage, after creating the resource (so abort has something to remove). */
  | 'veto-after-create'
  /** Throws TransientChangeError on the first stage attempt, after creating the resource. */
  | 'transient-once'
  /** Throws a plain Error in stage: greco's own fault, the call fails. */
  | 'broken';

/** One call the kit made to the fake adapter. */
export interface FakeCall {
  readonly op: 'vet' | 'vetChangeSet' | 'stage' | 'commit' | 'abort';
  readonly name?: string;
  readonly rerun?: boolean;
  readonly status?: ResultItem['status'];
}

/** Options of {@link fakeConductor}. */
export interface FakeConductorOptions {
  /** Registry name. @default 'queues' */
  readonly name?: string;
  /** Behaviour by change name. @default - 'ok' for every change */
  readonly behaviours?: Readonly<Record<string, FakeBehaviour>>;
  /** Static reasons by change name (vet). @default - none */
  readonly vetoes?: Readonly<Record<string, readonly Reason[]>>;
  /** Change-set vetting: reasons by name, or `'transient-once'`. @default - no change-set vetting */
  readonly changeSet?: Readonly<Record<string, readonly Reason[]>> | 'transient-once';
  /** How long each stage takes, in ms. @default 0 */
  readonly stageMs?: number;
}

/**
 * A second conductor in a few lines: an in-memory runtime of "queues" that the kit prepares,
 * commits and aborts. It records every call the kit makes, and what exists on its "data plane".
 */
export function fakeConductor(options: FakeConductorOptions = {}) {
  const calls: FakeCall[] = [];
  /** The fake data plane: resources by change name, with what is live. */
  const resources = new Map<string, { staged: number; live?: number }>();
  const transientSeen = new Set<string>();
  let changeSetTransientSeen = false;
  const behaviour = (name: string): FakeBehaviour => options.behaviours?.[name] ?? 'ok';

  const conductor: Conductor = {
    name: options.name ?? 'queues',
    vet(change: ChangeItem): readonly Reason[] {
      calls.push({ op: 'vet', name: change.name });
      return options.vetoes?.[change.name] ?? [];
    },
    ...(options.changeSet === undefined
      ? {}
      : {
          async vetChangeSet(changes: readonly ChangeItem[], _call: ConductorCall) {
            calls.push({ op: 'vetChangeSet' });
            if (options.changeSet === 'transient-once') {
              if (!changeSetTransientSeen) {
                changeSetTransientSeen = true;
                throw new TransientChangeError('quota not readable now');
              }
              return new Map();
            }
            const reasons = options.changeSet as Readonly<Record<string, readonly Reason[]>>;
            return new Map(changes.map((change) => [change.name, reasons[change.name] ?? []]));
          },
        }),
    async stage(change: ChangeItem, call: StageCall): Promise<void> {
      calls.push({ op: 'stage', name: change.name, rerun: call.rerun });
      if (options.stageMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.stageMs));
      if (change.action === 'delete') return;
      const mode = behaviour(change.name);
      if (mode === 'broken') throw new Error(`the fake runtime is broken for ${change.name}`);
      if (!resources.has(change.name)) {
        resources.set(change.name, { staged: 1 });
        call.staging.created = true;
        await call.checkpoint();
      }
      if (mode === 'transient-once' && !transientSeen.has(change.name)) {
        transientSeen.add(change.name);
        throw new TransientChangeError(`${change.name}: throttled`);
      }
      if (mode === 'veto-after-create') {
        throw new ChangeVetoError({
          code: 'LAMBDA_REJECTED',
          function: change.name,
          message: `${change.name} refused`,
        });
      }
      call.staging.version = '1';
      call.staging.published = true;
    },
    async commit(change: ChangeItem, staged: ResultItem): Promise<void> {
      calls.push({ op: 'commit', name: change.name, status: staged.status });
      const resource = resources.get(change.name);
      if (resource !== undefined) resource.live = Number(staged.version);
    },
    async abort(change: ChangeItem, recorded: ResultItem): Promise<void> {
      calls.push({ op: 'abort', name: change.name, status: recorded.status });
      if (recorded.created === true) resources.delete(change.name);
    },
  };
  return { conductor, calls, resources };
}

/** A logger that keeps every line, for assertions. */
export function recordingLogger() {
  const lines: { level: 'info' | 'warn' | 'error'; message: string; attributes: Record<string, unknown> }[] =
    [];
  const logger: ConductorLogger = {
    info: (message, ...attributes) =>
      lines.push({ level: 'info', message, attributes: Object.assign({}, ...attributes) }),
    warn: (message, ...attributes) =>
      lines.push({ level: 'warn', message, attributes: Object.assign({}, ...attributes) }),
    error: (message, ...attributes) =>
      lines.push({ level: 'error', message, attributes: Object.assign({}, ...attributes) }),
  };
  return { logger, lines };
}
