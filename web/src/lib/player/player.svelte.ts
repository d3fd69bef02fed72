/**
 * Playback state for the whole app: the queue, the current track, shuffle/repeat, volume, and the
 * glue between the AudioPlayer engine, the Media Session API, play reporting and persistence.
 * The queue and position are remembered in localStorage (track metadata only — never tokens).
 */
import { api, type Track } from '../api/index.js';
import { toasts } from '../toast.svelte.js';
import type { AudioPlayer } from './audio-player.js';
import { installMediaSession, updateMetadata, updatePlaybackState, updatePosition } from './media-session.js';

export interface QueueItem {
  uid: string;
  track: Track;
}

export type RepeatMode = 'off' | 'all' | 'one';

const STORAGE_KEY = 'earshot.player';
let uidCounter = 0;
const uid = () => `${Date.now().toString(36)}-${(uidCounter++).toString(36)}`;

interface Persisted {
  queue: Track[];
  index: number;
  position: number;
  shuffle: boolean;
  repeat: RepeatMode;
  volume: number;
  original?: Track[] | null;
}

export class PlayerState {
  queue = $state<QueueItem[]>([]);
  index = $state(-1);
  playing = $state(false);
  buffering = $state(false);
  currentTime = $state(0);
  duration = $state(0);
  volume = $state(1);
  muted = $state(false);
  shuffle = $state(false);
  repeat = $state<RepeatMode>('off');
  error = $state<string | null>(null);
  /** Set when the browser blocked autoplay (deep link before any user gesture). */
  needsGesture = $state(false);

  current = $derived(this.index >= 0 ? (this.queue[this.index]?.track ?? null) : null);
  hasNext = $derived(this.index + 1 < this.queue.length || (this.repeat === 'all' && this.queue.length > 0));
  hasPrevious = $derived(this.index > 0 || this.currentTime > 3);

  #engine: AudioPlayer | null = null;
  #original: QueueItem[] | null = null;
  #listenedFrom = 0;
  #listened = 0;
  #reportedFor: string | null = null;
  #lastSave = 0;
  /** Position a restore is seeking to; timeupdates before the seek lands (at 0) are not the user's. */
  #restoring: number | null = null;

  attach(engine: AudioPlayer) {
    this.#engine = engine;
    engine.on('timeupdate', ({ currentTime, duration }) => {
      if (this.#restoring !== null) {
        if (Math.abs(currentTime - this.#restoring) > 1) return;
        this.#restoring = null;
      }
      const delta = currentTime - this.#listenedFrom;
      if (delta > 0 && delta < 2) this.#listened += delta;
      this.#listenedFrom = currentTime;
      this.currentTime = currentTime;
      if (duration) this.duration = duration;
      updatePosition(currentTime, this.duration);
      if (Date.now() - this.#lastSave > 5000) this.save();
      this.#maybeReport(false);
    });
    engine.on('durationchange', ({ duration }) => {
      this.duration = duration || this.current?.duration || 0;
    });
    engine.on('playing', () => {
      this.playing = true;
      this.buffering = false;
      this.error = null;
      this.needsGesture = false;
      updatePlaybackState(true);
    });
    engine.on('paused', () => {
      this.playing = false;
      updatePlaybackState(false);
      this.save();
    });
    engine.on('waiting', () => {
      this.buffering = true;
    });
    engine.on('ended', () => {
      this.#maybeReport(true);
      if (this.repeat === 'one') {
        engine.seek(0);
        void this.#play();
      } else if (this.index + 1 < this.queue.length) this.#go(this.index + 1, true);
      else if (this.repeat === 'all' && this.queue.length > 0) this.#go(0, true);
      else {
        this.playing = false;
        updatePlaybackState(false);
      }
    });
    engine.on('error', ({ message }) => {
      this.error = message;
      this.playing = false;
      this.buffering = false;
      toasts.show(`${this.current?.title ?? 'Track'}: ${message}`, 'error');
    });
    installMediaSession({
      play: () => void this.#play(),
      pause: () => engine.pause(),
      next: () => this.next(),
      previous: () => this.previous(),
      seek: (s) => this.seek(s),
      seekBy: (d) => this.seek(this.currentTime + d),
    });
    this.volume = engine.volume;
  }

  /** Restores the remembered queue without starting playback. */
  restore() {
    try {
      const raw = localStorage.getItem(STORAGE_KEY);
      if (!raw) return;
      const p = JSON.parse(raw) as Persisted;
      if (!Array.isArray(p.queue)) return;
      this.queue = p.queue.map((track) => ({ uid: uid(), track }));
      this.#original = p.original ? p.original.map((track) => ({ uid: uid(), track })) : null;
      this.index = Math.min(p.index, this.queue.length - 1);
      this.shuffle = !!p.shuffle;
      this.repeat = p.repeat ?? 'off';
      this.setVolume(typeof p.volume === 'number' ? p.volume : 1);
      if (this.current) {
        const position = p.position || 0;
        this.#restoring = position > 0 ? position : null;
        this.#engine?.load(api.urls.stream(this.current.id), position);
        this.currentTime = position;
        this.duration = this.current.duration ?? 0;
        this.#listenedFrom = this.currentTime;
        updateMetadata(this.current);
        this.#preloadNext();
      }
    } catch {
      localStorage.removeItem(STORAGE_KEY);
    }
  }

  save() {
    this.#lastSave = Date.now();
    const data: Persisted = {
      queue: this.queue.map((q) => $state.snapshot(q.track) as Track),
      index: this.index,
      position: this.currentTime,
      shuffle: this.shuffle,
      repeat: this.repeat,
      volume: this.volume,
      original: this.#original ? this.#original.map((q) => $state.snapshot(q.track) as Track) : null,
    };
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(data));
    } catch {
      /* quota: the queue just isn't remembered */
    }
  }

  async #play() {
    try {
      await this.#engine?.play();
    } catch (err) {
      if ((err as Error).name === 'NotAllowedError') this.needsGesture = true;
      else if ((err as Error).name !== 'AbortError') this.error = (err as Error).message;
    }
  }

  #maybeReport(ended: boolean) {
    const t = this.current;
    if (!t || this.#reportedFor === t.id) return;
    const duration = this.duration || t.duration || 0;
    // Scrobble rule (the server's too): half the track or 4 minutes. A little margin so the
    // server, measuring against its own duration, counts it.
    const threshold = Math.min(240, duration > 0 ? duration / 2 : 30) + 0.5;
    if (ended || this.#listened >= threshold) {
      this.#reportedFor = t.id;
      api.plays.report(t.id, Math.max(1, this.#listened)).catch(() => {
        /* history is best effort; playback goes on */
      });
    }
  }

  #go(index: number, autoplay: boolean) {
    const item = this.queue[index];
    if (!item || !this.#engine) return;
    this.#restoring = null;
    this.index = index;
    this.currentTime = 0;
    this.duration = item.track.duration ?? 0;
    this.#listened = 0;
    this.#listenedFrom = 0;
    this.#reportedFor = null;
    this.error = null;
    this.#engine.load(api.urls.stream(item.track.id));
    updateMetadata(item.track);
    if (autoplay) void this.#play();
    this.#preloadNext();
    this.save();
  }

  #preloadNext() {
    const next =
      this.index + 1 < this.queue.length
        ? this.queue[this.index + 1]
        : this.repeat === 'all'
          ? this.queue[0]
          : undefined;
    this.#engine?.preload(next && next.uid !== this.queue[this.index]?.uid ? api.urls.stream(next.track.id) : null);
  }

  /** Replaces the queue with `tracks` and plays from `start`. */
  playTracks(tracks: Track[], start = 0) {
    if (tracks.length === 0) return;
    const items = tracks.map((track) => ({ uid: uid(), track }));
    if (this.shuffle) {
      this.#original = items;
      const first = items[start]!;
      const rest = shuffled(items.filter((_, i) => i !== start));
      this.queue = [first, ...rest];
      this.#go(0, true);
    } else {
      this.#original = null;
      this.queue = items;
      this.#go(start, true);
    }
  }

  playNext(tracks: Track[]) {
    const items = tracks.map((track) => ({ uid: uid(), track }));
    if (this.index < 0) return this.playTracks(tracks);
    this.queue.splice(this.index + 1, 0, ...items);
    this.#original?.push(...items);
    this.#preloadNext();
    this.save();
    toasts.show(tracks.length === 1 ? `“${tracks[0]!.title}” plays next` : `${tracks.length} tracks play next`);
  }

  addToQueue(tracks: Track[]) {
    const items = tracks.map((track) => ({ uid: uid(), track }));
    if (this.index < 0) return this.playTracks(tracks);
    this.queue.push(...items);
    this.#original?.push(...items);
    this.#preloadNext();
    this.save();
    toasts.show(
      tracks.length === 1 ? `Added “${tracks[0]!.title}” to the queue` : `Added ${tracks.length} tracks to the queue`,
    );
  }

  playAt(index: number) {
    this.#go(index, true);
  }

  toggle() {
    if (!this.current) return;
    if (this.#engine?.paused) void this.#play();
    else this.#engine?.pause();
  }

  play() {
    if (this.current) void this.#play();
  }

  pause() {
    this.#engine?.pause();
  }

  /** Remembers the queue when the page goes away (reload, tab closed, app switched on a phone). */
  persistOnHide() {
    const onHide = () => this.save();
    addEventListener('pagehide', onHide);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') onHide();
    });
  }

  next() {
    if (this.index + 1 < this.queue.length) this.#go(this.index + 1, true);
    else if (this.repeat === 'all' && this.queue.length) this.#go(0, true);
  }

  previous() {
    if (this.currentTime > 3 || this.index <= 0) this.seek(0);
    else this.#go(this.index - 1, true);
  }

  seek(seconds: number) {
    if (!this.current || !this.#engine) return;
    this.#restoring = null;
    this.#engine.seek(seconds);
    this.currentTime = this.#engine.currentTime;
    this.#listenedFrom = this.currentTime;
    updatePosition(this.currentTime, this.duration);
    this.save();
  }

  setVolume(v: number) {
    this.volume = Math.min(1, Math.max(0, v));
    if (this.#engine) this.#engine.volume = this.volume;
    if (this.volume > 0 && this.muted) this.toggleMute();
  }

  toggleMute() {
    this.muted = !this.muted;
    if (this.#engine) this.#engine.muted = this.muted;
  }

  toggleShuffle() {
    const current = this.queue[this.index];
    if (!this.shuffle) {
      this.#original = [...this.queue];
      const rest = shuffled(this.queue.filter((_, i) => i !== this.index));
      this.queue = current ? [current, ...rest] : rest;
      this.index = current ? 0 : -1;
    } else if (this.#original) {
      // Back to the original order, keeping items added meanwhile and dropping removed ones.
      const present = new Set(this.queue.map((q) => q.uid));
      this.queue = this.#original.filter((q) => present.has(q.uid));
      this.index = current ? this.queue.findIndex((q) => q.uid === current.uid) : -1;
      this.#original = null;
    }
    this.shuffle = !this.shuffle;
    this.#preloadNext();
    this.save();
  }

  cycleRepeat() {
    this.repeat = this.repeat === 'off' ? 'all' : this.repeat === 'all' ? 'one' : 'off';
    this.#preloadNext();
    this.save();
  }

  remove(index: number) {
    if (index === this.index) {
      const wasPlaying = this.playing;
      this.queue.splice(index, 1);
      if (this.queue.length === 0) return this.clear();
      this.#go(Math.min(index, this.queue.length - 1), wasPlaying);
      return;
    }
    const [removed] = this.queue.splice(index, 1);
    if (this.#original && removed) this.#original = this.#original.filter((q) => q.uid !== removed.uid);
    if (index < this.index) this.index -= 1;
    this.#preloadNext();
    this.save();
  }

  move(from: number, to: number) {
    if (from === to || from < 0 || to < 0 || from >= this.queue.length || to >= this.queue.length) return;
    const currentUid = this.queue[this.index]?.uid;
    const [item] = this.queue.splice(from, 1);
    this.queue.splice(to, 0, item!);
    this.index = this.queue.findIndex((q) => q.uid === currentUid);
    this.#preloadNext();
    this.save();
  }

  clear() {
    this.#engine?.pause();
    this.#engine?.preload(null);
    this.queue = [];
    this.#original = null;
    this.index = -1;
    this.currentTime = 0;
    this.duration = 0;
    this.playing = false;
    updateMetadata(null);
    this.save();
  }

  /** Keeps the liked flag in sync everywhere the track appears in the queue. */
  setLiked(trackId: string, liked: boolean) {
    for (const q of this.queue) if (q.track.id === trackId) q.track.liked = liked;
  }
}

function shuffled<T>(list: T[]): T[] {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export const player = new PlayerState();
