/**
 * Share links: a signed-in user shares a track, album or playlist as `/share/{token}` for people
 * without an account. Links expire (default 30 days) and can be revoked; an expired or revoked
 * link kills its page, its data and its stream URLs alike (shares.test.ts). Another user's share is
 * "not found". The token is `<id>.<HMAC(server key, id)>`: nothing secret is
 * stored, and the owner can copy the link again at any time.
 *
 * Privacy rule: a share never shows more than its creator may see *now*. Every use
 * of a link (page, data, cover, stream) checks that the creator's account is still active and,
 * for a playlist, that the creator still sees it (owns it, or it is public) — so making a playlist
 * private kills every link others made of it. And the owner of a thing sees and can revoke every
 * share of it: a playlist's owner those of their playlists, administrators (who own the library)
 * those of tracks and albums.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { AuthUser } from '../accounts/auth-context.js';
import type { ShareKind } from '../db/tables/streaming.js';
import { DomainError, Invalid, NotFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Clock } from '../shared/time.js';
import type { SharedTrackRow, ShareRow, SharesRepository } from './shares.repository.js';
import { DEFAULT_SHARE_DAYS, MAX_SHARE_DAYS, type ShareInfo } from './shares.schemas.js';

export const SHARE_DESCRIPTION_MAX = 500;
const DAY_MS = 86_400_000;

/** The link existed but is no longer valid (expired or revoked). */
export class ShareGone extends DomainError {
  readonly status = 410;
  readonly code = 'share_gone';
}

export interface PublicShare {
  share: ShareRow;
  kind: ShareKind;
  title: string;
  /** Artist / owner line under the title. */
  subtitle: string | null;
  tracks: SharedTrackRow[];
  /** Seed and label of the cover (album id + name for the placeholder). */
  coverTrackId: string | null;
  albumId: string | null;
  expiresAt: number | null;
}

/** Control characters become spaces, ends trimmed; empty → null; undefined stays (no change). */
function cleanDescription(d: string | null | undefined): string | null | undefined {
  if (d === undefined || d === null) return d;
  const clean = d.replace(/[\x00-\x1f\x7f]/g, ' ').trim();
  if (clean.length > SHARE_DESCRIPTION_MAX) {
    throw new Invalid(`A share description can have at most ${SHARE_DESCRIPTION_MAX} characters.`, {
      field: 'description',
    });
  }
  return clean || null;
}

export class SharesService {
  private subkey: Buffer | undefined;

  constructor(
    private readonly repo: SharesRepository,
    private readonly clock: Clock,
    private readonly serverKey: Buffer,
    private readonly publicUrl?: string,
  ) {}

  /** Derived on first use: `node:crypto` then loads after the server listens (issue 16 item 5). */
  private get key(): Buffer {
    this.subkey ??= Buffer.from(hkdfSync('sha256', this.serverKey, Buffer.alloc(0), 'earshot share-link v1', 32));
    return this.subkey;
  }

  tokenFor(id: string): string {
    return `${id}.${createHmac('sha256', this.key).update(id).digest('base64url').slice(0, 32)}`;
  }

  urlFor(token: string): string {
    return `${this.publicUrl?.replace(/\/$/, '') ?? ''}/share/${token}`;
  }

  async create(
    user: AuthUser,
    input: { kind: ShareKind; id: string; expiresInDays?: number | null; description?: string | null },
  ): Promise<ShareInfo> {
    const description = cleanDescription(input.description);
    const title = await this.visibleItemTitle(user, input.kind, input.id);
    const days = input.expiresInDays === undefined ? DEFAULT_SHARE_DAYS : input.expiresInDays;
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > MAX_SHARE_DAYS)) {
      throw new Invalid(`expiresInDays must be a whole number from 1 to ${MAX_SHARE_DAYS}, or null for no expiry.`, {
        field: 'expiresInDays',
      });
    }
    const now = this.clock.now();
    const row: ShareRow = {
      id: newId(),
      owner_id: user.id,
      kind: input.kind,
      item_id: input.id,
      created_at: now,
      expires_at: days === null ? null : now + days * DAY_MS,
      revoked_at: null,
      view_count: 0,
      last_viewed_at: null,
      description: description ?? null,
    };
    await this.repo.insert(row);
    return this.info(row, title, user.username, true);
  }

  /** The caller's own links, then the links others made of the caller's things. */
  async list(user: AuthUser): Promise<ShareInfo[]> {
    const rows = [
      ...(await this.repo.listByOwner(user.id)),
      ...(await this.repo.listOfOwnedItems(user.id, user.role === 'admin')),
    ];
    const names = new Map<string, string>([[user.id, user.username]]);
    const out: ShareInfo[] = [];
    for (const row of rows) {
      if (!names.has(row.owner_id)) names.set(row.owner_id, (await this.repo.creator(row.owner_id))?.username ?? '?');
      const title = (await this.itemTitle(row.kind, row.item_id)) ?? '(deleted)';
      out.push(this.info(row, title, names.get(row.owner_id) as string, row.owner_id === user.id));
    }
    return out;
  }

  /**
   * Changes a live share's description and/or expiry (`expiresAt` null = never; it must be in the
   * future: an expired link is revoked, not edited). Whoever may revoke the link may edit it.
   */
  async update(
    user: AuthUser,
    id: string,
    changes: { description?: string | null; expiresAt?: number | null },
  ): Promise<ShareInfo> {
    const description = cleanDescription(changes.description);
    const { expiresAt } = changes;
    if (expiresAt !== undefined && expiresAt !== null) {
      if (!Number.isSafeInteger(expiresAt) || expiresAt <= this.clock.now()) {
        throw new Invalid('The new expiry must be a time in the future (or none, for a link that never expires).', {
          field: 'expires',
        });
      }
      if (expiresAt > this.clock.now() + MAX_SHARE_DAYS * DAY_MS) {
        throw new Invalid(`A share link can last at most ${MAX_SHARE_DAYS} days.`, { field: 'expires' });
      }
    }
    const row = await this.repo.findById(id);
    if (!row || row.revoked_at !== null || !(await this.mayRevoke(user, row))) throw new NotFound('share', id);
    if (!(await this.repo.update(id, { description, expires_at: expiresAt }))) throw new NotFound('share', id);
    const updated = {
      ...row,
      ...(description !== undefined && { description }),
      ...(expiresAt !== undefined && { expires_at: expiresAt }),
    };
    const creator =
      row.owner_id === user.id ? user.username : ((await this.repo.creator(row.owner_id))?.username ?? '?');
    return this.info(
      updated,
      (await this.itemTitle(row.kind, row.item_id)) ?? '(deleted)',
      creator,
      row.owner_id === user.id,
    );
  }

  /** The creator, the owner of the shared playlist, or an administrator (tracks, albums) may revoke. */
  async revoke(user: AuthUser, id: string): Promise<void> {
    const row = await this.repo.findById(id);
    if (!row || row.revoked_at !== null || !(await this.mayRevoke(user, row))) throw new NotFound('share', id);
    if (!(await this.repo.revoke(id, this.clock.now()))) throw new NotFound('share', id);
  }

  private async mayRevoke(user: AuthUser, row: ShareRow): Promise<boolean> {
    if (row.owner_id === user.id) return true;
    if (row.kind === 'playlist') return (await this.repo.findPlaylist(row.item_id))?.owner_id === user.id;
    return user.role === 'admin';
  }

  /** The live share behind a public token: 404 unknown or forged, 410 expired/revoked/item gone. */
  async resolve(token: string): Promise<ShareRow> {
    const dot = token.indexOf('.');
    const id = token.slice(0, dot);
    const expected = Buffer.from(this.tokenFor(id));
    const given = Buffer.from(token);
    if (dot <= 0 || expected.length !== given.length || !timingSafeEqual(expected, given)) throw new NotFound('share');
    const row = await this.repo.findById(id);
    if (!row) throw new NotFound('share');
    if (row.revoked_at !== null) throw new ShareGone('This share link was revoked by its owner.');
    if (row.expires_at !== null && row.expires_at <= this.clock.now())
      throw new ShareGone('This share link has expired.');
    await this.assertCreatorStillSees(row);
    return row;
  }

  /** The privacy rule: the link shows nothing its creator could not see right now. */
  private async assertCreatorStillSees(row: ShareRow): Promise<void> {
    const creator = await this.repo.creator(row.owner_id);
    if (!creator || creator.disabled === 1) throw new ShareGone('This share link is no longer available.');
    if (row.kind !== 'playlist') return;
    const p = await this.repo.findPlaylist(row.item_id);
    // A missing playlist is reported by view() as "no longer exists".
    if (p && p.owner_id !== row.owner_id && p.is_public !== 1) {
      throw new ShareGone('This share link is no longer available: the playlist is private now.');
    }
  }

  /** Everything the public page shows. `countView` is true for page loads (not data/stream calls). */
  async view(token: string, countView: boolean): Promise<PublicShare> {
    const share = await this.resolve(token);
    const gone = () => new ShareGone('The shared item no longer exists.');
    let title: string;
    let subtitle: string | null = null;
    let tracks: SharedTrackRow[];
    let albumId: string | null = null;
    if (share.kind === 'track') {
      const t = await this.repo.findTrack(share.item_id);
      if (!t) throw gone();
      title = t.title;
      subtitle = [t.artist, t.album].filter(Boolean).join(' — ') || null;
      tracks = [t];
      albumId = t.album_id;
    } else if (share.kind === 'album') {
      const a = await this.repo.findAlbum(share.item_id);
      if (!a) throw gone();
      title = a.name;
      subtitle = [a.album_artist, a.year].filter(Boolean).join(' · ') || null;
      tracks = await this.repo.albumTracks(a.id);
      albumId = a.id;
    } else {
      const p = await this.repo.findPlaylist(share.item_id);
      if (!p) throw gone();
      title = p.name;
      const owner = await this.repo.ownerName(p.owner_id);
      subtitle = owner ? `Playlist by ${owner.display_name ?? owner.username}` : 'Playlist';
      tracks = await this.repo.playlistTracks(p.id);
    }
    if (countView) await this.repo.countView(share.id, this.clock.now());
    return {
      share,
      kind: share.kind,
      title,
      subtitle,
      tracks,
      coverTrackId: tracks[0]?.id ?? null,
      albumId,
      expiresAt: share.expires_at,
    };
  }

  /** The share exists, is live, and exposes this track (else 404/410). */
  async streamableTrack(token: string, trackId: string): Promise<ShareRow> {
    const share = await this.resolve(token);
    if (!(await this.repo.containsTrack(share.kind, share.item_id, trackId))) throw new NotFound('track', trackId);
    return share;
  }

  private info(row: ShareRow, title: string, createdBy: string, isMine: boolean): ShareInfo {
    const token = this.tokenFor(row.id);
    return {
      id: row.id,
      createdBy,
      isMine,
      kind: row.kind,
      itemId: row.item_id,
      title,
      description: row.description,
      token,
      url: this.urlFor(token),
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      expired: row.expires_at !== null && row.expires_at <= this.clock.now(),
      viewCount: row.view_count,
    };
  }

  private async itemTitle(kind: ShareKind, id: string): Promise<string | null> {
    if (kind === 'track') return (await this.repo.findTrack(id))?.title ?? null;
    if (kind === 'album') return (await this.repo.findAlbum(id))?.name ?? null;
    return (await this.repo.findPlaylist(id))?.name ?? null;
  }

  /** Title of an item the user may share; NotFound when it is missing or someone else's private playlist. */
  private async visibleItemTitle(user: AuthUser, kind: ShareKind, id: string): Promise<string> {
    if (kind === 'playlist') {
      const p = await this.repo.findPlaylist(id);
      if (!p || (p.owner_id !== user.id && p.is_public !== 1)) throw new NotFound('playlist', id);
      return p.name;
    }
    const title = await this.itemTitle(kind, id);
    if (title === null) throw new NotFound(kind, id);
    return title;
  }
}
