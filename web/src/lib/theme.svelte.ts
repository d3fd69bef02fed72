/**
 * Colour theme: light, dark, or following the device ("system"). The choice is the user's (saved
 * on the server, so it follows them to every browser); the server mirrors it into the readable
 * `earshot_theme` cookie, which is read here before the first paint and by the public share page.
 * Applying it sets <html data-theme>, the browser's theme colour and the manifest variant.
 */
import { api } from './api/index.js';

export type Theme = 'system' | 'light' | 'dark';

const COOKIE = 'earshot_theme';
/** Page background per theme (app.css --bg); also the manifests' theme colours. */
export const THEME_COLORS = { light: '#ffffff', dark: '#121212' } as const;

const isTheme = (v: unknown): v is Theme => v === 'system' || v === 'light' || v === 'dark';

function fromCookie(): Theme {
  const m = /(?:^|;\s*)earshot_theme=([a-z]+)/.exec(document.cookie);
  return m && isTheme(m[1]) ? m[1] : 'system';
}

class ThemeState {
  theme = $state<Theme>('system');
  #media = matchMedia('(prefers-color-scheme: dark)');

  /** The theme in effect (system resolved through the device's setting). */
  get effective(): 'light' | 'dark' {
    return this.theme === 'system' ? (this.#media.matches ? 'dark' : 'light') : this.theme;
  }

  /** Before the app mounts: last known choice from the cookie, and follow the device from now on. */
  init() {
    this.apply(fromCookie());
    this.#media.addEventListener('change', () => this.apply(this.theme));
  }

  apply(theme: Theme) {
    this.theme = theme;
    const root = document.documentElement;
    if (theme === 'system') delete root.dataset.theme;
    else root.dataset.theme = theme;
    const effective = this.effective;
    for (const meta of document.querySelectorAll<HTMLMetaElement>('meta[name="theme-color"]')) {
      // A chosen theme wins over the media-specific colours of index.html.
      if (theme === 'system') meta.content = meta.media.includes('dark') ? THEME_COLORS.dark : THEME_COLORS.light;
      else meta.content = THEME_COLORS[effective];
    }
    const manifest = document.querySelector<HTMLLinkElement>('link[rel="manifest"]');
    if (manifest) manifest.href = `/manifest-${effective}.webmanifest`;
  }

  /** After sign-in: the server's copy wins (another browser may have changed it). */
  async load() {
    try {
      this.apply((await api.me.preferences()).theme);
    } catch {
      /* offline: keep the cookie's */
    }
  }

  async set(theme: Theme) {
    const before = this.theme;
    this.apply(theme);
    try {
      await api.me.setPreferences({ theme });
    } catch (err) {
      this.apply(before);
      throw err;
    }
  }

  /** Signed out: back to the device's setting (the cookie goes with the session's data). */
  reset() {
    document.cookie = `${COOKIE}=; Max-Age=0; Path=/; SameSite=Lax`;
    this.apply('system');
  }
}

export const theme = new ThemeState();
