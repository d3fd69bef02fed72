/**
 * pino logger: JSON when stdout is not a terminal (journald, Docker, files), pretty on a TTY.
 * Secrets are redacted by path so a stray `log.info({ headers })` cannot leak a cookie or token.
 */
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
  };
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', singleLine: false },
      },
    });
  }
  return pino(base, destination({ dest: options.destination ?? 1, sync: false }));
}
