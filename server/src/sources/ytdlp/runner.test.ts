/**
 * The runner against the real /usr/bin/yt-dlp. The real SoundCloud/YouTube are unreachable from the
 * test machine, so a search run must get as far as the network and fail there — proving the fixed
 * argument arrays are accepted by this yt-dlp — and an abort must kill the process.
 */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { EgressProxy } from '../net/egress-proxy.js';
import { searchKey } from '../providers/soundcloud.provider.js';
import { YtDlpError, YtDlpRunner } from './runner.js';

const logger = pino({ level: 'silent' });
const proxy = new EgressProxy(logger, async () => {
  throw Object.assign(new Error('no network in tests'), { code: 'ENOTFOUND' });
});
const runner = new YtDlpRunner({
  path: '/usr/bin/yt-dlp',
  proxy,
  policy: { allowLoopback: false },
  logger,
  maxBytes: 1024 * 1024,
  socketTimeoutSeconds: 5,
});

afterAll(() => proxy.close());

describe('YtDlpRunner with the real yt-dlp', () => {
  it('a SoundCloud search runs up to the network call (options accepted, request refused by the proxy)', async () => {
    const err = (await runner
      .json('search', searchKey('scsearch', 'night drive', 5), { timeoutMs: 20_000 })
      .catch((e: unknown) => e)) as YtDlpError;
    expect(err).toBeInstanceOf(YtDlpError);
    expect(err.message).not.toMatch(/no such option|usage:/i);
    expect(err.message).toMatch(/refused|Unable to download|resolve/i);
    expect(runner.started.search).toBe(1);
    expect(runner.activeCount).toBe(0);
  });

  it('aborting a run kills its process', async () => {
    const controller = new AbortController();
    let pid: number | undefined;
    runner.once('spawn', (e) => {
      pid = e.pid;
      controller.abort(new Error('search timed out'));
    });
    const pending = runner.json('json', 'https://www.youtube.com/watch?v=dQw4w9WgXcQ', {
      timeoutMs: 20_000,
      signal: controller.signal,
    });
    await expect(pending).rejects.toThrow(/search timed out/);
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid!, 0)).toThrow(/ESRCH/);
    expect(runner.activeCount).toBe(0);
  });
});
