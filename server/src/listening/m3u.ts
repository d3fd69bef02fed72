/**
 * M3U8 (extended M3U, UTF-8) writing and reading, and a safe `Content-Disposition` for downloads.
 * Pure functions: the playlist service decides what each location means.
 */

export interface M3uEntry {
  title: string;
  artist: string | null;
  duration: number | null;
  location: string;
}

export interface ParsedM3uItem {
  /** 1-based line number of the location line (for "unmatched" reports). */
  line: number;
  location: string;
  title?: string;
  artist?: string;
  duration?: number;
}

/** Removes characters that would break the line structure of an M3U file. */
function oneLine(s: string): string {
  return s.replace(/[\r\n\u2028\u2029]+/g, ' ').trim();
}

export function formatM3u(name: string, entries: M3uEntry[], notes: string[] = []): string {
  const lines = ['#EXTM3U', `#PLAYLIST:${oneLine(name)}`];
  for (const note of notes) lines.push(`# ${oneLine(note)}`);
  for (const e of entries) {
    const seconds = e.duration === null ? -1 : Math.round(e.duration);
    const display = e.artist ? `${oneLine(e.artist)} - ${oneLine(e.title)}` : oneLine(e.title);
    lines.push(`#EXTINF:${seconds},${display}`, oneLine(e.location));
  }
  return `${lines.join('\n')}\n`;
}

export function parseM3u(text: string): { name?: string; items: ParsedM3uItem[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const items: ParsedM3uItem[] = [];
  let name: string | undefined;
  let pending: Omit<ParsedM3uItem, 'line' | 'location'> | null = null;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (!line) return;
    if (line.startsWith('#')) {
      if (line.startsWith('#PLAYLIST:')) name = line.slice(10).trim() || undefined;
      else if (line.startsWith('#EXTINF:')) pending = parseExtinf(line.slice(8));
      return;
    }
    items.push({ line: index + 1, location: line, ...(pending ?? {}) });
    pending = null;
  });
  return { name, items };
}

/** `#EXTINF:<seconds>[ attributes],<Artist - Title>` */
function parseExtinf(rest: string): Omit<ParsedM3uItem, 'line' | 'location'> {
  const comma = findDisplayComma(rest);
  const head = comma === -1 ? rest : rest.slice(0, comma);
  const display = comma === -1 ? '' : rest.slice(comma + 1).trim();
  const seconds = Number.parseFloat(head);
  const out: Omit<ParsedM3uItem, 'line' | 'location'> = {};
  if (Number.isFinite(seconds) && seconds >= 0) out.duration = seconds;
  const dash = display.indexOf(' - ');
  if (dash > 0) {
    out.artist = display.slice(0, dash).trim();
    out.title = display.slice(dash + 3).trim();
  } else if (display) {
    out.title = display;
  }
  return out;
}

/** The comma that separates attributes from the display title (commas inside "quoted" attributes don't count). */
function findDisplayComma(s: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '"') quoted = !quoted;
    else if (s[i] === ',' && !quoted) return i;
  }
  return -1;
}

/**
 * `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<RFC 5987 percent-encoding>`.
 * The fallback keeps only safe printable ASCII (no quotes, backslashes, semicolons or controls),
 * so a name like `a"; filename="x.html` cannot add a second parameter.
 */
export function contentDisposition(filename: string): string {
  const fallback =
    filename
      .replace(/[^\x20-\x7e]|["\\;%]/g, '_')
      .replace(/\s+/g, ' ')
      .trim() || 'download';
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** A file name from a playlist name: no path separators or reserved characters, bounded length. */
export function playlistFileName(name: string, extension: string): string {
  const base = name
    .replace(/[/\\?*:|<>\x00-\x1f\x7f]/g, '_')
    .replace(/^\.+/, '')
    .trim()
    .slice(0, 120);
  return `${base || 'playlist'}.${extension}`;
}
