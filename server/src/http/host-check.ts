/**
 * Host allow-list (DNS rebinding; host-check.test.ts): a page on `evil.example` whose DNS later points at
 * 127.0.0.1 or a LAN address talks to us with `Host: evil.example` and a matching `Origin`, which
 * passes an origin-equals-host CSRF check. We answer only to names we are known by: IP literals,
 * `localhost`, the public URL's host and `EARSHOT_ALLOWED_HOSTS`; anything else gets 421
 * (Misdirected Request) before authentication or any route runs.
 */
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { MisdirectedRequest } from '../shared/errors.js';

export interface HostPolicy {
  publicUrl?: string;
  /** Extra names (`music.example.com`), or `.example.com` / `*.example.com` for every subdomain. */
  allowedHosts: readonly string[];
}

/** The host name of a `Host` header value, lower-cased, without port, brackets or trailing dot. */
export function hostName(header: string): string | null {
  const value = header.trim().toLowerCase();
  if (value === '') return null;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return null;
    const rest = value.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null;
    return value.slice(1, end);
  }
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return null;
  return m[1].endsWith('.') ? m[1].slice(0, -1) : m[1];
}

export function createHostCheck(policy: HostPolicy): (header: string | undefined) => boolean {
  const exact = new Set<string>(['localhost']);
  const suffixes: string[] = [];
  if (policy.publicUrl) exact.add(new URL(policy.publicUrl).hostname.toLowerCase().replace(/^\[|\]$/g, ''));
  for (const raw of policy.allowedHosts) {
    const entry = raw.trim().toLowerCase();
    if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
    else if (entry.startsWith('.')) suffixes.push(entry);
    else if (entry !== '') exact.add(hostName(entry) ?? entry);
  }
  return (header) => {
    // HTTP/1.0 without Host: no name to rebind, nothing to check.
    if (header === undefined) return true;
    const name = hostName(header);
    if (name === null) return false;
    if (isIP(name) !== 0 || exact.has(name)) return true;
    return suffixes.some((s) => name.endsWith(s) && name.length > s.length);
  };
}

/** Registers the check as the very first `onRequest` hook. */
export function registerHostCheck(app: FastifyInstance, policy: HostPolicy): void {
  const allowed = createHostCheck(policy);
  app.addHook('onRequest', (request, _reply, done) => {
    if (allowed(request.headers.host)) return done();
    done(
      new MisdirectedRequest(
        'This server does not answer to that host name. Add it to EARSHOT_ALLOWED_HOSTS (or EARSHOT_PUBLIC_URL) if it is yours.',
      ),
    );
  });
}
