/**
 * The envelope's writers (direct JSON and XML text) against the plain renderings they replaced
 * (src/test/subsonic/envelope-reference.ts): the same text for hand-picked awkward trees and for
 * thousands of random ones, and XML that stays well-formed whatever the strings hold.
 */
import { describe, expect, it } from 'vitest';
import { type Envelope, Fragment, type Node, render, renderJson, renderXml, Text } from './envelope.js';
import { renderJsonReference, renderXmlReference } from '../test/subsonic/envelope-reference.js';

const envelope = (payload: Node, status: 'ok' | 'failed' = 'ok'): Envelope => ({
  status,
  serverVersion: '1.2.3',
  payload,
});

const AWKWARD = [
  '',
  'plain',
  'Beyoncé – Halo',
  '坂本龍一',
  'quote " apostrophe \' amp & lt < gt >',
  'tab\tnew line\ncarriage\r',
  'controls \u0000\u0001\u0008\u000b\u001f',
  'line sep \u2028 para sep \u2029',
  'emoji 🎵 pair',
  'lone high \ud800 end',
  'lone low \udc00 end',
  'nonchars \ufffe\uffff',
  '</script><!-- -->',
  '\\ backslash',
];

/** A copy of the tree whose object list items (at any depth) are fragments. */
function fragmented(node: Node): Node {
  const out: Node = {};
  for (const [k, v] of Object.entries(node)) {
    if (Array.isArray(v)) {
      out[k] = v.map((item) =>
        item && typeof item === 'object' && !(item instanceof Text) ? new Fragment(() => fragmented(item)) : item,
      );
    } else if (v && typeof v === 'object' && !(v instanceof Text)) out[k] = fragmented(v);
    else out[k] = v;
  }
  return out;
}

describe('envelope writers', () => {
  it('write exactly what the reference renderings write for awkward values', () => {
    const payload: Node = {
      albumList2: {
        album: AWKWARD.map((s, i) => ({
          id: `id${i}`,
          name: s,
          year: i,
          duration: i === 3 ? Number.NaN : i === 4 ? Number.POSITIVE_INFINITY : i * 1.5,
          starred: i % 2 ? undefined : null,
          isCompilation: i % 3 === 0,
          genres: i % 2 ? [] : [{ name: s }],
          releaseTypes: [],
          moods: i % 4 === 0 ? [s, 'calm'] : [],
          notAList: [],
          replayGain: { trackGain: i % 5 === 0 ? undefined : -6.5, albumPeak: 0.98 },
        })),
      },
      lyricsList: { structuredLyrics: [{ lang: 'eng', synced: true, line: [{ start: 0, value: AWKWARD[4] }] }] },
      artistInfo: { biography: new Text(AWKWARD[5]), similarArtist: [] },
      scanStatus: { scanning: false, count: 0, value: '' },
      numbers: [1, Number.NaN, 2.5, -0],
      texts: [new Text('a<b'), 'c&d'],
    };
    for (const status of ['ok', 'failed'] as const) {
      const e = envelope(payload, status);
      expect(renderJson(e)).toBe(renderJsonReference(e));
      expect(renderXml(e)).toBe(renderXmlReference(e));
      expect(() => JSON.parse(renderJson(e))).not.toThrow();
    }
  });

  it('match the references on thousands of random trees', () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    const KEYS = ['id', 'name', 'value', 'genres', 'artists', 'entry', 'song', 'x', 'isrc', 'title'];
    const primitive = () =>
      pick([
        () => pick(AWKWARD),
        () => Math.floor(rnd() * 1000) - 500,
        () => rnd() * 10,
        () => rnd() < 0.5,
        () => pick([Number.NaN, Number.NEGATIVE_INFINITY]),
      ])();
    const tree = (depth: number): Node => {
      const node: Node = {};
      const n = Math.floor(rnd() * 6);
      for (let i = 0; i < n; i++) {
        const k = pick(KEYS);
        const kind = rnd();
        if (kind < 0.45 || depth > 3) node[k] = primitive();
        else if (kind < 0.55) node[k] = pick([undefined, null]);
        else if (kind < 0.65) node[k] = new Text(pick(AWKWARD));
        else if (kind < 0.8) node[k] = tree(depth + 1);
        else
          node[k] = Array.from({ length: Math.floor(rnd() * 3) }, () =>
            rnd() < 0.6 ? tree(depth + 1) : rnd() < 0.5 ? primitive() : new Text(pick(AWKWARD)),
          );
      }
      return node;
    };
    for (let i = 0; i < 3000; i++) {
      const e = envelope({ payload: tree(0) });
      expect(renderJson(e)).toBe(renderJsonReference(e));
      expect(renderXml(e)).toBe(renderXmlReference(e));
      // The same tree with its list items pre-rendered (fragments.ts): the same text, first and
      // again from the kept text.
      const f = envelope(fragmented(e.payload));
      for (let twice = 0; twice < 2; twice++) {
        expect(renderJson(f)).toBe(renderJsonReference(e));
        expect(renderXml(f)).toBe(renderXmlReference(e));
      }
    }
  });

  it('fragments of plain trees (written by JSON.stringify) match the references too', () => {
    // Trees like the song, album and artist nodes: no null, no NaN, no Text; some of them break one
    // of those rules, or hold an empty list the writer leaves out, so both ways are compared.
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    const KEYS = ['id', 'title', 'genres', 'artists', 'isrc', 'replayGain', 'notAList', '0', '10', 'played'];
    const spoiler = () => pick([null, Number.NaN, Number.POSITIVE_INFINITY, new Text('t<'), []]);
    const value = (depth: number, spoil: boolean): unknown => {
      const kind = rnd();
      if (spoil && kind < 0.05) return spoiler();
      if (kind < 0.4 || depth > 2)
        return pick([pick(AWKWARD), Math.floor(rnd() * 1000) - 500, rnd() * 10, -0, rnd() < 0.5]);
      if (kind < 0.5) return undefined;
      if (kind < 0.7) return tree(depth + 1, spoil);
      return Array.from({ length: Math.floor(rnd() * 3) }, () =>
        rnd() < 0.6 ? tree(depth + 1, spoil) : pick(AWKWARD),
      );
    };
    const tree = (depth: number, spoil: boolean): Node => {
      const node: Node = {};
      for (let i = Math.floor(rnd() * 7); i > 0; i--) node[pick(KEYS)] = value(depth, spoil);
      return node;
    };
    for (let i = 0; i < 3000; i++) {
      const e = envelope({ searchResult3: { song: [tree(0, i % 2 === 1), tree(0, i % 3 === 1)] } });
      const f = envelope(fragmented(e.payload));
      for (let twice = 0; twice < 2; twice++) {
        expect(renderJson(f)).toBe(renderJsonReference(e));
        expect(renderXml(f)).toBe(renderXmlReference(e));
      }
    }
  });

  it('a fragment listed under another element name is written under that name', () => {
    const item = new Fragment(() => ({ id: 'a1', title: 'Dawn & Dusk' }));
    const e = envelope({ searchResult: { match: [item] }, searchResult3: { song: [item] } });
    expect(renderXml(e)).toContain('<match id="a1" title="Dawn &amp; Dusk"/>');
    expect(renderXml(e)).toContain('<song id="a1" title="Dawn &amp; Dusk"/>');
    expect(renderJson(e)).toContain('"match":[{"id":"a1","title":"Dawn & Dusk"}]');
  });

  it('JSONP wraps the JSON text; an empty success is an empty envelope', () => {
    const e = envelope({});
    expect(render(e, 'jsonp', 'cb.x').body).toBe(`cb.x(${renderJsonReference(e)});`);
    expect(JSON.parse(renderJson(e))).toEqual({
      'subsonic-response': {
        status: 'ok',
        version: '1.16.1',
        type: 'earshot',
        serverVersion: '1.2.3',
        openSubsonic: true,
      },
    });
  });
});
