/**
 * JSON shapes compared field by field with Navidrome's response snapshots (shared/spec): every
 * field we send must exist in the snapshot for the same element and have the same JSON type
 * (number, string, boolean, array, object), lists must be arrays even of one, and the envelope
 * must carry the same members. Skipped (and said so) when ../shared/spec is absent.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../db/engine.js';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { type RestCaller, restCaller } from '../test/subsonic/client.js';
import { buildLibrary, idsOf } from '../test/subsonic/library.js';

const DIR = join(import.meta.dirname, '../../../../shared/spec/subsonic/navidrome-response-snapshots');
const AVAILABLE = existsSync(DIR);
if (!AVAILABLE) console.warn(`Navidrome snapshot comparison skipped: ${DIR} is absent.`);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function snapshot(name: string): Record<string, Json> {
  return JSON.parse(readFileSync(join(DIR, `Responses ${name} should match .JSON`), 'utf8'));
}

const kind = (v: Json) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/**
 * Every field name any snapshot uses, with the JSON types seen for it, plus the XSD's attribute
 * and element names: a field outside both is invented (or misspelt); a field whose type differs
 * from every snapshot's is a client crash waiting to happen.
 */
function knownFields(): Map<string, Set<string>> {
  const known = new Map<string, Set<string>>();
  const walk = (v: Json) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const kinds = known.get(k) ?? new Set<string>();
        kinds.add(kind(child));
        known.set(k, kinds);
        walk(child);
      }
    }
  };
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.JSON')))
    walk(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
  // The OpenSubsonic schemas name the fields the snapshots leave empty (`played`, …).
  const schemas = join(DIR, '../../opensubsonic/openapi/schemas');
  const typeOf = (p: Record<string, unknown>): string | null =>
    p.type === 'integer' || p.type === 'number' ? 'number' : typeof p.type === 'string' ? p.type : p.$ref ? null : null;
  if (existsSync(schemas)) {
    for (const file of readdirSync(schemas).filter((f) => f.endsWith('.json'))) {
      const schema = JSON.parse(readFileSync(join(schemas, file), 'utf8')) as {
        properties?: Record<string, Record<string, unknown>>;
      };
      for (const [k, prop] of Object.entries(schema.properties ?? {})) {
        const kinds = known.get(k) ?? new Set<string>();
        const t = typeOf(prop);
        if (t) kinds.add(t);
        known.set(k, kinds);
      }
    }
  }
  const xsd = readFileSync(join(DIR, '../subsonic-rest-api-1.16.1.xsd'), 'utf8');
  for (const m of xsd.matchAll(/<xs:(?:attribute|element) name="([^"]+)"/g))
    if (!known.has(m[1])) known.set(m[1], new Set());
  return known;
}

/** Differences of `mine` against `theirs` (same element in a snapshot), with their paths. */
export function shapeDiff(mine: Json, theirs: Json | undefined, known: Map<string, Set<string>>, path = ''): string[] {
  if (theirs !== undefined && kind(mine) !== kind(theirs))
    return [`${path}: ${kind(mine)} where Navidrome has ${kind(theirs)}`];
  if (Array.isArray(mine)) {
    return mine.length ? shapeDiff(mine[0], Array.isArray(theirs) ? theirs[0] : undefined, known, `${path}[0]`) : [];
  }
  if (kind(mine) !== 'object') return [];
  const m = mine as Record<string, Json>;
  const t = (theirs ?? {}) as Record<string, Json>;
  const out: string[] = [];
  for (const key of Object.keys(m)) {
    const kinds = known.get(key);
    if (!kinds) out.push(`${path}.${key}: unknown to the spec and every snapshot`);
    else if (!(key in t) && kinds.size > 0 && !kinds.has(kind(m[key])))
      out.push(`${path}.${key}: ${kind(m[key])} where snapshots have ${[...kinds].join('/')}`);
    else out.push(...shapeDiff(m[key], key in t ? t[key] : undefined, known, `${path}.${key}`));
  }
  return out;
}

let t: TestServer;
let api: RestCaller;
let ids: Awaited<ReturnType<typeof idsOf>>;
/** Each engine's answers to the table below, ids and times made comparable ({@link comparable}). */
const answers: Record<Engine, Map<string, string>> = { sqlite: new Map(), postgres: new Map() };
/** Catalog and user ids of this engine's server with the names they stand for. */
let labels: [id: string, label: string][] = [];

/**
 * An answer with what legitimately differs between two servers on the same data taken out: the
 * catalog's and users' random ids become their names, other ids (playlists, shares), share links and
 * times a placeholder. What is left — order, values, types, present and absent fields — must not differ.
 */
function comparable(answer: Json, unordered: boolean): string {
  let text = JSON.stringify(answer);
  // Ids stand inside JSON strings: a name put there is escaped as JSON (titles have quotes).
  for (const [id, label] of labels) text = text.replaceAll(id, JSON.stringify(label).slice(1, -1));
  text = text
    .replace(/"\/share\/[^"]+"/g, '"/share/<token>"')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/"(lastModified|changed|created|minutesAgo)":\d+/g, '"$1":0')
    .replace(/\b[A-Za-z0-9]{22}\b/g, '<id>');
  return unordered ? JSON.stringify(sortLists(JSON.parse(text))) : text;
}

/** Every list sorted (for answers in random order by design, like getSimilarSongs2). */
function sortLists(v: Json): Json {
  if (Array.isArray(v))
    return v
      .map(sortLists)
      .map((e) => [JSON.stringify(e), e] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, e]) => e);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, sortLists(e)]));
  return v;
}
/** Methods whose lists come in random order by design: compared as sets. */
const RANDOM_ORDER = new Set(['getSimilarSongs2', 'getRandomSongs']);

forEachServerEngine((engine) => {
  beforeAll(async () => {
    if (!AVAILABLE) return;
    t = await startTestServer({ env: { EARSHOT_SUBSONIC_REMOTE_SEARCH: 'false' } });
    const user = await t.createUser({ username: 'alice', role: 'admin' });
    await buildLibrary(t);
    ids = await idsOf(t);
    api = restCaller(t, { apiKey: (await t.earshot.accounts.subsonic.createApiKey(user.id)).key });
    // Data everywhere: stars, ratings, plays, a queue, a bookmark, a playlist, a share, lyrics.
    const dawn = ids.track('Dawn').id;
    await api.json('star', { id: dawn, albumId: ids.album('First Light').id, artistId: ids.artist('Alpha Band').id });
    await api.json('setRating', { id: dawn, rating: 3 });
    await api.json('scrobble', { id: dawn });
    await api.json('scrobble', { id: dawn, submission: 'false' });
    await api.json('savePlayQueue', { id: [dawn, ids.track('Gale').id], current: dawn, position: 1000 });
    await api.json('createBookmark', { id: dawn, position: 500, comment: 'here' });
    await api.json('createPlaylist', { name: 'P', songId: [dawn] });
    await api.json('createShare', { id: dawn });
    await t.earshot.database.db.updateTable('tracks').set({ lyrics: '[00:01.00]One' }).where('id', '=', dawn).execute();
    // More activity for the lists compared across engines: a rated album, plays of several songs.
    const gale = ids.track('Gale').id;
    await api.json('star', { id: gale });
    await api.json('setRating', { id: ids.album('Second Wind').id, rating: 4 });
    // Distinct play counts (Gale 3, Echo 2, Dawn 1): "frequent" has no ties left to the random ids.
    const echo = ids.track('Echo').id;
    for (const id of [gale, gale, gale, echo, echo]) await api.json('scrobble', { id, submission: 'true' });
    const db = t.earshot.database.db;
    // Albums of one scan can share a time, and ties are broken by the random ids: fixed, distinct
    // times make "newest" the same order on both engines' servers (see comparable()).
    const albums = await db.selectFrom('albums').select(['id', 'name']).orderBy('name').execute();
    for (const [i, a] of albums.entries())
      await db
        .updateTable('albums')
        .set({ added_at: Date.UTC(2024, 0, 1 + i) })
        .where('id', '=', a.id)
        .execute();
    labels = [
      ...(await db.selectFrom('tracks').select(['id', 'title as name']).execute()).map((r) => [
        r.id,
        `track:${r.name}`,
      ]),
      ...(await db.selectFrom('albums').select(['id', 'name']).execute()).map((r) => [r.id, `album:${r.name}`]),
      ...(await db.selectFrom('artists').select(['id', 'name']).execute()).map((r) => [r.id, `artist:${r.name}`]),
      ...(await db.selectFrom('users').select(['id', 'username as name']).execute()).map((r) => [
        r.id,
        `user:${r.name}`,
      ]),
    ] as [string, string][];
  });
  afterAll(() => t?.close());

  describe.skipIf(!AVAILABLE)('JSON shapes vs Navidrome snapshots', () => {
    const known = AVAILABLE ? knownFields() : new Map<string, Set<string>>();
    const table: [string, string, () => Record<string, string>][] = [
      ['EmptyResponse', 'ping', () => ({})],
      ['License', 'getLicense', () => ({})],
      ['MusicFolders with data', 'getMusicFolders', () => ({})],
      ['Indexes with data', 'getIndexes', () => ({})],
      ['Artist with OpenSubsonic data', 'getArtists', () => ({})],
      ['Child with data', 'getMusicDirectory', () => ({ id: ids.album('First Light').id })],
      ['Directory with data', 'getMusicDirectory', () => ({ id: ids.artist('Alpha Band').id })],
      ['AlbumWithSongsID3 with data', 'getAlbum', () => ({ id: ids.album('First Light').id })],
      ['Genres with data', 'getGenres', () => ({})],
      ['AlbumList with data', 'getAlbumList', () => ({ type: 'newest' })],
      ['TopSongs with data', 'getTopSongs', () => ({ artist: 'Alpha Band' })],
      ['SimilarSongs2 with data', 'getSimilarSongs2', () => ({ id: ids.artist('Alpha Band').id })],
      ['NowPlaying with data', 'getNowPlaying', () => ({})],
      ['PlayQueue with data', 'getPlayQueue', () => ({})],
      ['PlayQueueByIndex with data', 'getPlayQueueByIndex', () => ({})],
      ['Bookmarks with data', 'getBookmarks', () => ({})],
      ['Playlists with data', 'getPlaylists', () => ({})],
      ['Shares with data', 'getShares', () => ({})],
      ['ScanStatus with data', 'getScanStatus', () => ({})],
      ['User with data', 'getUser', () => ({ username: 'alice' })],
      ['Users with data', 'getUsers', () => ({})],
      ['OpenSubsonicExtensions with data', 'getOpenSubsonicExtensions', () => ({})],
      ['LyricsList with data', 'getLyricsBySongId', () => ({ id: ids.track('Dawn').id })],
      ['Lyrics with data', 'getLyrics', () => ({ artist: 'Alpha Band', title: 'Dawn' })],
      ['ArtistInfo with data', 'getArtistInfo', () => ({ id: ids.artist('Alpha Band').id })],
      ['AlbumInfo with data', 'getAlbumInfo', () => ({ id: ids.album('First Light').id })],
      ['InternetRadioStations without data', 'getInternetRadioStations', () => ({})],
    ];

    it.each(table)('%s ↔ %s', async (snap, method, q) => {
      const mine = (await api.json(method, q())) as Record<string, Json>;
      answers[engine].set(`${snap} ↔ ${method}`, comparable(mine, RANDOM_ORDER.has(method)));
      const theirs = snapshot(snap);
      // The envelope: same members, our own type.
      expect(Object.keys(theirs).filter((k) => !(k in mine))).toEqual([]);
      expect(mine.type).toBe('earshot');
      expect(shapeDiff(mine, theirs, known)).toEqual([]);
    });

    // Answers with no Navidrome snapshot, compared across engines only (every list type and order).
    const cross: [string, Record<string, string>, ('unordered' | undefined)?][] = [
      ...['newest', 'highest', 'frequent', 'recent', 'alphabeticalByName', 'alphabeticalByArtist', 'starred'].flatMap(
        (type): [string, Record<string, string>][] => [
          ['getAlbumList', { type }],
          ['getAlbumList2', { type }],
        ],
      ),
      ['getAlbumList2', { type: 'byYear', fromYear: '2010', toYear: '1990' }],
      ['getAlbumList2', { type: 'byYear', fromYear: '1990', toYear: '2010' }],
      ['getAlbumList2', { type: 'byGenre', genre: 'rock' }],
      ['getAlbumList2', { type: 'newest', size: '2', offset: '1' }],
      ['getRandomSongs', { size: '10' }],
      ['getSongsByGenre', { genre: 'Rock' }],
      ['getStarred', {}],
      ['getStarred2', {}],
      // A library sync lists everything by id (random ids: compared as sets).
      ['search3', { query: '' }, 'unordered'],
      ['search3', { query: 'a' }],
      ['search2', { query: 'dawn' }],
      ['getPlaylists', {}],
      ['getGenres', {}],
      ['getArtists', {}],
      ['getTopSongs', { artist: 'alpha band' }],
      ['getLyrics', { artist: 'ALPHA BAND', title: 'dawn' }],
    ];
    it.each(cross)('the same on both engines: %s %o', async (method, q, order) => {
      const mine = (await api.json(method, q)) as Record<string, Json>;
      expect(mine.status).toBe('ok');
      const unordered = order === 'unordered' || RANDOM_ORDER.has(method);
      answers[engine].set(`${method} ${JSON.stringify(q)}`, comparable(mine, unordered));
    });

    if (engine === 'postgres') {
      it('PostgreSQL answers what SQLite answers on the same data (ids and times aside)', (ctx) => {
        // The SQLite block ran first in this file; a run filtered to this block has nothing to compare.
        if (answers.sqlite.size === 0) ctx.skip();
        expect(answers.postgres.size).toBe(table.length + cross.length);
        const differing = [...answers.postgres].filter(([call, answer]) => answer !== answers.sqlite.get(call));
        expect(Object.fromEntries(differing)).toEqual(
          Object.fromEntries(differing.map(([call]) => [call, answers.sqlite.get(call)])),
        );
      });
    }

    it('the comparison catches a wrong type, an invented field and a single object for a list', () => {
      const song = { id: '1', title: 't' };
      expect(shapeDiff({ song: { ...song, duration: '3' } }, { song: { ...song } }, known)).toEqual([
        '.song.duration: string where snapshots have number',
      ]);
      expect(shapeDiff({ song: { ...song, durationSecs: 3 } }, { song }, known)).toEqual([
        '.song.durationSecs: unknown to the spec and every snapshot',
      ]);
      expect(shapeDiff({ entry: song }, { entry: [song] }, known)).toEqual([
        '.entry: object where Navidrome has array',
      ]);
    });
  });
});
