/**
 * Deterministic placeholder covers for albums (and playlists) without art: a colour pair derived
 * from the id, a few geometric shapes, and the name's initials. The SVG is ours, built from
 * escaped text (artwork.test.ts), and rendered by sharp to a bitmap — clients never receive SVG.
 */
import { createHash } from 'node:crypto';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Up to two initials from the first letters/digits of the words of `name` ("The Wall" → "TW"). */
export function initialsOf(name: string): string {
  const words = name.normalize('NFC').split(/\s+/).filter(Boolean);
  const letters: string[] = [];
  for (const w of words) {
    const m = /[\p{L}\p{N}]/u.exec(w);
    if (m) letters.push(m[0].toLocaleUpperCase());
    if (letters.length === 2) break;
  }
  return letters.join('') || '♪';
}

export function placeholderSvg(seed: string, name: string, size: number): string {
  const h = createHash('sha256').update(seed).digest();
  const hue = (h[0] * 256 + h[1]) % 360;
  const hue2 = (hue + 30 + (h[2] % 90)) % 360;
  const cx = 80 + (h[3] % 352);
  const cy = 80 + (h[4] % 352);
  const r = 120 + (h[5] % 140);
  const angle = h[6] % 180;
  const text = escapeXml(initialsOf(name));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 512 512">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
<stop offset="0" stop-color="hsl(${hue},55%,42%)"/><stop offset="1" stop-color="hsl(${hue2},60%,24%)"/>
</linearGradient></defs>
<rect width="512" height="512" fill="url(#g)"/>
<circle cx="${cx}" cy="${cy}" r="${r}" fill="hsl(${hue2},70%,60%)" fill-opacity="0.25"/>
<rect x="96" y="96" width="320" height="320" fill="white" fill-opacity="0.08" transform="rotate(${angle} 256 256)"/>
<text x="256" y="256" dy="0.35em" text-anchor="middle" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-weight="bold" font-size="168" fill="white" fill-opacity="0.92">${text}</text>
</svg>`;
}
