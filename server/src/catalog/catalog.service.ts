/**
 * Catalog browsing for signed-in users: every listed item carries the caller's `liked` flag, and
 * track details show the file path (relative to the library) to administrators only.
 */
import type { AuthUser } from '../accounts/auth-context.js';
import { NotFound } from '../shared/errors.js';
import type { AlbumSort, ArtistSort, CatalogRepository, Page, TrackSort } from './catalog.repository.js';
import { toAlbumDto, toArtistDto, toTrackDto } from './dto.js';
import type { LikedFlags } from './liked.js';

export class CatalogService {
  constructor(
    private readonly repo: CatalogRepository,
    private readonly liked: LikedFlags,
  ) {}

  async artists(user: AuthUser, sort: ArtistSort, page: Page) {
    const { items, total } = await this.repo.artists(sort, page);
    const liked = await this.liked.likedIds(
      user.id,
      'artist',
      items.map((a) => a.id),
    );
    return { items: items.map((a) => toArtistDto(a, liked.has(a.id))), total, ...page };
  }

  async artist(user: AuthUser, id: string) {
    const artist = await this.repo.artist(id);
    if (!artist) throw new NotFound('artist', id);
    const albums = await this.repo.albumsOfArtist(id);
    const [likedArtist, likedAlbums] = await Promise.all([
      this.liked.likedIds(user.id, 'artist', [id]),
      this.liked.likedIds(
        user.id,
        'album',
        albums.map((a) => a.id),
      ),
    ]);
    return {
      ...toArtistDto(artist, likedArtist.has(id)),
      albums: albums.map((a) => toAlbumDto(a, likedAlbums.has(a.id))),
    };
  }

  async albums(user: AuthUser, filter: { sort: AlbumSort; genre?: string; artistId?: string }, page: Page) {
    const { items, total } = await this.repo.albums(filter, page);
    const liked = await this.liked.likedIds(
      user.id,
      'album',
      items.map((a) => a.id),
    );
    return { items: items.map((a) => toAlbumDto(a, liked.has(a.id))), total, ...page };
  }

  async album(user: AuthUser, id: string) {
    const album = await this.repo.album(id);
    if (!album) throw new NotFound('album', id);
    const tracks = await this.repo.tracksOfAlbum(id);
    const [likedAlbum, likedTracks] = await Promise.all([
      this.liked.likedIds(user.id, 'album', [id]),
      this.liked.likedIds(
        user.id,
        'track',
        tracks.map((t) => t.id),
      ),
    ]);
    return {
      ...toAlbumDto(album, likedAlbum.has(id)),
      tracks: tracks.map((t) => toTrackDto(t, likedTracks.has(t.id))),
    };
  }

  async tracks(
    user: AuthUser,
    filter: { sort: TrackSort; albumId?: string; artistId?: string; genreId?: string },
    page: Page,
  ) {
    const { items, total } = await this.repo.tracks(filter, page);
    const liked = await this.liked.likedIds(
      user.id,
      'track',
      items.map((t) => t.id),
    );
    return { items: items.map((t) => toTrackDto(t, liked.has(t.id))), total, ...page };
  }

  async track(user: AuthUser, id: string) {
    const t = await this.repo.track(id);
    if (!t) throw new NotFound('track', id);
    const [artists, genres, liked] = await Promise.all([
      this.repo.trackArtists(id),
      this.repo.trackGenres(id),
      this.liked.likedIds(user.id, 'track', [id]),
    ]);
    const base = toTrackDto(t, liked.has(id));
    return {
      ...base,
      artists: artists.filter((a) => a.role === 'artist').map(({ id, name }) => ({ id, name })),
      albumArtists: artists.filter((a) => a.role === 'albumartist').map(({ id, name }) => ({ id, name })),
      genres,
      trackTotal: t.track_total,
      discTotal: t.disc_total,
      date: t.date,
      compilation: t.compilation === 1,
      codec: t.codec,
      sampleRate: t.sample_rate,
      channels: t.channels,
      replayGain: {
        trackGain: t.rg_track_gain,
        trackPeak: t.rg_track_peak,
        albumGain: t.rg_album_gain,
        albumPeak: t.rg_album_peak,
      },
      musicBrainz: {
        trackId: t.mbz_track_id,
        recordingId: t.mbz_recording_id,
        albumId: t.mbz_album_id,
        artistId: t.mbz_artist_id,
        albumArtistId: t.mbz_album_artist_id,
      },
      lyrics: t.lyrics,
      comment: t.comment,
      mtime: t.mtime,
      ...(user.role === 'admin' && t.source_type === 'local' && t.local_path ? { path: t.local_path } : {}),
    };
  }

  async genres(_user: AuthUser, page: Page) {
    const { items, total } = await this.repo.genres(page);
    return { items, total, ...page };
  }
}
