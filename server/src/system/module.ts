/**
 * Builds the system area: health probes, the storage report and the admin dashboard's server
 * information, with their routes. main.ts calls {@link createSystem} once. (Metrics and scheduled
 * backups are started by main.ts: metrics hook into every request, backups are background work.)
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/database.js';
import { accessScope } from '../http/access.js';
import type { DataPaths } from '../shared/fs-paths.js';
import type { Clock } from '../shared/time.js';
import { AdminService } from './admin.service.js';
import { healthRoutes } from './health.routes.js';
import { HealthService } from './health.service.js';
import { serverInfoRoutes } from './server-info.routes.js';
import { storageRoutes } from './storage.routes.js';
import { StorageService } from './storage.service.js';
import { SystemRepository } from './system.repository.js';

export interface SystemDeps {
  config: Pick<Config, 'ffmpegPath' | 'ffprobePath' | 'ytDlpPath' | 'publicUrl'>;
  db: Db;
  paths: DataPaths;
  clock: Clock;
  version: string;
  /** When this process started (uptime on the dashboard). */
  startedAt: number;
  /** Whether this replica leads (cluster/leader.ts); shown by /healthz. Default: always. */
  isLeader?: () => boolean;
}

export interface System {
  health: HealthService;
  storage: StorageService;
  admin: AdminService;
  /** `/healthz`, `/readyz` (public), `/system/storage` (users), `/api/v1/admin/server` (admins). */
  routes: FastifyPluginAsync;
}

export function createSystem(deps: SystemDeps): System {
  const repo = new SystemRepository(deps.db);
  const health = new HealthService(repo);
  const storage = new StorageService({ repo, paths: deps.paths, clock: deps.clock });
  const admin = new AdminService({ repo, clock: deps.clock, config: deps.config, startedAt: deps.startedAt });
  return {
    health,
    storage,
    admin,
    routes: async (app) => {
      await app.register(accessScope('public', healthRoutes), {
        health,
        version: deps.version,
        isLeader: deps.isLeader ?? (() => true),
      });
      await app.register(accessScope('user', storageRoutes), { storage });
      await app.register(accessScope('admin', serverInfoRoutes), { admin });
    },
  };
}
