import { describe, expect, it } from 'vitest';
import { resource } from './resource.svelte.js';

/** A promise the test settles by hand, so the order in which loads finish is the test's choice. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('resource', () => {
  it('shows the loaded data, then an error message when a reload fails (keeping the data)', async () => {
    const answers = [deferred<string>(), deferred<string>()];
    let call = 0;
    const r = resource(() => answers[call++]!.promise);
    expect(r.loading).toBe(true);
    answers[0]!.resolve('first');
    await r.ready;
    expect(r.data).toBe('first');
    expect(r.loading).toBe(false);
    const reload = r.reload();
    answers[1]!.reject(new Error('server down'));
    await reload;
    expect(r.error).toBe('server down');
    expect(r.data).toBe('first');
    expect(r.loading).toBe(false);
  });

  it('never lets an older answer overwrite a newer one', async () => {
    const answers = [deferred<string>(), deferred<string>()];
    let call = 0;
    const r = resource(() => answers[call++]!.promise);
    const second = r.reload(); // e.g. the user changed a filter while the first load was on its way
    answers[1]!.resolve('new');
    await second;
    expect(r.data).toBe('new');
    expect(r.loading).toBe(false);
    answers[0]!.resolve('old'); // the slow first answer arrives last
    await r.ready;
    expect(r.data).toBe('new');
  });

  it('ignores a late failure of an older load, and stays loading until the newest answers', async () => {
    const answers = [deferred<string>(), deferred<string>()];
    let call = 0;
    const r = resource(() => answers[call++]!.promise);
    const second = r.reload();
    answers[0]!.reject(new Error('stale failure'));
    await r.ready;
    expect(r.error).toBeNull();
    expect(r.loading).toBe(true);
    answers[1]!.resolve('fresh');
    await second;
    expect(r.data).toBe('fresh');
    expect(r.error).toBeNull();
    expect(r.loading).toBe(false);
  });
});
