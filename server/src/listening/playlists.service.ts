/**
 * Playlists: private by default; public ones are readable by everyone and writable only by their
 * owner. Someone else's private playlist does not exist as far as the caller can tell (404).
 * Entries snapshot the track's title/artist/album/duration, so a deleted track stays listed as
 * unavailable. M3U8 export/import lives here too (matching by path, then by tags).
 */
import { isAbsolute, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthUser } from '../accounts/auth-context.js';
import type { Selectable } from 'kysely';
import type { TracksTable } from '../db/schema.js';
import { Forbidden, Invalid, NotFound } from '../shared/errors.js';
import type { EventBus } from '../shared/events.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { formatM3u, type M3uEntry, parseM3u } from './m3u.js';
import type { LikedFlags } from '../catalog/liked.js';
import type { PlaylistRow, PlaylistsRepository, TrackSnapshot } from './playlists.repository.js';
import {
  MAX_TRACKS_PER_ADD,
  PLAYLIST_DESCRIPTION_MAX,
  PLAYLIST_NAME_MAX,
  type PlaylistDto,
  type PlaylistEntryDto,
} from './playlists.schemas.js';
import { trackDtos } from './tracks-dto.js';

export const MAX_IMPORT_LINES = 20_000;

export interface PlaylistsOptions {
  repo: PlaylistsRepository;
  liked: LikedFlags;
  clock: Clock;
  events: EventBus;
  logger: Logger;
  musicDir: string;
  publicUrl?: string;
}

function toPlaylistDto(row: PlaylistRow, userId: string): PlaylistDto {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    ownerId: row.owner_id,
    ownerName: row.owner_name,
    isPublic: row.is_public === 1,
    isOffline: row.is_offline === 1,
    isOwner: row.owner_id === userId,
    trackCount: Number(row.track_count),
    duration: Number(row.duration),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function cleanName(name: string): string {
  const n = name.replace(/[\x00-\x1f\x7f]/g, ' ').trim();
  if (!n) throw new Invalid('A playlist needs a name.', { field: 'name' });
  if (n.length > PLAYLIST_NAME_MAX)
    throw new Invalid(`A playlist name can have at most ${PLAYLIST_NAME_MAX} characters.`, { field: 'name' });
  return n;
}

function cleanDescription(d: string): string {
  if (d.length > PLAYLIST_DESCRIPTION_MAX) {
    throw new Invalid(`A description can have at most ${PLAYLIST_DESCRIPTION_MAX} characters.`, {
      field: 'description',
    });
  }
  return d.trim();
}

export class PlaylistsService {
  private readonly repo: PlaylistsRepository;

  constructor(private readonly options: PlaylistsOptions) {
    this.repo = options.repo;
  }

  async list(user: AuthUser, limit: number, offset: number) {
    const { rows, total } = await this.repo.listVisible(user.id, limit, offset);
    return { items: rows.map((r) => toPlaylistDto(r, user.id)), total, limit, offset };
  }

  async create(
    user: AuthUser,
    input: { name: string; description?: string; isPublic?: boolean },
  ): Promise<PlaylistDto> {
    const id = await this.repo.insert({
      ownerId: user.id,
      name: cleanName(input.name),
      description: cleanDescription(input.description ?? ''),
      isPublic: input.isPublic ?? false,
      now: this.options.clock.now(),
    });
    return toPlaylistDto((await this.repo.find(id))!, user.id);
  }

  async get(user: AuthUser, id: string): Promise<PlaylistDto & { entries: PlaylistEntryDto[] }> {
    const row = await this.readable(user, id);
    const entries = await this.repo.entries(id);
    const tracks = await trackDtos(
      this.options.liked,
      user.id,
      entries.flatMap((e) => (e.track ? [e.track] : [])),
    );
    const byId = new Map(tracks.map((t) => [t.id, t]));
    return {
      ...toPlaylistDto(row, user.id),
      entries: entries.map((e) => ({
        entryId: e.id,
        position: e.position,
        available: e.track !== null,
        track: e.track ? (byId.get(e.track.id) ?? null) : null,
        title: e.title,
        artist: e.artist,
        album: e.album,
        duration: e.duration,
      })),
    };
  }

  async update(
    user: AuthUser,
    id: string,
    patch: { name?: string; description?: string; isPublic?: boolean; isOffline?: boolean },
  ): Promise<PlaylistDto> {
    const before = await this.writable(user, id);
    await this.repo.update(
      id,
      {
        name: patch.name === undefined ? undefined : cleanName(patch.name),
        description: patch.description === undefined ? undefined : cleanDescription(patch.description),
        isPublic: patch.isPublic,
        isOffline: patch.isOffline,
      },
      this.options.clock.now(),
    );
    const after = (await this.repo.find(id))!;
    if (after.is_offline !== before.is_offline) {
      this.options.events.emit('playlist.offlineChanged', {
        playlistId: id,
        ownerId: after.owner_id,
        isOffline: after.is_offline === 1,
      });
    }
    return toPlaylistDto(after, user.id);
  }

  async delete(user: AuthUser, id: string): Promise<void> {
    await this.writable(user, id);
    await this.repo.delete(id);
    this.options.logger.info({ area: 'listening', playlistId: id, userId: user.id }, 'playlist deleted');
  }

  async addTracks(user: AuthUser, id: string, trackIds: string[], position?: number) {
    const playlist = await this.writable(user, id);
    if (trackIds.length === 0) throw new Invalid('Give at least one track id.', { field: 'trackIds' });
    if (trackIds.length > MAX_TRACKS_PER_ADD)
      throw new Invalid(`At most ${MAX_TRACKS_PER_ADD} tracks at once.`, { field: 'trackIds' });
    const found = new Map((await this.repo.tracksByIds(trackIds)).map((t) => [t.id, t]));
    const unknown = [...new Set(trackIds.filter((t) => !found.has(t)))];
    if (unknown.length > 0)
      throw new Invalid(`Unknown track ids: ${unknown.slice(0, 10).join(', ')}`, { field: 'trackIds', unknown });
    const at = await this.insert(
      playlist,
      trackIds.map((t) => found.get(t)!),
      position,
    );
    return { added: trackIds.length, position: at };
  }

  async removeEntry(user: AuthUser, id: string, entryId: string): Promise<void> {
    await this.writable(user, id);
    if (!(await this.repo.removeEntry(id, entryId, this.options.clock.now())))
      throw new NotFound('playlist entry', entryId);
  }

  async moveEntry(user: AuthUser, id: string, entryId: string, toPosition: number): Promise<void> {
    await this.writable(user, id);
    if (!(await this.repo.moveEntry(id, entryId, toPosition, this.options.clock.now())))
      throw new NotFound('playlist entry', entryId);
  }

  /**
   * The playlist as M3U8 text plus its name (for the download file name). Locations are stream
   * URLs (`EARSHOT_PUBLIC_URL` + `/stream/{id}`) for everyone: the JSON API hides file paths from
   * non-admins, so the export does too. `paths: true` (administrators only, like `path` in the
   * JSON API) writes library-relative paths instead, for other players reading the same library.
   */
  async exportM3u(
    user: AuthUser,
    id: string,
    options: { paths?: boolean } = {},
  ): Promise<{ name: string; body: string }> {
    if (options.paths && user.role !== 'admin')
      throw new Forbidden('Only an administrator can export file paths; the default export uses stream URLs.');
    const playlist = await this.readable(user, id);
    const entries: M3uEntry[] = [];
    const notes: string[] = [];
    for (const e of await this.repo.entries(id)) {
      if (!e.track) {
        notes.push(`unavailable: ${e.artist ? `${e.artist} - ` : ''}${e.title}`);
        continue;
      }
      const location = this.locationOf(e.track, options.paths === true);
      entries.push({ title: e.title, artist: e.artist, duration: e.duration, location });
    }
    return { name: playlist.name, body: formatM3u(playlist.name, entries, notes) };
  }

  /** Creates a playlist from M3U8 text; entries are matched by path (relative to the library), then by tags. */
  async importM3u(user: AuthUser, input: { name?: string; m3u: string }) {
    const parsed = parseM3u(input.m3u);
    if (parsed.items.length > MAX_IMPORT_LINES)
      throw new Invalid(`A playlist can import at most ${MAX_IMPORT_LINES} entries.`);
    const name = input.name?.trim() || parsed.name || 'Imported playlist';
    const matched: TrackSnapshot[] = [];
    const unmatched: { line: number; location: string; title: string | null }[] = [];
    for (const item of parsed.items) {
      const track = await this.match(item);
      if (track) matched.push(track);
      else unmatched.push({ line: item.line, location: item.location, title: item.title ?? null });
    }
    const created = await this.create(user, { name });
    const playlist = (await this.repo.find(created.id))!;
    if (matched.length > 0) await this.insert(playlist, matched, undefined);
    this.options.logger.info(
      { area: 'listening', playlistId: created.id, matched: matched.length, unmatched: unmatched.length },
      'playlist imported',
    );
    return {
      playlist: toPlaylistDto((await this.repo.find(created.id))!, user.id),
      matched: matched.length,
      unmatched,
    };
  }

  private async insert(playlist: PlaylistRow, tracks: TrackSnapshot[], position: number | undefined) {
    const at = await this.repo.insertEntries(playlist.id, tracks, position, this.options.clock.now());
    this.options.events.emit('playlist.tracksAdded', {
      playlistId: playlist.id,
      ownerId: playlist.owner_id,
      trackIds: [...new Set(tracks.map((t) => t.id))],
    });
    return at;
  }

  private async match(item: { location: string; title?: string; artist?: string }): Promise<TrackSnapshot | undefined> {
    const streamId = /(?:^|\/)stream\/([A-Za-z0-9_-]{1,64})(?:[?#].*)?$/.exec(item.location)?.[1];
    if (streamId) {
      const [t] = await this.repo.tracksByIds([streamId]);
      if (t) return t;
    }
    const rel = this.relativeLibraryPath(item.location);
    if (rel) {
      const t = await this.repo.findLocalByPath(rel);
      if (t) return t;
    }
    if (item.title) {
      const candidates = await this.repo.findByTags(item.title, item.artist);
      // Title alone must be unambiguous; with an artist the best (local, oldest) match wins.
      if (candidates.length === 1 || (item.artist !== undefined && candidates.length > 0)) return candidates[0];
    }
    return undefined;
  }

  /** A location as a path relative to the music dir, or null (URL elsewhere, outside the library). */
  private relativeLibraryPath(location: string): string | null {
    let path = location;
    if (/^file:/i.test(path)) {
      try {
        path = fileURLToPath(path);
      } catch {
        return null;
      }
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
      return null;
    }
    if (isAbsolute(path)) {
      path = relative(this.options.musicDir, path);
      if (sep !== '/') path = path.split(sep).join('/');
    }
    const normalized = posix.normalize(path.replace(/\\/g, '/')).replace(/^(\.\/)+/, '');
    if (!normalized || normalized.startsWith('../') || normalized === '..' || normalized.startsWith('/')) return null;
    return normalized;
  }

  /** The stream URL; with `paths`, local files by their library-relative path (remote tracks have none). */
  private locationOf(track: Selectable<TracksTable>, paths: boolean): string {
    if (paths && track.source_type === 'local' && track.local_path) return track.local_path;
    return `${(this.options.publicUrl ?? '').replace(/\/+$/, '')}/stream/${track.id}`;
  }

  private async readable(user: AuthUser, id: string): Promise<PlaylistRow> {
    const row = await this.repo.find(id);
    if (!row || (row.owner_id !== user.id && row.is_public !== 1)) throw new NotFound('playlist', id);
    return row;
  }

  private async writable(user: AuthUser, id: string): Promise<PlaylistRow> {
    const row = await this.readable(user, id);
    if (row.owner_id !== user.id) throw new Forbidden('Only the owner can change this playlist.');
    return row;
  }
}
