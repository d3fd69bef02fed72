import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../shared/telemetry.js';
import { forEachServerEngine } from '../test/engines.js';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { addLocalTrack, type TrackFixture } from '../test/streaming.js';
import { metricsListeners } from './metrics.js';

const TOKEN = 'metrics-token-for-tests-0123456789';

/** `name{labels} value` lines of an exposition, as a map from the series text to its value. */
export function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

function listenerUrl(t: TestServer): string {
  const server = metricsListeners.get(t.app);
  if (!server) throw new Error('no metrics listener');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

forEachServerEngine((engine) => {
  describe('/metrics on the main port (issue 13 item 4)', () => {
    let t: TestServer;
    let base: string;
    let alice: TestUser;
    let track: TrackFixture;
    const scrape = async () => {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      return parseExposition(await res.text());
    };

    beforeAll(async () => {
      t = await startTestServer({ env: { EARSHOT_METRICS_TOKEN: TOKEN, EARSHOT_METRICS_ADDR: '127.0.0.1:0' } });
      base = await t.listen();
      alice = await t.createUser({ username: 'alice', role: 'admin' });
      track = await addLocalTrack(t.earshot, 'Metric Artist/Metric Album/01 - Gauge.mp3', { seconds: 2 });
    });
    afterAll(() => t.close());

    it('answers anonymous and wrong-token requests exactly like a path that does not exist', async () => {
      const unknown = await fetch(`${base}/metricz`, { headers: { accept: 'application/json' } });
      const attempts: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong-token-wrong-token-wrong' },
        { authorization: TOKEN },
        { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      ];
      for (const headers of attempts) {
        const res = await fetch(`${base}/metrics`, { headers: { accept: 'application/json', ...headers } });
        expect(res.status).toBe(404);
        expect(res.headers.get('content-type')).toBe(unknown.headers.get('content-type'));
        const body = await res.text();
        expect(body).not.toContain('earshot_');
        expect(body.replace('/metrics', '/metricz')).toBe(await unknown.clone().text());
      }
    });

    it('with the bearer token: every declared metric, HTTP counters and event-loop lag', async () => {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      for (const name of Object.keys(METRICS)) expect(text, name).toContain(`# TYPE ${name} `);
      expect(text).toContain('# TYPE earshot_nodejs_eventloop_lag_seconds gauge');
      expect(text).toContain('earshot_http_requests_total{');
      const series = parseExposition(text);
      // The file's size on SQLite, pg_database_size on PostgreSQL (which has no file of ours).
      expect(series.get('earshot_database_bytes')).toBeGreaterThan(0);
      if (engine === 'sqlite') expect(series.get('earshot_sqlite_bytes')).toBeGreaterThan(0);
      else expect(series.has('earshot_sqlite_bytes')).toBe(false);
      expect(series.get('earshot_disk_free_bytes{dir="data"}')).toBeGreaterThan(0);
      expect(series.get('earshot_transcodes_running')).toBe(0);
    });

    it('the separate listener serves them too, and wants the token when one is set', async () => {
      expect((await fetch(listenerUrl(t))).status).toBe(401);
      const ok = await fetch(listenerUrl(t), { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('earshot_streams_active');
      expect((await fetch(listenerUrl(t).replace('/metrics', '/'))).status).toBe(404);
    });

    it('counts failed sign-ins and throttled ones', async () => {
      const before = await scrape();
      let throttled = false;
      for (let i = 0; i < 60 && !throttled; i++) {
        const res = await fetch(`${base}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: `wrong-${i}` }),
        });
        expect([401, 429]).toContain(res.status);
        throttled = res.status === 429;
      }
      expect(throttled).toBe(true);
      const after = await scrape();
      expect(after.get('earshot_login_failures_total')! - before.get('earshot_login_failures_total')!).toBeGreaterThan(
        0,
      );
      expect(after.get('earshot_login_throttled_total')! - before.get('earshot_login_throttled_total')!).toBe(1);
    });

    it('counts direct and transcoded streams with their bytes, and ends them when the response closes', async () => {
      const headers = await t.authHeaders(alice);
      const before = await scrape();
      const direct = await fetch(`${base}/stream/${track.id}?format=raw`, { headers });
      const directBytes = (await direct.arrayBuffer()).byteLength;
      const coded = await fetch(`${base}/stream/${track.id}?format=opus&maxBitRate=64`, { headers });
      expect(coded.headers.get('x-earshot-transcode')).toMatch(/^opus/);
      const codedBytes = (await coded.arrayBuffer()).byteLength;
      const after = await scrape();
      const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
      expect(delta('earshot_streams_total{kind="direct"}')).toBe(1);
      expect(delta('earshot_streams_total{kind="transcoded"}')).toBe(1);
      expect(delta('earshot_stream_bytes_total{kind="direct"}')).toBeGreaterThanOrEqual(directBytes);
      expect(delta('earshot_stream_bytes_total{kind="transcoded"}')).toBeGreaterThanOrEqual(codedBytes);
      expect(after.get('earshot_streams_active{kind="direct"}')).toBe(0);
      expect(after.get('earshot_streams_active{kind="transcoded"}')).toBe(0);
    });

    it('times local searches by path and records a scan', async () => {
      const headers = await t.authHeaders(alice);
      const before = await scrape();
      const count = (m: Map<string, number>) =>
        [...m].filter(([k]) => k.startsWith('earshot_search_duration_seconds_count')).reduce((n, [, v]) => n + v, 0);
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${base}/api/v1/search/local?q=gauge`, { headers });
        expect(res.status).toBe(200);
      }
      await t.earshot.library.service.startScan({ trigger: 'test' });
      await t.earshot.library.scanner.idle();
      const after = await scrape();
      expect(count(after) - count(before)).toBe(2);
      expect(after.get('earshot_search_duration_seconds_count{path="cache"}')).toBeGreaterThanOrEqual(1);
      expect(
        (after.get('earshot_scan_runs_total{outcome="done"}') ?? 0) -
          (before.get('earshot_scan_runs_total{outcome="done"}') ?? 0),
      ).toBe(1);
      expect(after.get('earshot_scan_duration_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(after.get('earshot_scan_last_success_timestamp_seconds')).toBeGreaterThan(0);
    });
  });

  describe('/metrics with only EARSHOT_METRICS_ADDR', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer({ env: { EARSHOT_METRICS_ADDR: '127.0.0.1:0' } });
      await t.listen();
    });
    afterAll(() => t.close());

    it('serves the listener without a token and keeps the main port at 404', async () => {
      const res = await fetch(listenerUrl(t));
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('# TYPE earshot_login_failures_total counter');
      expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(404);
    });

    it('closes the listener with the server', async () => {
      const url = listenerUrl(t);
      await t.close();
      await expect(fetch(url)).rejects.toThrow();
    });
  });
});
