import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Origin, serveAsOrigin } from '../../test/origin.js';
import type { Track } from '../api/index.js';
import type { AudioPlayer, AudioPlayerEvent, AudioPlayerEvents } from './audio-player.js';
import { PlayerState } from './player.svelte.js';

/**
 * An audio engine driven by the test: it records what the player asks of it and emits the events a
 * media element would (timeupdate, ended, …) when the test says so. The player under test is real.
 */
class ScriptedEngine implements AudioPlayer {
  loads: { src: string; startAt?: number }[] = [];
  preloaded: string | null = null;
  currentTime = 0;
  duration = 0;
  paused = true;
  volume = 1;
  muted = false;
  /** What play() does: resolve, or reject like a browser blocking autoplay. */
  playOutcome: 'ok' | 'blocked' = 'ok';
  #listeners = new Map<AudioPlayerEvent, Set<(payload: never) => void>>();

  load(src: string, startAt?: number) {
    this.loads.push({ src, startAt });
    this.currentTime = startAt ?? 0;
  }
  async play() {
    if (this.playOutcome === 'blocked') throw new DOMException('blocked', 'NotAllowedError');
    this.paused = false;
    this.emit('playing', undefined);
  }
  pause() {
    this.paused = true;
    this.emit('paused', undefined);
  }
  seek(seconds: number) {
    this.currentTime = seconds;
  }
  preload(src: string | null) {
    this.preloaded = src;
  }
  on<E extends AudioPlayerEvent>(event: E, listener: (payload: AudioPlayerEvents[E]) => void) {
    const set = this.#listeners.get(event) ?? new Set();
    set.add(listener as (payload: never) => void);
    this.#listeners.set(event, set);
    return () => set.delete(listener as (payload: never) => void);
  }
  emit<E extends AudioPlayerEvent>(event: E, payload: AudioPlayerEvents[E]) {
    for (const fn of this.#listeners.get(event) ?? []) (fn as (p: AudioPlayerEvents[E]) => void)(payload);
  }
  /** Plays from `from` to `to` in one-second timeupdates, as a media element reports them. */
  advance(from: number, to: number, duration: number) {
    for (let t = from; t <= to; t++) {
      this.currentTime = t;
      this.emit('timeupdate', { currentTime: t, duration });
    }
  }
  get lastSrc() {
    return this.loads.at(-1)?.src;
  }
  destroy() {}
}

const track = (id: string, duration = 200): Track =>
  ({ id, title: `Song ${id}`, duration, artworkId: null, albumId: null, liked: false }) as unknown as Track;
const tracks = (...ids: string[]) => ids.map((id) => track(id));
const ids = (p: PlayerState) => p.queue.map((q) => q.track.id);

let engine: ScriptedEngine;
let player: PlayerState;
let server: Origin;
const plays: { trackId: string; secondsPlayed: number }[] = [];

beforeAll(async () => {
  // Play reports go to a real loopback HTTP server standing in for the Earshot origin.
  server = await serveAsOrigin((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v1/plays') plays.push(JSON.parse(body));
      res.statusCode = 204;
      res.end();
    });
  });
});

afterAll(() => server.close());

beforeEach(() => {
  localStorage.clear();
  engine = new ScriptedEngine();
  player = new PlayerState();
  player.attach(engine);
});

describe('player state machine', () => {
  it('plays a list from the chosen track, preloads the next and moves on when a track ends', async () => {
    player.playTracks(tracks('a', 'b', 'c'), 1);
    expect(player.current?.id).toBe('b');
    expect(engine.lastSrc).toBe('/stream/b');
    expect(engine.preloaded).toBe('/stream/c');
    await Promise.resolve();
    expect(player.playing).toBe(true);
    engine.emit('ended', undefined);
    expect(player.current?.id).toBe('c');
    expect(engine.lastSrc).toBe('/stream/c');
    expect(engine.preloaded).toBeNull();
    expect(player.hasNext).toBe(false);
    engine.emit('ended', undefined);
    expect(player.current?.id).toBe('c'); // the end of the queue: stays, stopped
    expect(player.playing).toBe(false);
  });

  it('repeats the queue or one track', () => {
    player.playTracks(tracks('a', 'b'), 1);
    player.cycleRepeat();
    expect(player.repeat).toBe('all');
    expect(engine.preloaded).toBe('/stream/a');
    expect(player.hasNext).toBe(true);
    engine.emit('ended', undefined);
    expect(player.current?.id).toBe('a');
    player.cycleRepeat();
    expect(player.repeat).toBe('one');
    engine.currentTime = 150;
    const loads = engine.loads.length;
    engine.emit('ended', undefined);
    expect(player.current?.id).toBe('a');
    expect(engine.currentTime).toBe(0);
    expect(engine.loads.length).toBe(loads); // replayed in place, not reloaded
    player.cycleRepeat();
    expect(player.repeat).toBe('off');
  });

  it('goes back a track early on, else restarts the current one', () => {
    player.playTracks(tracks('a', 'b'), 1);
    engine.advance(0, 2, 200);
    player.previous();
    expect(player.current?.id).toBe('a');
    player.next();
    engine.advance(0, 10, 200);
    expect(player.hasPrevious).toBe(true);
    player.previous();
    expect(player.current?.id).toBe('b');
    expect(player.currentTime).toBe(0);
  });

  it('shuffles around the current track and restores the original order, keeping what was added', () => {
    const list = tracks('a', 'b', 'c', 'd', 'e', 'f');
    player.playTracks(list, 2);
    player.toggleShuffle();
    expect(player.shuffle).toBe(true);
    expect(player.index).toBe(0);
    expect(player.current?.id).toBe('c');
    expect([...ids(player)].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    player.addToQueue([track('g')]);
    player.remove(ids(player).indexOf('a'));
    player.toggleShuffle();
    expect(player.shuffle).toBe(false);
    expect(ids(player)).toEqual(['b', 'c', 'd', 'e', 'f', 'g']);
    expect(player.current?.id).toBe('c');
    expect(player.index).toBe(1);
  });

  it('keeps the current track when the queue is edited around it', () => {
    player.playTracks(tracks('a', 'b', 'c', 'd'), 2);
    player.remove(0);
    expect(player.current?.id).toBe('c');
    expect(player.index).toBe(1);
    player.move(1, 2);
    expect(ids(player)).toEqual(['b', 'd', 'c']);
    expect(player.current?.id).toBe('c');
    player.playNext([track('x')]);
    expect(ids(player)).toEqual(['b', 'd', 'c', 'x']);
    expect(engine.preloaded).toBe('/stream/x');
    player.remove(2); // the current one: the next takes its place
    expect(player.current?.id).toBe('x');
    expect(engine.lastSrc).toBe('/stream/x');
    player.clear();
    expect(player.current).toBeNull();
    expect(player.queue).toEqual([]);
  });

  it('asks for a tap when the browser blocks autoplay', async () => {
    engine.playOutcome = 'blocked';
    player.playTracks(tracks('a'));
    await expect.poll(() => player.needsGesture).toBe(true);
    expect(player.playing).toBe(false);
    engine.playOutcome = 'ok';
    player.play();
    await expect.poll(() => player.playing).toBe(true);
    expect(player.needsGesture).toBe(false);
  });

  it('restores the queue, track and position paused after a reload, ignoring the stale 0 s updates', () => {
    player.playTracks(tracks('a', 'b', 'c'), 1);
    player.toggleShuffle();
    player.toggleShuffle();
    player.cycleRepeat();
    player.setVolume(0.4);
    engine.advance(0, 42, 200);
    player.save();

    const engine2 = new ScriptedEngine();
    const reloaded = new PlayerState();
    reloaded.attach(engine2);
    reloaded.restore();
    expect(ids(reloaded)).toEqual(['a', 'b', 'c']);
    expect(reloaded.current?.id).toBe('b');
    expect(reloaded.repeat).toBe('all');
    expect(reloaded.volume).toBe(0.4);
    expect(engine2.volume).toBe(0.4);
    expect(engine2.loads).toEqual([{ src: '/stream/b', startAt: 42 }]);
    expect(reloaded.playing).toBe(false);
    // The element reports 0 before its seek to 42 s lands: not the user's position.
    engine2.emit('timeupdate', { currentTime: 0, duration: 200 });
    expect(reloaded.currentTime).toBe(42);
    engine2.emit('timeupdate', { currentTime: 42.2, duration: 200 });
    expect(reloaded.currentTime).toBe(42.2);
  });

  it('forgets a corrupt saved queue instead of failing', () => {
    localStorage.setItem('earshot.player', '{not json');
    const p = new PlayerState();
    p.attach(new ScriptedEngine());
    p.restore();
    expect(p.queue).toEqual([]);
    expect(localStorage.getItem('earshot.player')).toBeNull();
  });

  it('reports a play once, after half the track was listened to (seeking does not count)', async () => {
    // Earlier tests' reports may still be on their way: look at this test's tracks only.
    const mine = () => plays.filter((p) => p.trackId.startsWith('r'));
    player.playTracks([track('r1', 60), track('r2', 600)]);
    engine.advance(0, 20, 60);
    player.seek(50); // skipping ahead is not listening
    engine.advance(50, 55, 60);
    expect(mine()).toEqual([]);
    player.seek(0);
    engine.advance(0, 12, 60); // 20 + 5 + 12 = 37 s heard: over half of 60 s
    await expect.poll(() => mine().length).toBe(1);
    expect(mine()[0]).toMatchObject({ trackId: 'r1' });
    expect(mine()[0]!.secondsPlayed).toBeGreaterThan(30);
    engine.advance(13, 40, 60);
    engine.emit('ended', undefined);
    // A long track counts after 4 minutes; this one only ended early, which counts too.
    expect(player.current?.id).toBe('r2');
    engine.advance(0, 100, 600);
    engine.emit('ended', undefined);
    await expect.poll(() => mine().length).toBe(2);
    expect(mine().map((p) => p.trackId)).toEqual(['r1', 'r2']);
  });
});
