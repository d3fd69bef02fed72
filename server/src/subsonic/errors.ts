/**
 * The one Subsonic error mapper: domain errors → Subsonic error codes, always sent with HTTP 200
 * (clients such as sublime-music give up on any other status). Unexpected errors become code 0
 * with only the request id; the details go to the log.
 */
import { isDomainError } from '../shared/errors.js';

export const ErrorCode = {
  Generic: 0,
  MissingParameter: 10,
  ClientMustUpgrade: 20,
  ServerMustUpgrade: 30,
  WrongCredentials: 40,
  TokenAuthNotSupported: 41,
  AuthMechanismNotSupported: 42,
  ConflictingAuth: 43,
  InvalidApiKey: 44,
  NotAuthorized: 50,
  NotFound: 70,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export const HELP_URL = 'https://github.com/earshot-music/earshot/blob/main/docs/clients.md';

export class SubsonicError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'SubsonicError';
  }
}

export const missing = (name: string) =>
  new SubsonicError(ErrorCode.MissingParameter, `Required parameter is missing: ${name}`);

export interface MappedError {
  code: ErrorCodeValue;
  message: string;
  /** Unexpected: log it. */
  unexpected: boolean;
}

export function mapError(err: unknown, requestId: string): MappedError {
  if (err instanceof SubsonicError) return { code: err.code, message: err.message, unexpected: false };
  if (isDomainError(err)) {
    switch (err.status) {
      case 401:
        return { code: ErrorCode.WrongCredentials, message: err.message, unexpected: false };
      case 403:
        return { code: ErrorCode.NotAuthorized, message: err.message, unexpected: false };
      case 404:
      case 410:
        return { code: ErrorCode.NotFound, message: err.message, unexpected: false };
      default:
        // 400 invalid values, 409, 413, 429 (throttled), 5xx: generic, with the service's clear message.
        return { code: ErrorCode.Generic, message: err.message, unexpected: err.status >= 500 };
    }
  }
  return { code: ErrorCode.Generic, message: `Internal error (request ${requestId}).`, unexpected: true };
}
