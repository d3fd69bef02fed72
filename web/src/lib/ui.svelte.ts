/**
 * App-wide UI state: the open track menu, the add-to-playlist / share / shortcuts dialogs, the
 * queue panel, and the user's playlists (sidebar and "add to playlist").
 */
import { api, type LikeType, type PlaylistSummary, type Share, type Track } from './api/index.js';
import { player } from './player/player.svelte.js';
import { toasts } from './toast.svelte.js';

export interface TrackMenuState {
  track: Track;
  x: number;
  y: number;
  /** Extra actions of the list the menu was opened from (e.g. "remove from this playlist"). */
  extra?: { label: string; run: () => void }[];
}

class Ui {
  trackMenu = $state<TrackMenuState | null>(null);
  addTo = $state<Track[] | null>(null);
  share = $state<{ kind: Share['kind']; id: string; name: string } | null>(null);
  shortcutsOpen = $state(false);
  queueOpen = $state(false);
  /** The full-screen Now Playing (the phone player). */
  nowPlayingOpen = $state(false);
  playlists = $state<PlaylistSummary[]>([]);
  playlistsLoaded = $state(false);
  /** Tracks being added that the playlist already holds: the user decides (add again / skip). */
  duplicate = $state<{ playlist: PlaylistSummary; tracks: Track[]; dupes: Track[] } | null>(null);
  /** Bumped after a like changes, so open lists refresh their hearts. */
  likeVersion = $state(0);

  async loadPlaylists() {
    try {
      this.playlists = await api.playlists.list();
    } catch {
      /* offline or not signed in: the sidebar shows none */
    }
    this.playlistsLoaded = true;
  }

  openTrackMenu(track: Track, anchor: HTMLElement, extra?: TrackMenuState['extra']) {
    const r = anchor.getBoundingClientRect();
    this.trackMenu = { track, x: r.right, y: r.bottom, extra };
  }

  async setLiked(type: LikeType, item: { id: string; liked: boolean; title?: string; name?: string }, liked: boolean) {
    const before = item.liked;
    item.liked = liked;
    if (type === 'track') player.setLiked(item.id, liked);
    try {
      await api.likes.set(type, item.id, liked);
      this.likeVersion++;
    } catch (err) {
      item.liked = before;
      if (type === 'track') player.setLiked(item.id, before);
      toasts.error(err);
    }
  }

  async addTracksTo(playlist: PlaylistSummary, tracks: Track[], options: { allowDuplicates?: boolean } = {}) {
    if (tracks.length === 0) return;
    // The previous "Added to …" must not read as this add's result while it is still checking.
    toasts.clearInfo();
    if (!options.allowDuplicates && playlist.trackCount > 0) {
      try {
        const { entries } = await api.playlists.get(playlist.id);
        const present = new Set(entries.map((e) => e.track?.id));
        const dupes = tracks.filter((t) => present.has(t.id));
        if (dupes.length > 0) {
          this.duplicate = { playlist, tracks, dupes };
          return;
        }
      } catch {
        /* cannot check (offline): the add below reports its own error */
      }
    }
    try {
      await api.playlists.addTracks(
        playlist.id,
        tracks.map((t) => t.id),
      );
      toasts.show(
        tracks.length === 1 ? `Added to ${playlist.name}` : `Added ${tracks.length} tracks to ${playlist.name}`,
      );
      void this.loadPlaylists();
    } catch (err) {
      toasts.error(err);
    }
  }
}

export const ui = new Ui();
