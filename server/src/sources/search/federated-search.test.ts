/**
 * Federated search through the real route, the real catalog FTS search and the real registry;
 * only the YouTube/SoundCloud providers are test doubles (the real services are unreachable).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../shared/ids.js';
import { startTestServer, type TestServer, type TestUser } from '../../test/harness.js';
import type { RemoteMetadata, RemoteProvider, RemoteSource } from '../providers/provider.js';
import { forEachServerEngine } from '../../test/engines.js';

let t: TestServer;
let user: TestUser;
let headers: Record<string, string>;

function meta(source: RemoteSource, remoteId: string, title: string): RemoteMetadata {
  return {
    source,
    remoteId,
    title,
    artist: 'Remote Artist',
    album: null,
    duration: 200,
    thumbnailUrl: null,
    webpageUrl: null,
    extractor: null,
  };
}

/** A provider that never answers and ignores its signal (the worst case for the timeout). */
class HangingProvider implements RemoteProvider {
  readonly name = 'youtube' as const;
  signals: AbortSignal[] = [];
  search(_q: string, _limit: number, signal: AbortSignal): Promise<RemoteMetadata[]> {
    this.signals.push(signal);
    return new Promise(() => {});
  }
  async resolve(): Promise<RemoteMetadata> {
    throw new Error('unused');
  }
  async playTarget(): Promise<never> {
    throw new Error('unused');
  }
}

class FailingProvider implements RemoteProvider {
  readonly name = 'soundcloud' as const;
  async search(): Promise<RemoteMetadata[]> {
    throw new Error('HTTP Error 503: Service Unavailable');
  }
  async resolve(): Promise<RemoteMetadata> {
    throw new Error('unused');
  }
  async playTarget(): Promise<never> {
    throw new Error('unused');
  }
}

class FixedProvider implements RemoteProvider {
  constructor(
    readonly name: RemoteSource,
    private readonly items: RemoteMetadata[],
  ) {}
  async search(_q: string, limit: number): Promise<RemoteMetadata[]> {
    return this.items.slice(0, limit);
  }
  async resolve(): Promise<RemoteMetadata> {
    throw new Error('resolve must not be needed right after a search');
  }
  async playTarget(remoteId: string) {
    return { target: `https://www.youtube.com/watch?v=${remoteId}` };
  }
}

async function insertTrack(values: {
  title: string;
  artist: string;
  source?: 'local' | 'youtube';
  remoteId?: string;
  cached?: 0 | 1;
}) {
  const id = newId();
  const now = Date.now();
  await t.earshot.database.db
    .insertInto('tracks')
    .values({
      id,
      title: values.title,
      artist: values.artist,
      source_type: values.source ?? 'local',
      remote_id: values.remoteId ?? null,
      local_path: values.source === 'youtube' ? null : `${values.artist}/${values.title}.mp3`,
      is_cached: values.cached ?? 0,
      added_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

forEachServerEngine(() => {
  beforeAll(async () => {
    t = await startTestServer({ env: { EARSHOT_PROVIDER_TIMEOUT_MS: '300' } });
    user = await t.createUser({ username: 'erin' });
    headers = await t.authHeaders(user);
    await insertTrack({ title: 'Halo', artist: 'Beyoncé' });
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('federated search', () => {
    it('returns local results while one provider hangs and another fails', async () => {
      const hanging = new HangingProvider();
      t.earshot.sources.registry.set(hanging);
      t.earshot.sources.registry.set(new FailingProvider());
      const res = await t.app.inject({ url: '/api/v1/search?q=halo&limit=5', headers });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.query).toBe('halo');
      expect(body.local.status).toBe('ok');
      expect(body.local.tracks.map((x: { title: string }) => x.title)).toEqual(['Halo']);
      const byProvider = Object.fromEntries(body.remote.map((s: { provider: string }) => [s.provider, s]));
      expect(byProvider.youtube).toMatchObject({ status: 'timeout', items: [] });
      expect(byProvider.youtube.tookMs).toBeGreaterThanOrEqual(290);
      expect(byProvider.soundcloud).toMatchObject({
        status: 'error',
        error: 'HTTP Error 503: Service Unavailable',
        items: [],
      });
      // A user without the URL permission sees that source as disabled; no URL was fetched.
      expect(byProvider.url.status).toBe('disabled');
      // The hanging provider was told to stop (its yt-dlp / request would be killed).
      expect(hanging.signals.at(-1)?.aborted).toBe(true);
    });

    it('backs off a failing provider: not asked again on the next keystrokes, asked again once it is replaced', async () => {
      let calls = 0;
      class CountingFailure extends FailingProvider {
        override async search(): Promise<RemoteMetadata[]> {
          calls++;
          throw new Error('refused: The host could not be resolved');
        }
      }
      t.earshot.sources.registry.set(new CountingFailure());
      const soundcloud = async (q: string) =>
        (await t.app.inject({ url: `/api/v1/search?q=${q}&limit=5`, headers }))
          .json()
          .remote.find((s: { provider: string }) => s.provider === 'soundcloud');
      expect(await soundcloud('hal')).toMatchObject({ status: 'error', retryInSeconds: 15 });
      expect(calls).toBe(1);
      const again = await soundcloud('halo');
      expect(again).toMatchObject({ status: 'error', error: 'refused: The host could not be resolved', items: [] });
      expect(again.retryInSeconds).toBeGreaterThan(0);
      expect(again.retryInSeconds).toBeLessThanOrEqual(15);
      expect(calls).toBe(1);
      t.earshot.sources.registry.set(new FixedProvider('soundcloud', [meta('soundcloud', 'sc-1', 'Halo (live)')]));
      expect(await soundcloud('halo')).toMatchObject({ status: 'ok', items: [{ title: 'Halo (live)' }] });
    });

    it('streams NDJSON sections, local first, then each provider as it completes', async () => {
      t.earshot.sources.registry.set(new HangingProvider());
      t.earshot.sources.registry.set(new FailingProvider());
      const res = await t.app.inject({ url: '/api/v1/search/stream?q=halo', headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('application/x-ndjson');
      const lines = res.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ section: 'local', local: { status: 'ok' } });
      expect(lines[0].local.tracks[0].title).toBe('Halo');
      const remote = lines.slice(1).map((l) => [l.remote.provider, l.remote.status]);
      // Instant sections (disabled, failed) arrive before the one that waited for its timeout.
      expect(remote).toHaveLength(3);
      expect(remote.at(-1)).toEqual(['youtube', 'timeout']);
      expect(remote.slice(0, 2)).toEqual(
        expect.arrayContaining([
          ['url', 'disabled'],
          ['soundcloud', 'error'],
        ]),
      );
    });

    it('marks remote hits already in the catalog: cached, trackId and the user’s like', async () => {
      const cachedId = await insertTrack({
        title: 'Cached Song',
        artist: 'Remote Artist',
        source: 'youtube',
        remoteId: 'AAAAAAAAAAA',
        cached: 1,
      });
      await t.earshot.database.db
        .insertInto('user_activity')
        .values({ user_id: user.id, item_type: 'track', item_id: cachedId, is_liked: 1, liked_at: Date.now() })
        .execute();
      t.earshot.sources.registry.set(
        new FixedProvider('youtube', [
          meta('youtube', 'AAAAAAAAAAA', 'Cached Song'),
          meta('youtube', 'BBBBBBBBBBB', 'New Song'),
        ]),
      );
      t.earshot.sources.registry.setEnabled('soundcloud', false);
      const res = await t.app.inject({ url: '/api/v1/search?q=song', headers });
      const yt = res.json().remote.find((s: { provider: string }) => s.provider === 'youtube');
      expect(yt.status).toBe('ok');
      expect(yt.items).toEqual([
        expect.objectContaining({
          source: 'youtube',
          remoteId: 'AAAAAAAAAAA',
          cached: true,
          trackId: cachedId,
          liked: true,
        }),
        expect.objectContaining({
          source: 'youtube',
          remoteId: 'BBBBBBBBBBB',
          cached: false,
          trackId: null,
          liked: false,
        }),
      ]);
      expect(res.json().remote.find((s: { provider: string }) => s.provider === 'soundcloud').status).toBe('disabled');

      // Search hits alone do not fill the catalog; adding one does, from the search's metadata.
      const count = async () =>
        Number(
          (
            await t.earshot.database.db
              .selectFrom('tracks')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const before = await count();
      const jsonRuns = t.earshot.sources.runner.started.json;
      const add = await t.app.inject({
        method: 'POST',
        url: '/api/v1/remote/tracks',
        headers,
        payload: { provider: 'youtube', remoteId: 'BBBBBBBBBBB' },
      });
      expect(add.statusCode, add.body).toBe(201);
      expect(add.json()).toMatchObject({
        source: 'youtube',
        remoteId: 'BBBBBBBBBBB',
        title: 'New Song',
        artist: 'Remote Artist',
        cached: false,
        liked: false,
      });
      expect(await count()).toBe(before + 1);
      expect(t.earshot.sources.runner.started.json).toBe(jsonRuns);
      // Adding it again is deduplicated by (source, remote id).
      const again = await t.app.inject({
        method: 'POST',
        url: '/api/v1/remote/tracks',
        headers,
        payload: { provider: 'youtube', remoteId: 'BBBBBBBBBBB' },
      });
      expect(again.statusCode).toBe(200);
      expect(again.json().id).toBe(add.json().id);
      expect(await count()).toBe(before + 1);
      t.earshot.sources.registry.setEnabled('soundcloud', true);
    });

    it('validates the query and requires a signed-in user', async () => {
      expect((await t.app.inject({ url: '/api/v1/search?q=halo' })).statusCode).toBe(401);
      expect((await t.app.inject({ url: '/api/v1/search', headers })).statusCode).toBe(400);
      expect((await t.app.inject({ url: `/api/v1/search?q=${'x'.repeat(201)}`, headers })).statusCode).toBe(400);
      const sqlish = await t.app.inject({
        url: `/api/v1/search?q=${encodeURIComponent("' OR 1=1--")}&limit=3`,
        headers,
      });
      expect(sqlish.statusCode).toBe(200);
    });
  });
});
