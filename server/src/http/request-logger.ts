/**
 * Request loggers made on first use. Fastify gives every request a child of the app's logger
 * bound to its request id (`request.log`); pino builds a child by copying the parent, writing its
 * bindings as JSON text and setting up a method per level — ~7 µs and ~2 KB of garbage per
 * request (issue 16: ~3 % of a cached search's main-thread time, ~10 % of what a request leaves
 * for the garbage collector), for a logger most requests never write a line with: at the default
 * `info` level the one line per request is a `debug` (app.ts) and errors are rare.
 *
 * {@link lazyChildLogger} is Fastify's `childLoggerFactory`: a request gets a small stand-in that
 * makes the real child (`parent.child(bindings, options)`, the same call Fastify makes) the first
 * time a line is written at an enabled level, or when asked for its own child or level. A line at
 * a level the parent has off is dropped without making the child, as the child would drop it.
 * A route with its own `logLevel` gets its child at once (its level is not the parent's).
 */
import type { FastifyBaseLogger } from 'fastify';

type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** What the stand-in needs of the parent (a pino logger). */
interface Parent extends FastifyBaseLogger {
  isLevelEnabled(level: string): boolean;
}

class LazyChildLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: Parent,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  /** The real child logger, made once. */
  private get logger(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  private write(level: Level, args: unknown[]): void {
    // Once made, the child decides (its level may have been set); before, the parent's level is its level.
    if (this.made === null && !this.parent.isLevelEnabled(level)) return;
    (this.logger[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}

/** Whether Fastify passed child options (a route's `logLevel`); no array made per request. */
function hasOptions(options: ChildOptions): boolean {
  for (const _ in options) return true;
  return false;
}

/** Fastify's `childLoggerFactory` (module comment). */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildOptions) {
  const parent = logger as Parent;
  // A route's own log level, or a parent that is not pino: the child now, as Fastify would make it.
  if (hasOptions(options) || typeof parent.isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new LazyChildLogger(parent, bindings, options) as FastifyBaseLogger;
}
