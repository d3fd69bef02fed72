/**
 * deploy/compose: each stack validates against the Compose Specification JSON schema
 * (../shared/spec/compose), publishes only what it should, and its .env example names every
 * variable the file requires.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEPLOY, SHARED } from '../../test/deploy.js';

const SCHEMA = join(SHARED, 'spec/compose/compose-spec.json');
const STACKS = ['cloudflared', 'caddy-authelia', 'observability', 'replicas'];
const load = (stack: string) => readFileSync(join(DEPLOY, 'compose', stack, 'compose.yaml'), 'utf8');

describe('compose stacks (deploy/compose)', () => {
  if (!existsSync(SCHEMA)) console.warn(`SKIPPED: ${SCHEMA} is absent (../shared is not checked out).`);
  it.skipIf(!existsSync(SCHEMA)).each(STACKS)('%s/compose.yaml passes the Compose Specification schema', (stack) => {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    // The copy names the draft-07 meta-schema by its https URL, which Ajv knows as http: the
    // schema itself is plain draft-07, Ajv's default.
    const { $schema: _meta, ...schema } = JSON.parse(readFileSync(SCHEMA, 'utf8'));
    const validate = ajv.compile(schema);
    const doc = parse(load(stack));
    expect(validate(doc), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // A broken file must fail: the schema really checks (a service property that does not exist).
    expect(validate({ ...doc, services: { earshot: { imagee: 'x' } } })).toBe(false);
  });

  it.each(['cloudflared', 'caddy-authelia', 'replicas'])('%s: every required ${VAR:?} is in env.example', (stack) => {
    const text = load(stack);
    const env = readFileSync(join(DEPLOY, 'compose', stack, 'env.example'), 'utf8');
    const required = [...text.matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) expect(env, name).toMatch(new RegExp(`^${name}=`, 'm'));
  });

  it('cloudflared: no published ports, the tunnel token comes from the env file, Earshot trusts only its network', () => {
    const doc = parse(load('cloudflared'));
    for (const [name, svc] of Object.entries<Record<string, unknown>>(doc.services))
      expect(svc.ports, name).toBeUndefined();
    expect(doc.services.cloudflared.environment.TUNNEL_TOKEN).toMatch(/^\$\{CLOUDFLARE_TUNNEL_TOKEN:\?/);
    expect(doc.services.earshot.environment.EARSHOT_TRUSTED_PROXIES).toBe(doc.networks.tunnel.ipam.config[0].subnet);
    expect(doc.services.earshot.volumes).toContain('earshot-data:/data');
  });

  it('caddy-authelia: only Caddy publishes ports, Earshot trusts Remote-User from Caddy alone, clients cannot send it', () => {
    const doc = parse(load('caddy-authelia'));
    expect(Object.keys(doc.services).filter((s) => doc.services[s].ports)).toEqual(['caddy']);
    const env = doc.services.earshot.environment;
    expect(env.EARSHOT_AUTH_PROXY_HEADER).toBe('Remote-User');
    expect(env.EARSHOT_TRUSTED_PROXIES).toBe(doc.services.caddy.networks.edge.ipv4_address);
    const caddyfile = readFileSync(join(DEPLOY, 'compose/caddy-authelia/Caddyfile'), 'utf8');
    // The strip comes before any handle, so it applies to bypassed paths too.
    expect(caddyfile.indexOf('request_header -Remote-User')).toBeGreaterThan(0);
    expect(caddyfile.indexOf('request_header -Remote-User')).toBeLessThan(caddyfile.indexOf('handle'));
    expect(caddyfile).toMatch(/@own_credentials path \/rest\/\* \/stream\/\* \/share\/\* \/auth\/token/);
    expect(caddyfile).toMatch(
      /forward_auth authelia:9091 \{\s+uri \/api\/authz\/forward-auth\s+copy_headers Remote-User/,
    );
    const authelia = parse(readFileSync(join(DEPLOY, 'compose/caddy-authelia/authelia/configuration.yml'), 'utf8'));
    expect(authelia.access_control.default_policy).toBe('deny');
    expect(parse(readFileSync(join(DEPLOY, 'compose/caddy-authelia/authelia/users.yml'), 'utf8')).users).toBeTruthy();
  });

  it('replicas: two Earshot replicas on one PostgreSQL behind Caddy, sharing the key and the cache volume', () => {
    const doc = parse(load('replicas'));
    expect(Object.keys(doc.services).filter((s) => doc.services[s].ports)).toEqual(['caddy']);
    const earshot = doc.services.earshot;
    expect(earshot.deploy.replicas).toBe(2);
    expect(earshot.environment.EARSHOT_DATABASE_URL).toMatch(
      /^postgres:\/\/earshot:\$\{POSTGRES_PASSWORD\}@postgres:5432\/earshot$/,
    );
    // The key comes from a file (a Compose secret), never a plain value in the stack.
    expect(earshot.environment.EARSHOT_SECRET_KEY).toBeUndefined();
    expect(earshot.environment.EARSHOT_SECRET_KEY_FILE).toBe(`/run/secrets/${earshot.secrets[0]}`);
    expect(doc.secrets[earshot.secrets[0]].file).toMatch(/^\$\{EARSHOT_SECRET_KEY_PATH:\?/);
    expect(earshot.environment.EARSHOT_TRUSTED_PROXIES).toBe(doc.services.caddy.networks.edge.ipv4_address);
    expect(earshot.volumes).toContain('earshot-shared:/data');
    expect(earshot.depends_on.postgres.condition).toBe('service_healthy');
    const caddyfile = readFileSync(join(DEPLOY, 'compose/replicas/Caddyfile'), 'utf8');
    // Every replica Docker's DNS knows, health-checked, streams unbuffered.
    expect(caddyfile).toMatch(/dynamic a earshot 8000/);
    expect(caddyfile).toMatch(/health_uri \/healthz/);
    expect(caddyfile).toMatch(/flush_interval -1/);
  });

  it('observability add-on: metrics on an unpublished listener, configs mounted from deploy/observability', () => {
    const doc = parse(load('observability'));
    expect(doc.services.earshot.environment.EARSHOT_METRICS_ADDR).toBe('0.0.0.0:9464');
    expect(doc.services.earshot.ports).toBeUndefined();
    const mounts = Object.values<{ volumes?: string[] }>(doc.services).flatMap((s) => s.volumes ?? []);
    for (const m of mounts.filter((v) => v.startsWith('../'))) {
      const host = m.split(':')[0];
      expect(existsSync(join(DEPLOY, 'compose/observability', host)), host).toBe(true);
    }
    const prom = parse(readFileSync(join(DEPLOY, 'observability/prometheus.yml'), 'utf8'));
    expect(prom.scrape_configs[0].static_configs[0].targets).toEqual(['earshot:9464']);
    expect(doc.services.grafana.ports).toEqual(['127.0.0.1:3000:3000']);
  });
});
