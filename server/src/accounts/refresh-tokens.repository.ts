/** SQL for API refresh tokens (one family per API session; only each token's hash is stored). */
import type { Db } from '../db/database.js';

export class RefreshTokensRepository {
  constructor(private readonly db: Db) {}

  findByHash(tokenHash: string) {
    return this.db
      .selectFrom('refresh_tokens')
      .select(['id', 'session_id', 'expires_at', 'rotated_at'])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  /** Marks the token rotated if nobody did first: of two concurrent refreshes only one wins. */
  async claim(id: string, now: number): Promise<boolean> {
    const claimed = await this.db
      .updateTable('refresh_tokens')
      .set({ rotated_at: now })
      .where('id', '=', id)
      .where('rotated_at', 'is', null)
      .executeTakeFirst();
    return Number(claimed.numUpdatedRows) > 0;
  }

  async insert(token: { id: string; sessionId: string; tokenHash: string; createdAt: number; expiresAt: number }) {
    await this.db
      .insertInto('refresh_tokens')
      .values({
        id: token.id,
        session_id: token.sessionId,
        token_hash: token.tokenHash,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
        rotated_at: null,
      })
      .execute();
  }
}
