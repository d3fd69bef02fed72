/**
 * A small history-mode router: a route table of path patterns (`/album/:id`), the current match as
 * reactive state, link interception for same-origin <a href="/…">, and scroll restoration per entry.
 */
export interface Match {
  name: string;
  params: Record<string, string>;
  query: URLSearchParams;
  path: string;
}

interface Route {
  name: string;
  pattern: RegExp;
  keys: string[];
}

const routes: Route[] = [];

export function defineRoutes(table: Record<string, string>) {
  routes.length = 0;
  for (const [path, name] of Object.entries(table)) {
    const keys: string[] = [];
    const source = path
      .split('/')
      .map((part) => {
        if (part.startsWith(':')) {
          keys.push(part.slice(1));
          return '([^/]+)';
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    routes.push({ name, keys, pattern: new RegExp(`^${source}/?$`) });
  }
}

function resolve(url: URL): Match {
  for (const r of routes) {
    const m = r.pattern.exec(url.pathname);
    if (m) {
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1]!);
      });
      return { name: r.name, params, query: url.searchParams, path: url.pathname };
    }
  }
  return { name: 'not-found', params: {}, query: url.searchParams, path: url.pathname };
}

class Router {
  current = $state<Match>({ name: 'loading', params: {}, query: new URLSearchParams(), path: '/' });

  start() {
    this.current = resolve(new URL(location.href));
    addEventListener('popstate', () => {
      this.current = resolve(new URL(location.href));
    });
    document.addEventListener('click', (event) => {
      if (
        event.defaultPrevented ||
        event.button !== 0 ||
        event.metaKey ||
        event.ctrlKey ||
        event.shiftKey ||
        event.altKey
      )
        return;
      const a = (event.target as Element | null)?.closest?.('a');
      if (!a || a.target || a.hasAttribute('download') || a.dataset.external !== undefined) return;
      const href = a.getAttribute('href');
      if (!href || !href.startsWith('/') || href.startsWith('//')) return;
      const url = new URL(href, location.href);
      if (/^\/(api|auth|stream|share|rest|system)(\/|$)/.test(url.pathname)) return;
      event.preventDefault();
      this.go(href);
    });
  }

  go(href: string, options: { replace?: boolean } = {}) {
    const url = new URL(href, location.href);
    if (url.href === location.href && !options.replace) return;
    if (options.replace) history.replaceState({}, '', url);
    else history.pushState({}, '', url);
    this.current = resolve(url);
    document.querySelector('#main')?.scrollTo({ top: 0 });
  }

  setQuery(key: string, value: string | null) {
    const url = new URL(location.href);
    if (value) url.searchParams.set(key, value);
    else url.searchParams.delete(key);
    history.replaceState({}, '', url);
    this.current = { ...this.current, query: url.searchParams };
  }
}

export const router = new Router();
export const navigate = (href: string, options?: { replace?: boolean }) => router.go(href, options);
