/**
 * The enabled providers. Built from config: a disabled provider is never constructed (it costs
 * nothing — no import of youtubei.js, no yt-dlp process, no proxy port).
 */
import type { RemoteProvider, RemoteSource } from './provider.js';

export class ProviderRegistry {
  private readonly providers = new Map<RemoteSource, RemoteProvider>();

  constructor(
    providers: RemoteProvider[],
    private readonly enabledFlags: Record<RemoteSource, boolean>,
  ) {
    for (const p of providers) this.providers.set(p.name, p);
  }

  isEnabled(name: RemoteSource): boolean {
    return this.enabledFlags[name] && this.providers.has(name);
  }

  get(name: RemoteSource): RemoteProvider | null {
    return this.isEnabled(name) ? (this.providers.get(name) ?? null) : null;
  }

  /** Replaces (or adds and enables) a provider — the seam tests use, since the real services are unreachable. */
  set(provider: RemoteProvider, enabled = true): void {
    this.providers.set(provider.name, provider);
    this.enabledFlags[provider.name] = enabled;
  }

  setEnabled(name: RemoteSource, enabled: boolean): void {
    this.enabledFlags[name] = enabled;
  }
}
