/**
 * Lock-screen / notification controls through the Media Session API: metadata with artwork,
 * play/pause/next/previous/seek handlers and position state, so playback can be driven with the
 * screen off on phones.
 */
import { trackCover, type Track } from '../api/index.js';

export interface MediaSessionControls {
  play(): void;
  pause(): void;
  next(): void;
  previous(): void;
  seek(seconds: number): void;
  seekBy(delta: number): void;
}

const supported = () => typeof navigator !== 'undefined' && 'mediaSession' in navigator;

export function installMediaSession(controls: MediaSessionControls) {
  if (!supported()) return;
  const ms = navigator.mediaSession;
  const set = (action: MediaSessionAction, handler: MediaSessionActionHandler) => {
    try {
      ms.setActionHandler(action, handler);
    } catch {
      /* action not supported by this browser */
    }
  };
  set('play', () => controls.play());
  set('pause', () => controls.pause());
  set('nexttrack', () => controls.next());
  set('previoustrack', () => controls.previous());
  set('seekto', (d) => {
    if (typeof d.seekTime === 'number') controls.seek(d.seekTime);
  });
  set('seekbackward', (d) => controls.seekBy(-(d.seekOffset ?? 10)));
  set('seekforward', (d) => controls.seekBy(d.seekOffset ?? 10));
}

export function updateMetadata(track: Track | null) {
  if (!supported()) return;
  if (!track) {
    navigator.mediaSession.metadata = null;
    return;
  }
  const artwork = [96, 256, 512]
    .map((size) => ({ src: trackCover(track, size), sizes: `${size}x${size}`, type: 'image/jpeg' }))
    .filter((a): a is { src: string; sizes: string; type: string } => a.src !== null)
    .map((a) => ({ ...a, src: new URL(a.src, location.href).href }));
  navigator.mediaSession.metadata = new MediaMetadata({
    title: track.title,
    artist: track.artist ?? '',
    album: track.album ?? '',
    artwork,
  });
}

export function updatePlaybackState(playing: boolean) {
  if (supported()) navigator.mediaSession.playbackState = playing ? 'playing' : 'paused';
}

export function updatePosition(position: number, duration: number) {
  if (!supported() || !('setPositionState' in navigator.mediaSession)) return;
  if (!Number.isFinite(duration) || duration <= 0) return;
  try {
    navigator.mediaSession.setPositionState({
      duration,
      position: Math.min(Math.max(0, position), duration),
      playbackRate: 1,
    });
  } catch {
    /* inconsistent values during a track change */
  }
}
