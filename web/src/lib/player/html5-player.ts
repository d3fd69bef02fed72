/**
 * AudioPlayer on two HTML5 <audio> elements: one playing, one preloading the next track. On a
 * track change to the preloaded source the elements swap roles, so the next track starts from
 * already-buffered data. Seeking uses the browser's Range requests against /stream.
 */
import type { AudioPlayer, AudioPlayerEvent, AudioPlayerEvents } from './audio-player.js';

type Listener = (payload: never) => void;

export class Html5AudioPlayer implements AudioPlayer {
  #active: HTMLAudioElement;
  #standby: HTMLAudioElement;
  #standbySrc: string | null = null;
  #listeners = new Map<AudioPlayerEvent, Set<Listener>>();
  #volume = 1;
  #muted = false;
  #detach: (() => void) | null = null;

  constructor() {
    this.#active = this.#create('earshot-audio-a');
    this.#standby = this.#create('earshot-audio-b');
    this.#attach(this.#active);
  }

  #create(id: string): HTMLAudioElement {
    const el = document.createElement('audio');
    el.id = id;
    el.preload = 'auto';
    el.setAttribute('aria-hidden', 'true');
    document.body.append(el);
    return el;
  }

  #emit<E extends AudioPlayerEvent>(event: E, payload: AudioPlayerEvents[E]) {
    for (const fn of this.#listeners.get(event) ?? []) (fn as (p: AudioPlayerEvents[E]) => void)(payload);
  }

  #attach(el: HTMLAudioElement) {
    this.#detach?.();
    const handlers: [string, () => void][] = [
      ['timeupdate', () => this.#emit('timeupdate', { currentTime: el.currentTime, duration: this.duration })],
      ['durationchange', () => this.#emit('durationchange', { duration: this.duration })],
      ['playing', () => this.#emit('playing', undefined)],
      ['pause', () => this.#emit('paused', undefined)],
      ['waiting', () => this.#emit('waiting', undefined)],
      ['ended', () => this.#emit('ended', undefined)],
      [
        'error',
        () => {
          const code = el.error?.code;
          const message =
            code === MediaError.MEDIA_ERR_NETWORK
              ? 'The stream was interrupted (network error).'
              : code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED
                ? 'This track could not be played (the server refused it or the format is not supported).'
                : code === MediaError.MEDIA_ERR_DECODE
                  ? 'This track could not be decoded.'
                  : 'Playback failed.';
          this.#emit('error', { message });
        },
      ],
    ];
    for (const [name, fn] of handlers) el.addEventListener(name, fn);
    this.#detach = () => {
      for (const [name, fn] of handlers) el.removeEventListener(name, fn);
    };
  }

  load(src: string, startAt = 0) {
    const absolute = new URL(src, location.href).href;
    this.#active.pause();
    if (this.#standbySrc && new URL(this.#standbySrc, location.href).href === absolute) {
      // Swap: the preloaded element becomes the active one.
      const old = this.#active;
      this.#active = this.#standby;
      this.#standby = old;
      this.#standbySrc = null;
      old.removeAttribute('src');
      old.load();
      this.#attach(this.#active);
    } else {
      this.#active.src = src;
    }
    this.#active.volume = this.#volume;
    this.#active.muted = this.#muted;
    if (startAt > 0) {
      const el = this.#active;
      const seek = () => {
        el.currentTime = startAt;
      };
      if (el.readyState >= 1) seek();
      else el.addEventListener('loadedmetadata', seek, { once: true });
    } else if (this.#active.currentTime !== 0) this.#active.currentTime = 0;
    this.#emit('durationchange', { duration: this.duration });
  }

  play() {
    return this.#active.play();
  }

  pause() {
    this.#active.pause();
  }

  seek(seconds: number) {
    const d = this.duration;
    this.#active.currentTime = Math.max(0, Number.isFinite(d) && d > 0 ? Math.min(seconds, d - 0.05) : seconds);
  }

  preload(src: string | null) {
    if (src === this.#standbySrc) return;
    this.#standbySrc = src;
    if (src) {
      this.#standby.src = src;
      this.#standby.load();
    } else {
      this.#standby.removeAttribute('src');
      this.#standby.load();
    }
  }

  get currentTime() {
    return this.#active.currentTime;
  }

  get duration() {
    const d = this.#active.duration;
    return Number.isFinite(d) ? d : 0;
  }

  get paused() {
    return this.#active.paused;
  }

  get volume() {
    return this.#volume;
  }

  set volume(v: number) {
    this.#volume = Math.min(1, Math.max(0, v));
    this.#active.volume = this.#volume;
  }

  get muted() {
    return this.#muted;
  }

  set muted(m: boolean) {
    this.#muted = m;
    this.#active.muted = m;
  }

  on<E extends AudioPlayerEvent>(event: E, listener: (payload: AudioPlayerEvents[E]) => void) {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  destroy() {
    this.#detach?.();
    this.#active.remove();
    this.#standby.remove();
  }
}
