/** Loads data for a view: `data`, `error` and `loading` as reactive state, with `reload()`. */
import { errorMessage } from './api/index.js';

export class Resource<T> {
  data = $state<T | undefined>(undefined);
  error = $state<string | null>(null);
  loading = $state(true);
  #fn: () => Promise<T>;

  constructor(fn: () => Promise<T>) {
    this.#fn = fn;
    void this.reload();
  }

  async reload() {
    this.loading = true;
    try {
      this.data = await this.#fn();
      this.error = null;
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.loading = false;
    }
  }
}

export const resource = <T>(fn: () => Promise<T>) => new Resource(fn);
