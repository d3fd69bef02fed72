/**
 * Lyrics as the server stores them: plain text, or LRC (`[mm:ss.xx]line`, from an `.lrc` sidecar
 * or a synced tag). Synced lyrics come back as timed lines so the Now Playing screen can follow
 * the song; anything else is shown as plain text.
 */
export interface LyricLine {
  /** Seconds from the start of the track. */
  time: number;
  text: string;
}

export type Lyrics = { synced: true; lines: LyricLine[] } | { synced: false; text: string };

const STAMP = /\[(\d{1,3}):(\d{1,2}(?:[.:]\d{1,3})?)\]/g;
const META = /^\[(?:ar|al|ti|au|by|re|ve|length|offset|#):[^\]]*\]\s*$/i;

export function parseLyrics(raw: string | null | undefined): Lyrics | null {
  const source = raw?.replace(/\r\n?/g, '\n').trim();
  if (!source) return null;
  const lines: LyricLine[] = [];
  let offset = 0;
  for (const line of source.split('\n')) {
    const off = /^\[offset:\s*([+-]?\d+)\]/i.exec(line.trim());
    if (off) offset = Number(off[1]) / 1000;
    if (META.test(line.trim())) continue;
    const stamps: number[] = [];
    STAMP.lastIndex = 0;
    let m: RegExpExecArray | null = STAMP.exec(line);
    let textStart = 0;
    // Timestamps lead the line; one line may carry several ("[00:12.00][01:30.00]Chorus").
    while (m && m.index === textStart) {
      stamps.push(Number(m[1]) * 60 + Number(m[2]!.replace(':', '.')));
      textStart = m.index + m[0].length;
      m = STAMP.exec(line);
    }
    const text = line.slice(textStart).trim();
    for (const time of stamps) lines.push({ time: Math.max(0, time - offset), text });
  }
  if (lines.length === 0) return { synced: false, text: source };
  lines.sort((a, b) => a.time - b.time);
  return { synced: true, lines };
}

/** Index of the line being sung at `seconds` (-1 before the first line). */
export function currentLine(lines: LyricLine[], seconds: number): number {
  let lo = 0;
  let hi = lines.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid]!.time <= seconds + 0.05) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
