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
  playlists = $state<PlaylistSummary[]>([]);
  playlistsLoaded = $state(false);
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

  async addTracksTo(playlist: PlaylistSummary, tracks: Track[]) {
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
