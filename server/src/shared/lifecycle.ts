/**
 * Ordered shutdown: components register a stop function as they start; {@link Lifecycle.stop}
 * runs them in reverse order (jobs and children first, the database last), each bounded in time.
 */
import type { Logger } from './logger.js';

type StopFn = () => Promise<void> | void;

export class Lifecycle {
  private readonly stops: { name: string; fn: StopFn }[] = [];
  private stopping: Promise<void> | null = null;

  constructor(private readonly logger?: Logger) {}

  onStop(name: string, fn: StopFn): void {
    this.stops.push({ name, fn });
  }

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  stop(perStepTimeoutMs = 5000): Promise<void> {
    if (!this.stopping) this.stopping = this.run(perStepTimeoutMs);
    return this.stopping;
  }

  private async run(perStepTimeoutMs: number): Promise<void> {
    for (const { name, fn } of [...this.stops].reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(fn),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${perStepTimeoutMs} ms`)), perStepTimeoutMs);
          }),
        ]);
        this.logger?.debug({ component: name }, 'stopped %s', name);
      } catch (err) {
        this.logger?.warn({ err, component: name }, 'stopping %s failed', name);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
