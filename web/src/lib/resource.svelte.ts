/** Loads data for a view: `data`, `error` and `loading` as reactive state, with `reload()`. */
import { errorMessage } from './api/index.js';

export class Resource<T> {
  data = $state<T | undefined>(undefined);
  error = $state<string | null>(null);
  loading = $state(true);
  #fn: () => Promise<T>;
  /** Number of the latest load: an answer to an older one (slower, or overtaken by a reload) is dropped. */
  #latest = 0;
  /** The first load (settles when its answer is in or dropped). */
  readonly ready: Promise<void>;

  constructor(fn: () => Promise<T>) {
    this.#fn = fn;
    this.ready = this.reload();
  }

  async reload() {
    const ticket = ++this.#latest;
    this.loading = true;
    try {
      const data = await this.#fn();
      if (ticket !== this.#latest) return;
      this.data = data;
      this.error = null;
    } catch (err) {
      if (ticket !== this.#latest) return;
      this.error = errorMessage(err);
    } finally {
      if (ticket === this.#latest) this.loading = false;
    }
  }
}

export const resource = <T>(fn: () => Promise<T>) => new Resource(fn);
