/**
 * SECURITY.md 16–17 through the real routes: every refused URL is refused before yt-dlp runs
 * (its process counters stay at zero), and redirects into private ranges are refused by the
 * pinning egress proxy while yt-dlp follows them.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudio } from '../test/audio.js';
import { startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { type Origin, startOrigin } from '../test/origin.js';
import { buildYtDlpArgs } from './ytdlp/runner.js';

let t: TestServer;
let origin: Origin;
let admin: TestUser;
let headers: Record<string, string>;
let serverPort: number;

const started = () => ({ ...t.earshot.sources.runner.started });

beforeAll(async () => {
  origin = await startOrigin();
  // Only the test origin's port is reachable on loopback; everything else stays refused.
  process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES = String(origin.port);
  t = await startTestServer();
  delete process.env.EARSHOT_TEST_ALLOW_LOOPBACK_SOURCES;
  serverPort = Number(new URL(await t.listen()).port);
  admin = await t.createUser({ username: 'root', role: 'admin' });
  headers = await t.authHeaders(admin);
});

afterAll(async () => {
  await t?.close();
  await origin?.close();
});

describe('SECURITY 16, 17: URL sources refuse SSRF and option injection before yt-dlp runs', () => {
  const refused = [
    ['file:///etc/passwd', 400],
    ['gopher://example.com/', 400],
    ['--exec=touch pwned', 400],
    ['-o x', 400],
    ['--config-location=x', 400],
    ['http://127.0.0.1:8000/', 403],
    ['http://localhost:8000/', 403],
    ['http://[::ffff:127.0.0.1]/', 403],
    ['http://[::1]/', 403],
    ['http://2130706433/', 403],
    ['http://0x7f000001/', 403],
    ['http://169.254.169.254/latest/meta-data/', 403],
    ['http://100.100.100.100/', 403],
    ['http://10.0.0.1/', 403],
    ['http://192.168.1.1/', 403],
    ['http://[fe80::1]/', 403],
    ['http://0.0.0.0/', 403],
  ] as const;

  it.each(refused)('POST /remote/tracks {url: %j} → %i, no yt-dlp', async (url, status) => {
    const before = started();
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/remote/tracks', headers, payload: { url } });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(started()).toEqual(before);
  });

  it('the same URLs typed into federated search end as an error section, not a fetch', async () => {
    // Only the URL source matters here (the real SoundCloud/YouTube are unreachable from tests).
    t.earshot.sources.registry.setEnabled('youtube', false);
    t.earshot.sources.registry.setEnabled('soundcloud', false);
    const before = started();
    for (const q of ['http://127.0.0.1:8000/', 'http://169.254.169.254/', 'http://2130706433/']) {
      const res = await t.app.inject({ url: `/api/v1/search?q=${encodeURIComponent(q)}`, headers });
      expect(res.statusCode).toBe(200);
      const url = res.json().remote.find((s: { provider: string }) => s.provider === 'url');
      expect(url).toMatchObject({ status: 'error', items: [] });
      expect(url.error).toMatch(/Refusing to fetch/);
    }
    expect(started()).toEqual(before);
    t.earshot.sources.registry.setEnabled('youtube', true);
    t.earshot.sources.registry.setEnabled('soundcloud', true);
  });

  it('SECURITY 17: option-looking ids for YouTube/SoundCloud are refused before anything runs', async () => {
    const before = started();
    for (const payload of [
      { provider: 'youtube', remoteId: '--exec=touch pwned' },
      { provider: 'soundcloud', remoteId: '-o x' },
      { provider: 'youtube', remoteId: '../../etc/passwd' },
    ]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/remote/tracks', headers, payload });
      expect(res.statusCode, res.body).toBe(400);
    }
    expect(started()).toEqual(before);
  });

  it('a redirect from an allowed origin into loopback or metadata addresses is refused by the egress proxy', async () => {
    const target = `http://127.0.0.1:${serverPort}/api/v1/admin/cache`;
    for (const location of [target, 'http://169.254.169.254/latest/meta-data/', 'http://[::ffff:127.0.0.1]:80/']) {
      const path = `/redir-${encodeURIComponent(location).length}`;
      const refusedBefore = t.earshot.sources.proxy.refusedCount;
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/remote/tracks',
        headers,
        payload: { url: origin.set(path, { kind: 'redirect', location }) },
      });
      expect(res.statusCode, res.body).toBe(502);
      expect(res.json().detail).toMatch(/refused: Refusing to fetch from .*(loopback|link-local|IPv4-mapped)/);
      expect(origin.hits(path)).toBeGreaterThanOrEqual(1);
      expect(t.earshot.sources.proxy.refusedCount).toBeGreaterThan(refusedBefore);
    }
  });

  it('yt-dlp argument arrays: fixed options, proxy, `--` before the target, never user options', () => {
    const args = buildYtDlpArgs('audio', 'https://example.com/a.mp3', 'http://tok:x@127.0.0.1:1');
    expect(args.slice(0, 1)).toEqual(['--ignore-config']);
    expect(args).toContain('--no-playlist');
    expect(args.slice(-2)).toEqual(['--', 'https://example.com/a.mp3']);
    expect(args.slice(args.indexOf('-o'), args.indexOf('-o') + 2)).toEqual(['-o', '-']);
    expect(args.slice(args.indexOf('-f'), args.indexOf('-f') + 2)).toEqual(['-f', 'bestaudio/best']);
    for (const bad of [
      '--exec=touch pwned',
      '-o x',
      '--config-location=x',
      'file:///etc/passwd',
      'scsearch5:\n--exec',
    ]) {
      expect(() => buildYtDlpArgs('json', bad, 'http://tok:x@127.0.0.1:1')).toThrow();
    }
    // A search key keeps the user's words inside one argument after `--`.
    const search = buildYtDlpArgs('search', 'scsearch5:--exec=touch pwned', 'http://tok:x@127.0.0.1:1');
    expect(search.slice(-2)).toEqual(['--', 'scsearch5:--exec=touch pwned']);
  });
});

describe('who may play URLs', () => {
  it('users need the permission; admins grant it; mass-assigned fields are ignored', async () => {
    const song = await makeAudio(join(t.dir, 'fixtures', 'perm.mp3'), { seconds: 1 });
    const url = origin.set('/perm.mp3', { kind: 'file', path: song });
    const dave = await t.createUser({ username: 'dave' });
    const daveHeaders = await t.authHeaders(dave);
    const before = started();
    const denied = await t.app.inject({
      method: 'POST',
      url: '/api/v1/remote/tracks',
      headers: daveHeaders,
      payload: { url },
    });
    expect(denied.statusCode).toBe(403);
    expect(started()).toEqual(before);
    const info = await t.app.inject({ url: '/api/v1/sources', headers: daveHeaders });
    expect(info.json().canPlayUrls).toBe(false);

    const notAdmin = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/admin/users/${dave.id}/source-permissions`,
      headers: daveHeaders,
      payload: { canPlayUrls: true },
    });
    expect(notAdmin.statusCode).toBe(403);
    const grant = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/admin/users/${dave.id}/source-permissions`,
      headers,
      payload: { canPlayUrls: true },
    });
    expect(grant.statusCode).toBe(200);
    // The admin screen reads it back; other users may not, and unknown users are 404.
    const permOf = (id: string, h: Record<string, string>) =>
      t.app.inject({ url: `/api/v1/admin/users/${id}/source-permissions`, headers: h });
    expect((await permOf(dave.id, headers)).json()).toEqual({ canPlayUrls: true });
    expect((await permOf(dave.id, daveHeaders)).statusCode).toBe(403);
    expect((await permOf('nosuchuser0000000000', headers)).statusCode).toBe(404);

    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/remote/tracks',
      headers: daveHeaders,
      payload: { url, addedBy: admin.id, isCached: true, cached: true, id: 'chosen-id', localPath: '/etc/passwd' },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const track = ok.json();
    expect(track.id).not.toBe('chosen-id');
    expect(track.cached).toBe(false);
    const row = await t.earshot.database.db
      .selectFrom('tracks')
      .selectAll()
      .where('id', '=', track.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      added_by: dave.id,
      is_cached: 0,
      local_path: null,
      source_type: 'url',
      remote_id: url,
    });
  });

  it('a disabled URL source refuses even admins', async () => {
    t.earshot.sources.registry.setEnabled('url', false);
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/remote/tracks',
        headers,
        payload: { url: `${origin.base}/x.mp3` },
      });
      expect(res.statusCode).toBe(403);
      const search = await t.app.inject({ url: '/api/v1/search?q=abc', headers });
      expect(search.json().remote.find((s: { provider: string }) => s.provider === 'url').status).toBe('disabled');
    } finally {
      t.earshot.sources.registry.setEnabled('url', true);
    }
  });
});
