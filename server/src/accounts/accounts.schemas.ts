/** TypeBox schemas of the accounts routes (validation, serialization, OpenAPI). */
import { type Static, Type } from '@sinclair/typebox';
import { REGISTRATION_MODES } from '../config/schema.js';
import { Nullable } from '../http/schemas.js';
import { PASSWORD_MAX_LENGTH } from './passwords.js';

export const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('user')]);
export const RegistrationModeSchema = Type.Union(REGISTRATION_MODES.map((m) => Type.Literal(m)));

export const MeSchema = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    role: RoleSchema,
    createdAt: Type.Integer({ description: 'Unix ms' }),
  },
  { title: 'Me' },
);
export type Me = Static<typeof MeSchema>;

// Length limits only; the content rules (and their friendly messages) live in passwords.ts.
const Username = Type.String({ minLength: 1, maxLength: 256 });
const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 });
export const SecretParam = Type.String({ pattern: '^[A-Za-z0-9_-]{16,128}$' });

export const AuthStatusSchema = Type.Object({
  setupRequired: Type.Boolean(),
  registration: RegistrationModeSchema,
  user: Nullable(MeSchema),
});

export const LoginBody = Type.Object({
  username: Username,
  password: Password,
  returnTo: Type.Optional(
    Type.String({
      maxLength: 2000,
      description: 'form posts only: same-origin path to redirect to (303) after signing in',
    }),
  ),
});
export const SetupBody = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 200 }),
  username: Username,
  password: Password,
});
export const RegisterBody = Type.Object({
  username: Username,
  password: Password,
  invite: Type.Optional(Type.String({ maxLength: 200 })),
});

export const TokenBody = Type.Object({
  grant_type: Type.Union([Type.Literal('password'), Type.Literal('refresh_token')]),
  username: Type.Optional(Username),
  password: Type.Optional(Password),
  refresh_token: Type.Optional(Type.String({ maxLength: 200 })),
  scope: Type.Optional(Type.String({ maxLength: 200 })),
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
});
export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'seconds until the access token expires' }),
  refresh_token: Type.String(),
});
export const RevokeBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) });

export const InviteCheckResponse = Type.Object({ valid: Type.Literal(true), expiresAt: Type.Integer() });

export const ChangePasswordBody = Type.Object({ currentPassword: Password, newPassword: Password });

export const SessionSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('web'), Type.Literal('api')], {
      description: 'web = browser cookie, api = token client',
    }),
    userAgent: Nullable(Type.String()),
    browser: Type.Union([Type.String(), Type.Null()], { description: 'e.g. Firefox, Chrome, DSub/5.5' }),
    os: Type.Union([Type.String(), Type.Null()], { description: 'e.g. Android, Windows, iOS' }),
    device: Type.String({ description: 'What to show: "Firefox on Android"' }),
    ip: Nullable(Type.String()),
    createdAt: Type.Integer(),
    lastSeenAt: Type.Integer(),
    expiresAt: Type.Integer(),
    current: Type.Boolean(),
  },
  { title: 'Session' },
);
/** A session as the store knows it; `current` is added per request. */
export type SessionInfo = Omit<Static<typeof SessionSchema>, 'current'>;

export const IdentitySchema = Type.Object(
  {
    id: Type.String(),
    provider: Type.String({ description: 'oidc:google, oidc:oidc, cf-access or proxy' }),
    providerName: Type.String({ description: 'Readable: Google, the OIDC provider’s name, Cloudflare Access …' }),
    email: Nullable(Type.String()),
    createdAt: Type.Integer(),
    lastUsedAt: Type.Integer(),
  },
  { title: 'LinkedIdentity' },
);

export const InviteSchema = Type.Object({
  id: Type.String(),
  note: Nullable(Type.String()),
  createdBy: Nullable(Type.String()),
  createdAt: Type.Integer(),
  expiresAt: Type.Integer(),
  usedAt: Nullable(Type.Integer()),
  usedBy: Nullable(Type.String()),
  state: Type.Union([Type.Literal('pending'), Type.Literal('used'), Type.Literal('expired'), Type.Literal('revoked')]),
});
export type InviteInfo = Static<typeof InviteSchema>;

export const CREDENTIAL_LABEL_MAX = 100;

/** An API key or app password as its owner sees it: never the secret, only its last characters. */
export const CredentialSchema = Type.Object(
  {
    id: Type.String(),
    label: Type.String(),
    hint: Type.String({ description: 'The last 4 characters of the secret' }),
    createdAt: Type.Integer({ description: 'Unix ms' }),
    lastUsedAt: Type.Union([Type.Integer(), Type.Null()], { description: 'Unix ms (updated at most once a minute)' }),
  },
  { $id: 'SubsonicCredential' },
);
export type CredentialInfo = Static<typeof CredentialSchema>;

const ThemeSchema = Type.Union([Type.Literal('system'), Type.Literal('light'), Type.Literal('dark')], {
  description: '`system` follows the device (prefers-color-scheme)',
});
/** The web app's preferences of a user (today: the colour theme). */
export const UiPreferencesSchema = Type.Object({ theme: ThemeSchema });
export type UiPreferences = Static<typeof UiPreferencesSchema>;
