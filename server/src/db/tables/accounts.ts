/** Tables added by the accounts area's own migrations (keep in step with db/migrations/0002_accounts.ts). */

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
}

export interface InvitesTable {
  id: string;
  token_hash: string;
  note: string | null;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
  revoked_at: number | null;
}

export interface AccountsTables {
  refresh_tokens: RefreshTokensTable;
  invites: InvitesTable;
}
