/**
 * pino logger: JSON when stdout is not a terminal (journald, Docker, files), pretty on a TTY.
 * Secrets are redacted by path so a stray `log.info({ headers })` cannot leak a cookie or token.
 */
import { createRequire } from 'node:module';
import type { DestinationStream } from 'pino';
import { destination, pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["cf-access-jwt-assertion"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'token',
  '*.token',
  'secretKey',
  '*.secretKey',
];

/** Query parameters whose values are credentials (stream tokens, Subsonic `p`/`t`/`s`, API keys). */
const SECRET_QUERY_PARAMS = new Set([
  'token',
  'access_token',
  'refresh_token',
  'p',
  't',
  's',
  'apikey',
  'code',
  'state',
]);
/** Path prefixes whose next segment is a capability token. */
const SECRET_PATH_SEGMENT = /^(\/(?:share|auth\/invite)\/)([^/?#]+)/;

/**
 * A request URL fit for a log line: capability tokens in the path (`/share/{token}`,
 * `/auth/invite/{token}`) and credential query values (`?token=`, Subsonic `p`, `t`, `s`,
 * `apiKey`, OAuth `code`) are replaced with `[redacted]`. Everything else stays readable.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const safePath = path.replace(SECRET_PATH_SEGMENT, '$1[redacted]');
  if (q === -1) return safePath;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let key: string;
      try {
        key = decodeURIComponent(name).toLowerCase();
      } catch {
        key = name.toLowerCase();
      }
      return eq !== -1 && SECRET_QUERY_PARAMS.has(key) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${safePath}?${query}`;
}

interface LoggableRequest {
  method?: string;
  url?: string;
  ip?: string;
  host?: string;
  socket?: { remotePort?: number };
}

/** Fastify's request serializer, with the URL passed through {@link redactUrl}. */
function serializeRequest(req: LoggableRequest) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(options: {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  destination?: number;
}): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  const base: LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    // Fastify merges a logger instance's own serializers over its defaults, so this one wins.
    serializers: { req: serializeRequest },
  };
  if (pretty) {
    // pino-pretty as a stream in this process, loaded only for a terminal: not a transport (a
    // worker thread that pino starts by file path, which the bundled build does not keep).
    const prettyStream = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream;
    return pino(
      base,
      prettyStream({ colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', singleLine: false }),
    );
  }
  // Levels as words ("level":"info"), not pino's numbers: Loki labels, fail2ban filters and
  // `grep '"level":"error"'` read them as they are.
  return pino(
    { ...base, formatters: { level: (label) => ({ level: label }) } },
    destination({ dest: options.destination ?? 1, sync: false }),
  );
}
