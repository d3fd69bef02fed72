/**
 * What the UI needs from an audio engine. The HTML5 <audio> implementation is the default; a
 * native (Capacitor/Cordova) or Web Audio engine can implement the same interface and be swapped
 * in without touching UI code.
 */
export interface AudioPlayerEvents {
  timeupdate: { currentTime: number; duration: number };
  playing: undefined;
  paused: undefined;
  waiting: undefined;
  ended: undefined;
  error: { message: string };
  durationchange: { duration: number };
}

export type AudioPlayerEvent = keyof AudioPlayerEvents;

export interface AudioPlayer {
  /** Loads a source (replacing the current one). Uses the preloaded element when it matches. */
  load(src: string, startAt?: number): void;
  /** Starts playback; rejects when the browser blocks autoplay (caller shows a play prompt). */
  play(): Promise<void>;
  pause(): void;
  seek(seconds: number): void;
  /** Fetches the next source in the background so the transition is near-gapless. */
  preload(src: string | null): void;
  readonly currentTime: number;
  readonly duration: number;
  readonly paused: boolean;
  volume: number;
  muted: boolean;
  on<E extends AudioPlayerEvent>(event: E, listener: (payload: AudioPlayerEvents[E]) => void): () => void;
  destroy(): void;
}
