/** Readiness of the server: the database answers and its schema is current. */
import type { SystemRepository } from './system.repository.js';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export class HealthService {
  constructor(private readonly repo: SystemRepository) {}

  async readiness(): Promise<{ ready: boolean; checks: ReadinessCheck[] }> {
    const checks: ReadinessCheck[] = [];
    try {
      await this.repo.ping();
      checks.push({ name: 'database', ok: true });
      const pending = await this.repo.pendingMigrations();
      checks.push(
        pending.length === 0
          ? { name: 'migrations', ok: true }
          : { name: 'migrations', ok: false, detail: `${pending.length} pending: ${pending.join(', ')}` },
      );
    } catch {
      checks.push({ name: 'database', ok: false, detail: 'The database cannot be reached.' });
    }
    return { ready: checks.every((c) => c.ok), checks };
  }
}
