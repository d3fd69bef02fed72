/**
 * Remote tracks as Subsonic songs: a provider's search hits come after the local songs in search3
 * (never for an empty, library-sync query), with stable ids; streaming such a hit adds it to the
 * catalog and plays it through the real caching proxy (real yt-dlp against a loopback origin),
 * first from the origin, then from the cache with Range.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachServerEngine } from '../test/engines.js';
import type { RemoteMetadata, RemoteProvider } from '../sources/providers/provider.js';
import { type Origin, startOrigin } from '../test/origin.js';
import { makeAudio } from '../test/audio.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { queryString } from '../test/subsonic/client.js';
import { assertValidXml } from '../test/subsonic/xsd.js';

/** The real URL provider (address checks, yt-dlp target) with a search that returns fixed hits. */
class SearchableUrlProvider implements RemoteProvider {
  readonly name = 'url' as const;
  searches = 0;
  constructor(
    private readonly real: RemoteProvider,
    private readonly hits: RemoteMetadata[],
  ) {}
  async search(_q: string, limit: number): Promise<RemoteMetadata[]> {
    this.searches += 1;
    return this.hits.slice(0, limit);
  }
  resolve(remoteId: string, signal?: AbortSignal) {
    return this.real.resolve(remoteId, signal);
  }
  playTarget(remoteId: string) {
    return this.real.playTarget(remoteId);
  }
}

let t: TestServer;
let origin: Origin;
let base: string;
let song: Buffer;
let provider: SearchableUrlProvider;
let auth: Record<string, string>;

// biome-ignore lint/suspicious/noExplicitAny: response trees are read as clients read them
const rest = async (method: string, q: Record<string, string | number> = {}): Promise<any> => {
  const res = await fetch(
    `${base}/rest/${method}?${queryString({ v: '1.16.1', c: 'vitest', f: 'json', ...auth, ...q })}`,
  );
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return ((await res.json()) as any)['subsonic-response'];
};

forEachServerEngine(() => {
  beforeAll(async () => {
    process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES = '1';
    origin = await startOrigin();
    // Only the URL source: the real YouTube/SoundCloud are unreachable from tests.
    t = await startTestServer({ env: { EARSHOT_SOURCES_YOUTUBE: 'false', EARSHOT_SOURCES_SOUNDCLOUD: 'false' } });
    delete process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES;
    base = await t.listen();
    const admin = await t.createUser({ username: 'admin', role: 'admin' });
    auth = { apiKey: (await t.earshot.accounts.subsonic.createApiKey(admin.id)).key };
    const path = await makeAudio(join(t.dir, 'fixtures', 'remote.mp3'), {
      seconds: 3,
      tags: { title: 'Far Away', artist: 'Origin Band' },
    });
    song = readFileSync(path);
    const url = origin.set('/far-away.mp3', { kind: 'file', path });
    const registry = t.earshot.sources.registry;
    provider = new SearchableUrlProvider(registry.get('url')!, [
      {
        source: 'url',
        remoteId: url,
        title: 'Far Away',
        artist: 'Origin Band',
        album: null,
        duration: 3,
        thumbnailUrl: null,
        webpageUrl: url,
        extractor: 'generic',
      },
    ]);
    registry.set(provider);
  });

  afterAll(async () => {
    await t?.close();
    await origin?.close();
  });

  describe('remote tracks over Subsonic', () => {
    it('search3 lists provider hits after local songs with stable ids; an empty query never asks a provider', async () => {
      const first = await rest('search3', { query: 'far away' });
      const hit = first.searchResult3.song[0];
      expect(hit).toMatchObject({
        title: 'Far Away',
        artist: 'Origin Band',
        isVideo: false,
        isDir: false,
        duration: 3,
        type: 'music',
      });
      expect(hit.id).toMatch(/^rm-url-/);
      expect(hit.path).toBe('Web/Origin Band - Far Away');
      const again = await rest('search3', { query: 'far away' });
      expect(again.searchResult3.song[0].id).toBe(hit.id);
      const xml = await fetch(
        `${base}/rest/search3?${queryString({ v: '1.16.1', c: 'vitest', ...auth, query: 'far away' })}`,
      );
      assertValidXml(await xml.text());

      const before = provider.searches;
      await rest('search3', { query: '' });
      await rest('search3', { query: '""', songCount: 500 });
      expect(provider.searches).toBe(before);
    });

    it('streams a search hit through the caching proxy: origin first, cache (with Range) after', async () => {
      const hit = (await rest('search3', { query: 'far away' })).searchResult3.song[0];
      const first = await fetch(
        `${base}/rest/stream?${queryString({ v: '1.16.1', c: 'vitest', ...auth, id: hit.id })}`,
      );
      expect(first.status).toBe(200);
      expect(first.headers.get('x-earshot-cache')).toBe('miss');
      expect(Buffer.from(await first.arrayBuffer()).equals(song)).toBe(true);

      // The hit is now a catalog song: search lists it under its catalog id, as a local-looking song.
      const found = (await rest('search3', { query: 'far away' })).searchResult3.song;
      expect(found).toHaveLength(1);
      const id = found[0].id;
      expect(id).not.toMatch(/^rm-/);
      const row = await t.earshot.database.db
        .selectFrom('tracks')
        .select(['is_cached', 'source_type'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      if (row.is_cached !== 1) {
        await new Promise<void>((resolve) => {
          const off = t.earshot.events.on('sources.cached', (e) => {
            if (e.trackId === id) {
              off();
              resolve();
            }
          });
        });
      }
      const details = (await rest('getSong', { id })).song;
      expect(details).toMatchObject({ isVideo: false, suffix: 'mp3', contentType: 'audio/mpeg' });
      expect(details.path).toMatch(/^Web\/.+\.mp3$/);

      const downloads = t.earshot.sources.runner.started.audio;
      const cached = await fetch(`${base}/rest/stream.view?${queryString({ v: '1.16.1', c: 'vitest', ...auth, id })}`, {
        headers: { range: 'bytes=10-99' },
      });
      expect(cached.status).toBe(206);
      expect(Buffer.from(await cached.arrayBuffer()).equals(song.subarray(10, 100))).toBe(true);
      expect(t.earshot.sources.runner.started.audio).toBe(downloads);

      const synced = await rest('search3', { query: '', songCount: 500 });
      expect(synced.searchResult3.song.map((s: { id: string }) => s.id)).toContain(id);
    });

    it('a malformed remote id is error 70, not a provider call', async () => {
      const r = await rest('getSong', { id: 'rm-nowhere-abc' });
      expect(r.error.code).toBe(70);
    });
  });
});
