/**
 * Remote provider results as Subsonic songs. A search hit not yet in the
 * catalog gets a stable id, `rm-<source>-<base64url(remote id)>`; the first method that needs the
 * song (stream, star, scrobble, a playlist …) adds it to the catalog through the sources area
 * (from the recent-results memory, so no second provider round trip) and works on the real track
 * from then on. Hits already in the catalog are listed under their catalog id.
 */
import type { RemoteSource } from '../sources/providers/provider.js';
import type { Ctx } from './context.js';
import { songNodes } from './context.js';
import type { Node } from './envelope.js';
import { ErrorCode, SubsonicError } from './errors.js';
import { iso } from './mappers.js';

const PREFIX = 'rm-';
const PROVIDER_NAMES: Record<string, string> = { youtube: 'YouTube', soundcloud: 'SoundCloud', url: 'Web' };
/** Parameters that carry song ids, resolved before a method runs. */
export const SONG_ID_PARAMS = ['id', 'songId', 'songIdToAdd', 'current'];

export function remoteSongId(source: RemoteSource, remoteId: string): string {
  return `${PREFIX}${source}-${Buffer.from(remoteId, 'utf8').toString('base64url')}`;
}

export function isRemoteSongId(id: string): boolean {
  return id.startsWith(PREFIX);
}

function parseRemoteSongId(id: string): { source: RemoteSource; remoteId: string } | null {
  const m = /^rm-(youtube|soundcloud|url)-([A-Za-z0-9_-]{1,2000})$/.exec(id);
  if (!m) return null;
  return { source: m[1] as RemoteSource, remoteId: Buffer.from(m[2], 'base64url').toString('utf8') };
}

/** The catalog id behind a remote search hit id (adding the track to the catalog once). */
export async function resolveRemoteSongId(ctx: Ctx, id: string): Promise<string> {
  const parsed = parseRemoteSongId(id);
  const tracks = ctx.deps.remoteTracks;
  if (!parsed || !tracks) throw new SubsonicError(ErrorCode.NotFound, `Song not found: ${id.slice(0, 80)}`);
  const input =
    parsed.source === 'url' ? { url: parsed.remoteId } : { provider: parsed.source, remoteId: parsed.remoteId };
  const { track } = await tracks.upsert(input, ctx.user);
  return track.id;
}

/** Rewrites remote hit ids in the song-id parameters to catalog ids. */
export async function resolveRemoteParams(ctx: Ctx): Promise<void> {
  for (const name of SONG_ID_PARAMS) {
    const values = ctx.params.all(name);
    if (!values.some(isRemoteSongId)) continue;
    const resolved: string[] = [];
    for (const v of values) resolved.push(isRemoteSongId(v) ? await resolveRemoteSongId(ctx, v) : v);
    ctx.params.replace(name, resolved);
  }
}

/** Remote results for a search, as songs, after the local ones (within the provider timeout). */
export async function remoteSongs(ctx: Ctx, query: string, limit: number, skip: Set<string>): Promise<Node[]> {
  const search = ctx.deps.remoteSearch;
  if (!search || limit <= 0) return [];
  // The remote sections only: the local hits are search3's own (ranked once, by searchIds).
  const sections = await search.searchRemoteOnly(query, limit, ctx.user);
  const items = sections.flatMap((section) => (section.status === 'ok' ? section.items : []));
  if (items.length === 0) return []; // every provider off, backed off after failures, or nothing found
  const inCatalog = items.flatMap((i) => (i.trackId && !skip.has(i.trackId) ? [i.trackId] : []));
  const known = new Map((await songNodes(ctx, await ctx.deps.browse.songs(inCatalog))).map((n) => [n.id as string, n]));
  const out: Node[] = [];
  for (const item of items) {
    if (out.length >= limit) break;
    if (item.trackId) {
      const node = known.get(item.trackId);
      if (node) out.push(node);
      continue;
    }
    const id = remoteSongId(item.source, item.remoteId);
    const provider = PROVIDER_NAMES[item.source] ?? item.source;
    out.push({
      id,
      isDir: false,
      title: item.title,
      album: item.album ?? undefined,
      artist: item.artist ?? undefined,
      coverArt: id,
      duration: item.duration === null ? undefined : Math.round(item.duration),
      path: `${provider}/${`${item.artist ? `${item.artist} - ` : ''}${item.title}`.replace(/[/\\]/g, '_')}`,
      isVideo: false,
      playCount: 0,
      created: iso(ctx.deps.clock.now()),
      type: 'music',
      played: undefined,
      bpm: 0,
      comment: '',
      sortName: '',
      mediaType: 'song',
      musicBrainzId: '',
      channelCount: 0,
      samplingRate: 0,
      displayArtist: item.artist ?? '',
      displayAlbumArtist: '',
      explicitStatus: '',
      isrc: [],
      genres: [],
      replayGain: {},
      artists: [],
      albumArtists: [],
    });
  }
  return out;
}
