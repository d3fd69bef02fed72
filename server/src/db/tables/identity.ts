/** Tables added by the identity migration (keep in step with db/migrations/0011_identities.ts). */

/** An external identity (OIDC/Google, Cloudflare Access, forward-auth proxy) linked to a user. */
export interface IdentitiesTable {
  id: string;
  user_id: string;
  provider: string;
  issuer: string;
  subject: string;
  email: string | null;
  created_at: number;
  last_used_at: number;
}

export interface IdentityTables {
  identities: IdentitiesTable;
}
