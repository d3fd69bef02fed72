/**
 * Domain errors: thrown by services, mapped once per protocol (HTTP problem JSON in
 * http/error-handler.ts; Subsonic error codes later). Codes are stable strings clients may rely on.
 *
 * @example
 *   throw new NotFound('playlist', id);
 *   throw new Invalid('maxBitRate must be between 32 and 320', { field: 'maxBitRate' });
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Extra, safe-to-show details (field names, limits). Never secrets or internals. */
  readonly details?: Record<string, unknown>;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;

  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options?.details;
  }
}

export class Invalid extends DomainError {
  readonly status = 400;
  readonly code = 'invalid';
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { details });
  }
}

export class Unauthorized extends DomainError {
  readonly status = 401;
  readonly code = 'unauthorized';
  constructor(message = 'Sign in to continue.') {
    super(message);
  }
}

export class Forbidden extends DomainError {
  readonly status = 403;
  readonly code = 'forbidden';
  constructor(message = 'You are not allowed to do this.') {
    super(message);
  }
}

export class NotFound extends DomainError {
  readonly status = 404;
  readonly code = 'not_found';
  constructor(what = 'resource', id?: string) {
    // The id is echoed only when the caller gave it (never a filesystem path).
    super(id === undefined ? `No such ${what}.` : `No ${what} with id "${id}".`);
  }
}

export class Conflict extends DomainError {
  readonly status = 409;
  readonly code = 'conflict';
}

/** The request named a host this server does not answer to (DNS rebinding defence). */
export class MisdirectedRequest extends DomainError {
  readonly status = 421;
  readonly code = 'unknown_host';
}

export class RangeNotSatisfiable extends DomainError {
  readonly status = 416;
  readonly code = 'range_not_satisfiable';
  constructor(size: number) {
    super('The requested range is outside the file.');
    this.headers = { 'content-range': `bytes */${size}` };
  }
}

export class TooManyRequests extends DomainError {
  readonly status = 429;
  readonly code = 'too_many_requests';
  constructor(message: string, retryAfterSeconds: number) {
    super(message, { details: { retryAfter: retryAfterSeconds } });
    this.headers = { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) };
  }
}

/** A dependency (ffmpeg, yt-dlp, the origin, a full queue) cannot serve this now. */
export class Unavailable extends DomainError {
  readonly status = 503;
  readonly code = 'unavailable';
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, { cause: options?.cause });
    if (options?.retryAfterSeconds !== undefined) {
      this.headers = { 'retry-after': String(Math.max(1, Math.ceil(options.retryAfterSeconds))) };
    }
  }
}

/** The upstream (remote provider, origin server) failed. */
export class BadGateway extends DomainError {
  readonly status = 502;
  readonly code = 'bad_gateway';
}

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}
