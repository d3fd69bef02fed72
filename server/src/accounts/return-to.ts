/**
 * Where to send the browser after a form sign-in (SECURITY.md item 10). Only same-origin relative
 * paths are accepted; `javascript:`, `//evil.com`, `/\evil.com`, absolute URLs and anything with
 * control characters or backslashes fall back to `/`.
 */
const BASE = 'http://earshot.invalid';

export function safeReturnTo(value: string | undefined | null): string {
  if (!value || value.length > 2000) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || /[\\\x00-\x1f\x7f]/.test(value)) return '/';
  try {
    const url = new URL(value, BASE);
    if (url.origin !== BASE) return '/';
    const path = `${url.pathname}${url.search}${url.hash}`;
    // Re-check after normalisation (e.g. "/./%2F/evil" must not become protocol-relative).
    return path.startsWith('//') ? '/' : path;
  } catch {
    return '/';
  }
}
