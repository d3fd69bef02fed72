/**
 * Password hashing and the rules for usernames and passwords.
 *
 * argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1). Each hash holds ~19 MiB for tens
 * of milliseconds on the libuv thread pool, so a burst of logins could exhaust a phone's memory and
 * starve file I/O: a small semaphore bounds how many run at once (the rest wait in line).
 */
import type { Algorithm } from '@node-rs/argon2';
import { Invalid } from '../shared/errors.js';

/**
 * The native argon2 binding, loaded on the first hash or verify: most starts (and every
 * `earshot scan`) never check a password, and loading the addon was a measurable part of
 * `earshot serve`'s start-up (issue 16).
 */
let binding: Promise<typeof import('@node-rs/argon2')> | null = null;
const argon2 = () => {
  binding ??= import('@node-rs/argon2');
  return binding;
};

export interface HashParameters {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, argon2id option 2 (m=19456 KiB, t=2, p=1). */
export const OWASP_ARGON2ID: HashParameters = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

// `Algorithm` is a const enum in the package's typings, which isolatedModules cannot inline.
const ARGON2ID = 2 as Algorithm;

export const PASSWORD_MIN_LENGTH = 8;
/** Long enough for any passphrase, short enough that hashing cannot be abused as a DoS. */
export const PASSWORD_MAX_LENGTH = 256;
export const USERNAME_MAX_LENGTH = 64;

/** Counting semaphore: at most `limit` holders at once, FIFO for the waiters. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter (active stays the same) or release it.
      if (next) next();
      else this.active -= 1;
    }
  }

  get inUse(): number {
    return this.active;
  }
}

export class PasswordHasher {
  private readonly slots: Semaphore;
  // A real hash of a random string: verifying against it when the user does not exist makes
  // "no such user" take as long as "wrong password" (no username probing by timing).
  private dummy: Promise<string> | null = null;

  constructor(
    private readonly params: HashParameters = OWASP_ARGON2ID,
    concurrency = 2,
  ) {
    this.slots = new Semaphore(Math.max(1, concurrency));
  }

  hash(password: string): Promise<string> {
    return this.slots.run(async () => (await argon2()).hash(password, { ...this.params, algorithm: ARGON2ID }));
  }

  /** Constant-shape check: a malformed stored hash counts as a mismatch, never as an error to the caller. */
  verify(stored: string | null, password: string): Promise<boolean> {
    return this.slots.run(async () => {
      const { hash, verify } = await argon2();
      if (!stored) {
        this.dummy ??= hash(`no-user-${Math.random()}`, { ...this.params, algorithm: ARGON2ID });
        await verify(await this.dummy, password).catch(() => false);
        return false;
      }
      try {
        return await verify(stored, password);
      } catch {
        return false;
      }
    });
  }
}

/** Case-folded unique key of a username: `Admin` and `admin` are one account. */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

/** Trims and checks a new username; returns the display form to store. */
export function checkUsername(raw: string): string {
  const username = raw.normalize('NFKC').trim();
  if (username.length === 0) throw new Invalid('Choose a username.', { field: 'username' });
  if (username.length > USERNAME_MAX_LENGTH) {
    throw new Invalid(`A username can have at most ${USERNAME_MAX_LENGTH} characters.`, { field: 'username' });
  }
  // Letters (any script), digits and . _ - @ + : readable in a list and safe in a URL or a CLI argument.
  if (!/^[\p{L}\p{N}._@+-]+$/u.test(username)) {
    throw new Invalid('A username may contain letters, digits and . _ - @ + only (no spaces).', { field: 'username' });
  }
  return username;
}

export function checkPassword(password: string, field = 'password'): void {
  if (password.length < PASSWORD_MIN_LENGTH) {
    throw new Invalid(`The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`, { field });
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    throw new Invalid(`The password can be at most ${PASSWORD_MAX_LENGTH} characters long.`, { field });
  }
  if (password.trim().length === 0) throw new Invalid('The password cannot be only spaces.', { field });
}
