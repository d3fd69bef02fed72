/**
 * Property-based tests (fast-check) of every parser that takes outside input: Range
 * headers, stream/transcode parameters, M3U text, search queries, config values, and the query
 * string of every GET route of the registered route table. The property is always the same:
 * a clear answer (a value within bounds, or a 4xx / a ConfigError naming the problem), never a
 * crash or a 500.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFtsQuery } from '../catalog/search.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { SETTINGS } from '../config/schema.js';
import { contentDisposition, formatM3u, parseM3u } from '../listening/m3u.js';
import { DomainError } from '../shared/errors.js';
import { parseRange } from '../streaming/range.js';
import { parseStreamQuery, TRANSCODE_FORMATS } from '../streaming/transcode-profiles.js';
import { startTestServer, type TestServer } from '../test/harness.js';
import { routeTable } from './route-table.js';

/** Text as attackers write it: any Unicode, control characters, lone surrogates, digits and signs. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: fc.constantFrom(...'0123456789-+.,=eExXbB ;\t\u0000%'.split('')), maxLength: 30 }),
  fc.constantFrom('9223372036854775808', '1e308', '-0', 'NaN', 'Infinity', '0x10', '', ' ', '../../etc/passwd'),
);

describe('parsers (fast-check)', () => {
  it('SECURITY 22: Range → full, 416 or one range inside the file, for any header and size', () => {
    const header = fc.oneof(
      hostile,
      fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `bytes=${a}-${b}`),
      fc.nat().map((n) => `bytes=-${n}`),
      fc.array(fc.nat(1000), { maxLength: 300 }).map((ns) => `bytes=${ns.map((n) => `${n}-`).join(',')}`),
    );
    fc.assert(
      fc.property(header, fc.nat(1e12), (h, size) => {
        const d = parseRange(h, size);
        if (d.kind === 'partial') {
          expect(Number.isSafeInteger(d.start) && Number.isSafeInteger(d.end)).toBe(true);
          expect(0 <= d.start && d.start <= d.end && d.end < size).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('SECURITY 18: stream parameters → allow-listed values or a 400 naming the field', () => {
    fc.assert(
      fc.property(fc.option(hostile), fc.option(hostile), fc.option(hostile), (format, maxBitRate, timeOffset) => {
        try {
          const q = parseStreamQuery({
            format: format ?? undefined,
            maxBitRate: maxBitRate ?? undefined,
            timeOffset: timeOffset ?? undefined,
          });
          if (q.format) expect(['raw', ...TRANSCODE_FORMATS]).toContain(q.format);
          if (q.maxBitRate !== undefined) expect(Number.isInteger(q.maxBitRate) && q.maxBitRate >= 0).toBe(true);
          expect(q.timeOffset >= 0 && q.timeOffset <= 86_400).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(DomainError);
          expect((err as DomainError).status).toBe(400);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('M3U: any text parses without throwing; our own output reads back exactly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const parsed = parseM3u(text);
        let last = 0;
        for (const item of parsed.items) {
          expect(item.line).toBeGreaterThan(last);
          last = item.line;
          expect(item.location).not.toMatch(/[\r\n]/);
          expect(item.location.trim()).toBe(item.location);
        }
      }),
      { numRuns: 2000 },
    );
    const entry = fc.record({
      title: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => /\S/.test(s) && !s.includes(' - ')),
      artist: fc.constant(null),
      duration: fc.option(fc.nat(10_000)),
      location: fc.stringMatching(/^[A-Za-z0-9/_. -]{1,40}$/).filter((s) => /^[^#\s]/.test(s) && /\S$/.test(s)),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
        const back = parseM3u(formatM3u('list', entries)).items;
        expect(back.map((i) => i.location)).toEqual(entries.map((e) => e.location));
      }),
      { numRuns: 500 },
    );
  });

  it('SECURITY 15: Content-Disposition is one header value with one quoted name, for any file name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (name) => {
        const cd = contentDisposition(name);
        expect(cd).toMatch(/^attachment; filename="[^"\\\r\n]*"; filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]*$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('SECURITY 3: search text → an FTS5 query of quoted terms only, or nothing', () => {
    fc.assert(
      fc.property(hostile, (q) => {
        const fts = toFtsQuery(q);
        if (fts === null) return;
        // Every term is a quoted literal (doubled inner quotes), optionally a prefix, the terms
        // joined by spaces: no FTS syntax leaks, no operator at all.
        const term = '"(?:[^"]|"")+"\\*?';
        expect(fts).toMatch(new RegExp(`^${term}(?: ${term})*$`));
      }),
      { numRuns: 3000 },
    );
  });

  it('config values: any string for any setting → a config or a ConfigError, never another exception', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SETTINGS), hostile, (setting, value) => {
        try {
          loadConfig({ env: { EARSHOT_DATA_DIR: '/tmp/earshot-fuzz', [setting.env]: value }, argv: [], envFile: null });
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe('every GET route with fuzzed query strings (fast-check)', () => {
  let t: TestServer;
  let admin: Record<string, string>;
  beforeAll(async () => {
    t = await startTestServer();
    admin = await t.authHeaders(await t.createUser({ username: 'root', role: 'admin' }));
  });
  afterAll(() => t.close());

  it('never answers 500, whatever the parameters (as an administrator, so every route runs)', async () => {
    const routes = routeTable(t.app).filter(
      // Streams and event streams are long responses, and the thumbnail proxy fetches the network (its
      // URL checks are tested in sources/ssrf.test.ts); their parameters are covered by the parser properties above.
      (r) =>
        r.method === 'GET' &&
        !r.url.startsWith('/stream/') &&
        !r.url.endsWith('/events') &&
        !r.url.endsWith('/stream') &&
        !r.url.endsWith('/thumbnail') &&
        !r.url.includes('*'),
    );
    const names = (r: (typeof routes)[number]) =>
      Object.keys((r.schema as { querystring?: { properties?: object } })?.querystring?.properties ?? {});
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(
          fc.tuple(fc.oneof(fc.constantFrom('q', 'limit', 'offset', 'sort', 'size', 'format'), hostile), hostile),
          {
            maxLength: 4,
          },
        ),
        async (route, extra) => {
          const params = new URLSearchParams();
          for (const name of names(route)) params.append(name, String(extra[0]?.[1] ?? '1'));
          for (const [k, v] of extra) params.append(k, v);
          const url = `${route.url.replace(/:[A-Za-z]+/g, 'AAAAAAAAAAAAAAAAAAAAAA')}?${params}`;
          const res = await t.app.inject({ url, headers: admin });
          if (res.statusCode >= 500) failures.push(`${url} → ${res.statusCode} ${res.body.slice(0, 200)}`);
        },
      ),
      { numRuns: 400 },
    );
    expect(failures).toEqual([]);
  }, 120_000);
});
