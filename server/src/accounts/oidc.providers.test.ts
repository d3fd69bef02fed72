/** Provider settings: the Google preset, both at once, and refusals of half or unsafe configuration. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { GOOGLE_ISSUER, oidcProvidersFrom } from './oidc.providers.js';

const config = (env: Record<string, string>) => loadConfig({ env, argv: [], envFile: null }).config;

describe('OIDC provider settings', () => {
  it('none by default; Google from its two settings alone; both at once', () => {
    expect(oidcProvidersFrom(config({}))).toEqual([]);
    const google = oidcProvidersFrom(config({ EARSHOT_GOOGLE_CLIENT_ID: 'id', EARSHOT_GOOGLE_CLIENT_SECRET: 's' }));
    expect(google).toMatchObject([
      { id: 'google', name: 'Google', issuer: GOOGLE_ISSUER, scopes: 'openid email profile' },
    ]);
    const both = oidcProvidersFrom(
      config({
        EARSHOT_OIDC_ISSUER: 'https://auth.example.com/application/o/earshot/',
        EARSHOT_OIDC_CLIENT_ID: 'earshot',
        EARSHOT_OIDC_NAME: 'Authentik',
        EARSHOT_OIDC_SCOPES: 'email profile groups',
        EARSHOT_GOOGLE_CLIENT_ID: 'id',
        EARSHOT_GOOGLE_CLIENT_SECRET: 's',
      }),
    );
    expect(both.map((p) => [p.id, p.name])).toEqual([
      ['oidc', 'Authentik'],
      ['google', 'Google'],
    ]);
    // openid is always asked for; a trailing slash of the issuer is not part of its identity here.
    expect(both[0]).toMatchObject({
      scopes: 'openid email profile groups',
      issuer: 'https://auth.example.com/application/o/earshot',
    });
  });

  it('refuses an http issuer without EARSHOT_OIDC_ALLOW_INSECURE, and half configurations', () => {
    expect(() =>
      oidcProvidersFrom(config({ EARSHOT_OIDC_ISSUER: 'http://192.168.1.5:9000', EARSHOT_OIDC_CLIENT_ID: 'x' })),
    ).toThrow(/EARSHOT_OIDC_ALLOW_INSECURE/);
    expect(
      oidcProvidersFrom(
        config({
          EARSHOT_OIDC_ISSUER: 'http://192.168.1.5:9000',
          EARSHOT_OIDC_CLIENT_ID: 'x',
          EARSHOT_OIDC_ALLOW_INSECURE: 'true',
        }),
      ),
    ).toHaveLength(1);
    expect(() => oidcProvidersFrom(config({ EARSHOT_OIDC_ISSUER: 'https://auth.example.com' }))).toThrow(/CLIENT_ID/);
    expect(() => oidcProvidersFrom(config({ EARSHOT_GOOGLE_CLIENT_ID: 'id' }))).toThrow(/GOOGLE_CLIENT_SECRET/);
  });
});
