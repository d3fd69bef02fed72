/**
 * Subsonic benchmark (issue 20 targets) on a synthetic 50,000-track catalog (rows inserted
 * directly: these methods never open the files) plus one real file for the TTFB comparison:
 *  1. an offline sync the way Symfonium does it — search3 with an empty query, 500 artists,
 *     albums and songs per page, until every section is exhausted (target ≤ 10 s);
 *  2. getAlbumList2 (mixed types) and search3 (typed words) from 16 keep-alive clients on their
 *     own thread (target p99 ≤ 20 ms);
 *  3. time to first byte of `/rest/stream` against `/stream/{id}` for the same file, alternating
 *     (target: within 10 %).
 *
 *   npm run bench:subsonic -- [--tracks 50000] [--clients 16] [--requests 3000] [--dist DIR] [--keep DIR]
 *     [--only sync,load,ttfb] [--formats json,xml]
 *
 * Runs the compiled server (server/dist): `npm run build -w server` first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sqliteOf } from './bench-server.ts';
import { benchServerEnv, percentile } from './search-load.ts';
import { measureSubsonic, subsonicMixes } from './subsonic-load.ts';

const argv = process.argv.slice(2);
const get = (name: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const TRACKS = Number(get('tracks') ?? 50_000);
const CLIENTS = Number(get('clients') ?? 16);
const REQUESTS = Number(get('requests') ?? 3000);
/** `--only sync,load,ttfb`: run only these phases (all by default). */
const ONLY = new Set((get('only') ?? 'sync,load,ttfb').split(','));
/** `--formats json,xml` for the load phase. */
const FORMATS = (get('formats') ?? 'json,xml').split(',');
const WORDS = ['love', 'night', 'blue', 'river', 'fire', 'dream', 'heart', 'light', 'road', 'city', 'rain', 'gold'];

async function main(): Promise<void> {
  // `--dist DIR` measures another build (e.g. a copy of a baseline) in the same session.
  const distArg = get('dist');
  const dist = distArg ? new URL(`file://${resolve(distArg)}/`) : new URL('../server/dist/', import.meta.url);
  const { createEarshot } = (await import(new URL('main.js', dist).href)) as typeof import('../server/src/main.ts');
  const { loadConfig } = (await import(
    new URL('config/load.js', dist).href
  )) as typeof import('../server/src/config/load.ts');
  const { newId } = (await import(new URL('shared/ids.js', dist).href)) as typeof import('../server/src/shared/ids.ts');
  // `--keep DIR`: data and catalog kept in DIR and reused by the next run (quicker comparisons).
  const keep = get('keep');
  const dataDir = keep ? resolve(keep) : mkdtempSync(join(tmpdir(), 'earshot-subsonic-bench-'));
  const musicDir = join(dataDir, 'library');
  mkdirSync(join(musicDir, 'Real'), { recursive: true });
  try {
    if (!existsSync(join(musicDir, 'Real', 'real.mp3')))
      execFileSync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:duration=30',
        '-c:a',
        'libmp3lame',
        '-b:a',
        '192k',
        join(musicDir, 'Real', 'real.mp3'),
      ]);
    const { config } = loadConfig({
      env: {
        ...benchServerEnv(dataDir, musicDir),
        EARSHOT_LOG_LEVEL: 'error',
        EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false',
      },
      argv: [],
      envFile: null,
      cwd: dataDir,
    });
    const { pino } = await import('pino');
    const earshot = await createEarshot(config, { background: false, logger: pino({ level: 'error' }) });
    try {
      // ── A synthetic catalog: 10 tracks per album, 5 albums per artist. ──
      const started = performance.now();
      const sqlite = sqliteOf(earshot);
      const now = Date.now();
      const insertArtist = sqlite.prepare(
        'insert into artists (id, name, name_key, album_count, track_count, added_at, updated_at) values (?, ?, ?, 5, 50, ?, ?)',
      );
      const insertAlbum = sqlite.prepare(
        'insert into albums (id, name, group_key, album_artist, artist_id, year, genre, track_count, duration, added_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, 10, 2400, ?, ?)',
      );
      const insertTrack = sqlite.prepare(
        'insert into tracks (id, title, artist, album, album_artist, album_id, artist_id, track_number, year, genre, duration, format, bitrate, size, local_path, added_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 240, ?, 192, 5760000, ?, ?, ?)',
      );
      const insertCredit = sqlite.prepare(
        "insert into track_artists (track_id, artist_id, role, position) values (?, ?, 'artist', 0)",
      );
      const existing = sqlite.prepare("select id from tracks where local_path = 'Real/real.mp3'").pluck().get() as
        | string
        | undefined;
      let realId = existing ?? '';
      if (!existing)
        sqlite.transaction(() => {
          const genres = ['Rock', 'Jazz', 'Pop', 'Folk', 'Electronic'];
          for (let a = 0; a < TRACKS / 50; a++) {
            const artistId = newId();
            const artist = `${WORDS[a % WORDS.length]} ${WORDS[(a * 7) % WORDS.length]} ${a}`;
            insertArtist.run(artistId, artist, artist.toLowerCase(), now, now);
            for (let b = 0; b < 5; b++) {
              const albumId = newId();
              const album = `${WORDS[(a + b) % WORDS.length]} album ${a}-${b}`;
              const year = 1960 + ((a + b) % 60);
              const genre = genres[(a + b) % genres.length];
              insertAlbum.run(albumId, album, `${albumId}`, artist, artistId, year, genre, now - a * 1000, now);
              for (let n = 1; n <= 10; n++) {
                const id = newId();
                const real = a === 0 && b === 0 && n === 1;
                if (real) realId = id;
                const title = `${WORDS[(a + b + n) % WORDS.length]} ${WORDS[(a * 3 + n) % WORDS.length]} song ${n}`;
                insertTrack.run(
                  id,
                  title,
                  artist,
                  album,
                  artist,
                  albumId,
                  artistId,
                  n,
                  year,
                  genre,
                  'mp3',
                  real ? 'Real/real.mp3' : `${artist}/${album}/${n}.mp3`,
                  now,
                  now,
                );
                insertCredit.run(id, artistId);
              }
            }
          }
        })();
      if (!existing)
        console.log(
          `catalog: ${TRACKS} tracks, ${TRACKS / 10} albums, ${TRACKS / 50} artists inserted in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );

      const user = existing
        ? { id: sqlite.prepare("select id from users where username = 'bench'").pluck().get() as string }
        : await earshot.accounts.users.create({ username: 'bench', password: 'bench-password-1', role: 'admin' });
      const { key } = await earshot.accounts.subsonic.createApiKey(user.id, 'bench');
      const base = (await earshot.listen()).replace('0.0.0.0', '127.0.0.1');
      const rest = (method: string, q: Record<string, string | number>) =>
        `${base}/rest/${method}?${new URLSearchParams({ v: '1.16.1', c: 'bench', f: 'json', apiKey: key, ...Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)])) })}`;

      // ── 1. Full sync, sequential pages as the app does it. ──
      for (let round = 1; round <= (ONLY.has('sync') ? 2 : 0); round++) {
        const t0 = performance.now();
        let songs = 0;
        let albums = 0;
        let artists = 0;
        let pages = 0;
        for (let offset = 0; ; offset += 500) {
          const res = await fetch(
            rest('search3', {
              query: '',
              songCount: 500,
              songOffset: offset,
              albumCount: 500,
              albumOffset: offset,
              artistCount: 500,
              artistOffset: offset,
            }),
          );
          const r = (
            (await res.json()) as {
              'subsonic-response': { searchResult3: { song?: unknown[]; album?: unknown[]; artist?: unknown[] } };
            }
          )['subsonic-response'].searchResult3;
          pages++;
          songs += r.song?.length ?? 0;
          albums += r.album?.length ?? 0;
          artists += r.artist?.length ?? 0;
          if (!r.song?.length && !r.album?.length && !r.artist?.length) break;
        }
        console.log(
          `sync round ${round}: ${songs} songs, ${albums} albums, ${artists} artists in ${pages} pages: ${((performance.now() - t0) / 1000).toFixed(2)} s`,
        );
      }

      // ── 2. Browsing and search load. ──
      if (ONLY.has('load')) {
        const queries = Array.from({ length: 60 }, (_, i) => {
          const w = WORDS[i % WORDS.length];
          return i % 3 === 0 ? w.slice(0, 3) : `${w} ${WORDS[(i * 5) % WORDS.length].slice(0, 2)}`;
        });
        await measureSubsonic(
          base,
          subsonicMixes({
            apiKey: key,
            requests: REQUESTS,
            albums: TRACKS / 10,
            genre: 'Jazz',
            queries,
            formats: FORMATS,
          }),
          {
            clients: CLIENTS,
            warmup: 300,
            log: console.log,
            ready: async () => {
              const from = performance.now();
              while (!earshot.catalog.search.mirrorsWarm && performance.now() - from < 60_000)
                await new Promise((resolve) => setTimeout(resolve, 20));
            },
          },
        );
      }

      // ── 3. TTFB: /rest/stream vs /stream/{id}, alternating, original file. ──
      const session = await earshot.sessions.create(user.id, { userAgent: 'bench' });
      const cookie = `earshot_session=${session.cookieValue}`;
      const ttfb = async (url: string, headers: Record<string, string>) => {
        const t0 = performance.now();
        const res = await fetch(url, { headers });
        const reader = res.body!.getReader();
        await reader.read();
        const ms = performance.now() - t0;
        await reader.cancel();
        return ms;
      };
      const native: number[] = [];
      const subsonic: number[] = [];
      for (let i = 0; i < (ONLY.has('ttfb') ? 400 : 0); i++) {
        if (i % 2) native.push(await ttfb(`${base}/stream/${realId}?format=raw`, { cookie }));
        else subsonic.push(await ttfb(rest('stream', { id: realId }), {}));
      }
      const m = (xs: number[]) => percentile(xs.slice(20), 50);
      if (ONLY.has('ttfb'))
        console.log(
          `stream TTFB median: /rest/stream ${m(subsonic).toFixed(2)} ms, /stream/{id} ${m(native).toFixed(2)} ms (ratio ${(m(subsonic) / m(native)).toFixed(2)})`,
        );
      console.log(
        `machine: ${availableParallelism()} cores, load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      );
    } finally {
      await earshot.close();
    }
  } finally {
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
