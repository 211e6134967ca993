import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLocalState, resolveWorkFolders } from '../../cli/context.ts';
import { parseSince } from '../../cli/logs.ts';
import { userStateDir } from '../../contracts/local-state.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'greco-context-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the user-level state folder', () => {
  it.each([
    [{ GRECO_STATE_DIR: '/srv/greco' }, '/srv/greco'],
    [{ GRECO_STATE_DIR: '/srv/greco', XDG_STATE_HOME: '/x' }, '/srv/greco'],
    [{ XDG_STATE_HOME: '/home/ada/.state' }, '/home/ada/.state/greco'],
    [{ XDG_STATE_HOME: 'relative/ignored' }, '/home/ada/.local/state/greco'],
    [{}, '/home/ada/.local/state/greco'],
  ])('for %j is %s', (env, expected) => {
    expect(userStateDir(env, '/home/ada')).toBe(expected);
  });
});

describe('where the CLI looks for its files and a local cloud', () => {
  it('takes --work-dir, then $GRECO_WORK_DIR, alone', () => {
    expect(resolveWorkFolders('w', root, { GRECO_WORK_DIR: '/e' })).toEqual({
      workDir: join(root, 'w'),
      statePlaces: [{ dir: join(root, 'w'), why: '--work-dir' }],
    });
    expect(resolveWorkFolders(undefined, root, { GRECO_WORK_DIR: 'e' }).statePlaces).toEqual([
      { dir: join(root, 'e'), why: '$GRECO_WORK_DIR' },
    ]);
  });

  it('takes the nearest .greco above the folder, then the user-level state folder', async () => {
    // Prepare
    const project = join(root, 'project');
    await mkdir(join(project, '.greco'), { recursive: true });
    await mkdir(join(project, 'src', 'deep'), { recursive: true });

    // Act
    const folders = resolveWorkFolders(undefined, join(project, 'src', 'deep'), {
      GRECO_STATE_DIR: '/state',
    });

    // Assess
    expect(folders.workDir).toBe(join(project, '.greco'));
    expect(folders.statePlaces.map((place) => place.dir)).toEqual([join(project, '.greco'), '/state']);
  });

  it('uses the user-level state folder for everything outside any project with a .greco', () => {
    const folders = resolveWorkFolders(undefined, '/', { GRECO_STATE_DIR: 'state', HOME: '/home/ada' });
    expect(folders.workDir).toBe('/state');
    expect(folders.statePlaces.map((place) => place.dir)).toEqual(['/state']);
  });

  it('says every place it looked in when no local cloud runs, a file left by a dead process included', async () => {
    // Prepare
    const cwd = join(root, 'nowhere');
    const state = join(root, 'state');
    await mkdir(cwd, { recursive: true });
    await mkdir(state, { recursive: true });
    await writeFile(join(state, 'local.json'), JSON.stringify({ pid: 2 ** 22 + 12345 }));
    const folders = resolveWorkFolders(undefined, cwd, { GRECO_STATE_DIR: state });

    // Act
    const failure = requireLocalState(folders);

    // Assess
    await expect(failure).rejects.toThrow(
      new RegExp(
        `^no local cloud is running \\(no \\.greco in ${cwd} or above; ${state}/local\\.json \\(the user-level state folder; \\$GRECO_STATE_DIR sets it\\) is left from process \\d+, which has exited\\): start one`,
      ),
    );
  });
});

describe('greco logs --since', () => {
  const now = Date.parse('2025-01-01T12:00:00Z');
  it.each([
    ['30s', '2025-01-01T11:59:30.000Z'],
    ['10m', '2025-01-01T11:50:00.000Z'],
    ['2h', '2025-01-01T10:00:00.000Z'],
    ['1d', '2024-12-31T12:00:00.000Z'],
    ['1w', '2024-12-25T12:00:00.000Z'],
    ['2024-12-31T08:00:00Z', '2024-12-31T08:00:00.000Z'],
  ])('%s is %s', (since, expected) => {
    expect(new Date(parseSince(since, now)).toISOString()).toBe(expected);
  });

  it.each(['5h30m', 'yesterday', '10'])('refuses %j as a usage error', (since) => {
    expect(() => parseSince(since, now)).toThrow(/--since takes a duration/);
  });
});
