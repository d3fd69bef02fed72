/**
 * The public share page: plain HTML, one `<audio controls>` per track, OpenGraph tags for link
 * previews, styled like the app in the visitor's theme (their Earshot theme cookie, else their
 * device's). Its only script is the static /share-page.js (CSP `script-src 'self'`), which shows
 * dates in the visitor's time zone; without it they read in UTC. Every piece of
 * text and every attribute value goes through {@link escapeHtml} (shares.test.ts).
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
  /** The viewer's Earshot theme (their theme cookie); `system` follows their device. */
  theme?: 'system' | 'light' | 'dark';
}

/** "5 December 2026, 13:00 UTC": readable without the page script, made local by it. */
function utcDate(ms: number): string {
  const d = new Date(ms);
  const date = d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  const time = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
  return `${date}, ${time} UTC`;
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
    view.expiresAt === null
      ? ''
      : `<p class="exp">Link valid until <time data-local datetime="${e(new Date(view.expiresAt).toISOString())}">${e(utcDate(view.expiresAt))}</time></p>`;
  const theme = o.theme === 'light' || o.theme === 'dark' ? ` data-theme="${o.theme}"` : '';
  const count = `${view.tracks.length} song${view.tracks.length === 1 ? '' : 's'}`;
  const total = view.tracks.reduce((sum, t) => sum + (t.duration ?? 0), 0);
  return `<!doctype html>
<html lang="en"${theme}>
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex">
    <meta name="color-scheme" content="${o.theme === 'light' ? 'light' : o.theme === 'dark' ? 'dark' : 'light dark'}">
    <title>${e(view.title)} · Earshot</title>
    ${metaTags}
    <link rel="icon" href="/icons/icon.svg" type="image/svg+xml">
    <style>
      :root{--bg:#ffffff;--elev:#f4f4f6;--line:#dcdce2;--text:#111114;--text2:#4d4d57;--accent:#0f8a3f;--shadow:0 8px 24px rgba(0,0,0,.15)}
      @media (prefers-color-scheme:dark){:root:not([data-theme=light]){--bg:#121212;--elev:#1c1c1c;--line:#2c2c2c;--text:#fff;--text2:#b3b3b3;--accent:#1ed760;--shadow:0 8px 24px rgba(0,0,0,.5)}}
      :root[data-theme=dark]{--bg:#121212;--elev:#1c1c1c;--line:#2c2c2c;--text:#fff;--text2:#b3b3b3;--accent:#1ed760;--shadow:0 8px 24px rgba(0,0,0,.5)}
      *{box-sizing:border-box}
      body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:var(--bg);color:var(--text);line-height:1.4}
      .top{background:linear-gradient(to bottom,color-mix(in srgb,var(--accent) 28%,var(--bg)),var(--bg))}
      main{max-width:760px;margin:0 auto;padding:24px 20px 40px}
      .brand{display:inline-flex;align-items:center;gap:8px;color:var(--text);font-weight:800;text-decoration:none;margin-bottom:20px}
      header{display:flex;gap:24px;align-items:flex-end;flex-wrap:wrap}
      header img{width:200px;height:200px;border-radius:8px;object-fit:cover;background:var(--elev);box-shadow:var(--shadow)}
      .kind{font-size:.8rem;font-weight:700;text-transform:uppercase;letter-spacing:.08em;color:var(--text2)}
      h1{margin:4px 0 8px;font-size:clamp(1.6rem,5vw,2.6rem);line-height:1.1;overflow-wrap:anywhere}
      .sub,.who,.exp,.foot{color:var(--text2)}
      .exp{font-size:.9rem;margin:6px 0 0}
      ol{list-style:none;padding:0;margin:28px 0 0}
      li{padding:12px;border-radius:8px}
      li+li{border-top:1px solid var(--line)}
      .row{display:flex;gap:12px;align-items:baseline}.n{color:var(--text2);min-width:1.5em;text-align:right;font-variant-numeric:tabular-nums}
      .t{flex:1;font-weight:600;overflow-wrap:anywhere}.d{color:var(--text2);font-variant-numeric:tabular-nums}
      .who{margin:2px 0 8px 2.5em;font-size:.9rem}
      audio{width:100%;height:40px;margin-top:4px}
      a{color:var(--accent)}
      .open{display:inline-block;margin-top:6px;font-size:.9rem}
      .foot{margin-top:32px;font-size:.9rem;text-align:center}
      @media (max-width:480px){header img{width:100%;height:auto;aspect-ratio:1}}
    </style>
  </head>
  <body>
    <div class="top"><main>
      <a class="brand" href="/"><img src="/icons/icon.svg" alt="" width="28" height="28">Earshot</a>
      <header>
        <img src="${e(`${base}/cover?size=400`)}" alt="">
        <div>
          <div class="kind">${e(view.kind === 'track' ? 'Song' : view.kind === 'album' ? 'Album' : 'Playlist')}</div>
          <h1>${e(view.title)}</h1>
          <div class="sub">${e([view.subtitle, count, total > 0 ? duration(total) : null].filter(Boolean).join(' · '))}</div>
          ${expires}
        </div>
      </header>
      <ol>
      ${items}
      </ol>
      <p class="foot">Shared from a personal Earshot music server.</p>
    </main></div>
    <script src="/share-page.js" defer></script>
  </body>
</html>`;
}
