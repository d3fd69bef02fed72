/**
 * The public share page: plain HTML (no script — the CSP is `script-src 'self'` and a player
 * needs none), one `<audio controls>` per track, OpenGraph tags for link previews. Every piece of
 * text and every attribute value goes through {@link escapeHtml} (SECURITY.md 14).
 */
import type { PublicShare } from './shares.service.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const OG_TYPE = { track: 'music.song', album: 'music.album', playlist: 'music.playlist' } as const;

export interface SharePageOptions {
  token: string;
  /** Absolute origin for OpenGraph URLs (the configured public URL), or '' for relative ones. */
  origin: string;
  /** The viewer is signed in: offer "open in Earshot" deep links. */
  signedIn: boolean;
}

export function renderSharePage(view: PublicShare, o: SharePageOptions): string {
  const base = `/share/${o.token}`;
  const abs = (path: string) => `${o.origin}${path}`;
  const e = escapeHtml;
  const description = [view.subtitle, `${view.tracks.length} track${view.tracks.length === 1 ? '' : 's'}`]
    .filter(Boolean)
    .join(' · ');
  const meta = [
    ['og:title', view.title],
    ['og:type', OG_TYPE[view.kind]],
    ['og:description', description],
    ['og:image', abs(`${base}/cover?size=600`)],
    ['og:url', abs(base)],
    ['og:site_name', 'Earshot'],
  ];
  if (view.tracks[0]) {
    meta.push(['og:audio', abs(`${base}/stream/${view.tracks[0].id}`)]);
  }
  const metaTags = meta.map(([p, c]) => `<meta property="${e(p)}" content="${e(c)}">`).join('\n    ');
  const items = view.tracks
    .map((t, i) => {
      const who = [t.artist, view.kind !== 'album' ? t.album : null].filter(Boolean).join(' — ');
      const open = o.signedIn ? ` <a class="open" href="/?track=${encodeURIComponent(t.id)}">Open in Earshot</a>` : '';
      return `<li>
        <div class="row"><span class="n">${i + 1}</span><span class="t">${e(t.title)}</span><span class="d">${e(duration(t.duration))}</span></div>
        ${who ? `<div class="who">${e(who)}</div>` : ''}
        <audio controls preload="none" src="${e(`${base}/stream/${t.id}`)}"></audio>${open}
      </li>`;
    })
    .join('\n      ');
  const expires =
    view.expiresAt === null ? '' : `<p class="exp">Link valid until ${e(new Date(view.expiresAt).toUTCString())}</p>`;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex">
    <title>${e(view.title)} · Earshot</title>
    ${metaTags}
    <style>
      body{font-family:system-ui,sans-serif;margin:0;background:#111;color:#eee}
      main{max-width:720px;margin:0 auto;padding:24px}
      header{display:flex;gap:20px;align-items:center;flex-wrap:wrap}
      header img{width:160px;height:160px;border-radius:8px;object-fit:cover;background:#333}
      h1{margin:0 0 6px;font-size:1.6rem;overflow-wrap:anywhere}
      .sub,.who,.exp{color:#aaa}
      ol{list-style:none;padding:0}
      li{padding:12px 0;border-bottom:1px solid #2a2a2a}
      .row{display:flex;gap:10px}.n{color:#777;min-width:1.5em}.t{flex:1;overflow-wrap:anywhere}.d{color:#999}
      .who{margin:2px 0 6px 2.1em;font-size:.9rem}
      audio{width:100%;margin-top:6px}
      a{color:#8ab4ff}
    </style>
  </head>
  <body>
    <main>
      <header>
        <img src="${e(`${base}/cover?size=320`)}" alt="">
        <div>
          <h1>${e(view.title)}</h1>
          ${view.subtitle ? `<div class="sub">${e(view.subtitle)}</div>` : ''}
          ${expires}
        </div>
      </header>
      <ol>
      ${items}
      </ol>
      <p class="sub">Shared with Earshot.</p>
    </main>
  </body>
</html>`;
}
