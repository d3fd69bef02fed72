/**
 * Lyrics from tags: LRC (`[mm:ss.xx] line`, `[offset:+/-ms]`) becomes synced lines in
 * milliseconds; anything else is unsynced text, one line per line.
 */
export interface ParsedLyrics {
  synced: boolean;
  offsetMs: number;
  lines: { startMs?: number; value: string }[];
}

const TIME = /\[(\d{1,3}):(\d{1,2})(?:[.:](\d{1,3}))?\]/g;

export function parseLyrics(text: string): ParsedLyrics {
  const rows = text.replace(/\r\n?/g, '\n').split('\n');
  const offset = text.match(/^\[offset:\s*([+-]?\d+)\]/im);
  const timed: { startMs: number; value: string }[] = [];
  for (const row of rows) {
    const stamps = [...row.matchAll(TIME)];
    if (stamps.length === 0) continue;
    const value = row.replace(TIME, '').trim();
    for (const m of stamps) {
      const frac = m[3] ? Number(m[3].padEnd(3, '0')) : 0;
      timed.push({ startMs: Number(m[1]) * 60_000 + Number(m[2]) * 1000 + frac, value });
    }
  }
  if (timed.length > 0) {
    return {
      synced: true,
      offsetMs: offset ? Number(offset[1]) : 0,
      lines: timed.sort((a, b) => a.startMs - b.startMs),
    };
  }
  const lines = rows.filter((r) => !/^\[[a-z]+:.*\]$/i.test(r.trim()));
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  return { synced: false, offsetMs: 0, lines: lines.map((value) => ({ value })) };
}
