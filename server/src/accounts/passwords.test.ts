import { describe, expect, it } from 'vitest';
import { checkPassword, checkUsername, PasswordHasher, Semaphore, usernameKey } from './passwords.js';
import { safeReturnTo } from './return-to.js';

describe('Semaphore', () => {
  it('never lets more than `limit` tasks run at once and runs every task', async () => {
    const sem = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const tasks = Array.from({ length: 6 }, (_, i) =>
      sem.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return i;
      }),
    );
    // Release tasks one at a time as they start; only two are ever waiting to be released.
    for (let done = 0; done < 6; done++) {
      while (releases.length === 0) await Promise.resolve();
      expect(releases.length).toBeLessThanOrEqual(2);
      releases.shift()!();
      await Promise.resolve();
    }
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(sem.inUse).toBe(0);
  });
});

describe('PasswordHasher', () => {
  it('hashes with argon2id OWASP parameters, verifies, and treats missing or malformed hashes as a mismatch', async () => {
    const hasher = new PasswordHasher();
    const hash = await hasher.hash('correct horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(hash, 'correct horse')).toBe(true);
    expect(await hasher.verify(hash, 'correct horsE')).toBe(false);
    expect(await hasher.verify(null, 'anything')).toBe(false);
    expect(await hasher.verify('not-a-hash', 'anything')).toBe(false);
    // Salted: the same password hashes differently each time.
    expect(await hasher.hash('correct horse')).not.toBe(hash);
  });
});

describe('username and password rules', () => {
  it('folds case for the unique key and rejects unsafe names with clear messages', () => {
    expect(usernameKey('Admin')).toBe(usernameKey('admin'));
    expect(usernameKey('ＡＤＭＩＮ')).toBe('admin'); // full-width letters fold too (NFKC)
    expect(checkUsername('  Zoë.m-1 ')).toBe('Zoë.m-1');
    expect(() => checkUsername('')).toThrow('Choose a username.');
    expect(() => checkUsername('a b')).toThrow(/letters, digits/);
    expect(() => checkUsername('%')).toThrow(/letters, digits/);
    expect(() => checkUsername('<img src=x>')).toThrow(/letters, digits/);
    expect(() => checkUsername('x'.repeat(65))).toThrow(/at most 64/);
    expect(() => checkPassword('1234567')).toThrow('The password must be at least 8 characters long.');
    expect(() => checkPassword('x'.repeat(257))).toThrow(/at most 256/);
    expect(() => checkPassword('        ')).toThrow(/only spaces/);
    expect(() => checkPassword('12345678')).not.toThrow();
  });
});

describe('safeReturnTo', () => {
  it('keeps same-origin relative paths and drops everything else', () => {
    expect(safeReturnTo('/library?sort=title')).toBe('/library?sort=title');
    for (const bad of [
      'javascript:alert(1)',
      '//evil.com',
      'https://evil.com',
      '/\\evil.com',
      '\\\\evil.com',
      'evil.com',
      '',
      undefined,
      '/\nx',
    ]) {
      expect(safeReturnTo(bad), String(bad)).toBe('/');
    }
    expect(safeReturnTo('/./%2F/evil')).toBe('/%2F/evil');
  });
});
