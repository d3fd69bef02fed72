/** SQL for invite links. Only each token's hash is stored. */
import type { Db } from '../db/database.js';

export interface NewInvite {
  id: string;
  tokenHash: string;
  note: string | null;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
}

export class InvitesRepository {
  constructor(private readonly db: Db) {}

  /** An unused, unrevoked, unexpired invite with this token hash. */
  findUsable(tokenHash: string, now: number) {
    return this.db
      .selectFrom('invites')
      .select(['id', 'expires_at'])
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  /** Marks the invite used if nobody did first (single use under concurrency). */
  async claim(id: string, now: number): Promise<boolean> {
    const claimed = await this.db
      .updateTable('invites')
      .set({ used_at: now })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(claimed.numUpdatedRows) > 0;
  }

  async setUsedBy(id: string, userId: string): Promise<void> {
    await this.db.updateTable('invites').set({ used_by: userId }).where('id', '=', id).execute();
  }

  /** Undoes {@link claim} when the account could not be created. */
  async release(id: string): Promise<void> {
    await this.db.updateTable('invites').set({ used_at: null }).where('id', '=', id).execute();
  }

  async insert(invite: NewInvite): Promise<void> {
    await this.db
      .insertInto('invites')
      .values({
        id: invite.id,
        token_hash: invite.tokenHash,
        note: invite.note,
        created_by: invite.createdBy,
        created_at: invite.createdAt,
        expires_at: invite.expiresAt,
        used_at: null,
        used_by: null,
        revoked_at: null,
      })
      .execute();
  }

  /** Every invite, newest first, with the names of its creator and of who used it. */
  listWithNames() {
    return this.db
      .selectFrom('invites')
      .leftJoin('users as creator', 'creator.id', 'invites.created_by')
      .leftJoin('users as invitee', 'invitee.id', 'invites.used_by')
      .select([
        'invites.id',
        'invites.note',
        'invites.created_at',
        'invites.expires_at',
        'invites.used_at',
        'invites.revoked_at',
        'creator.username as createdBy',
        'invitee.username as usedBy',
      ])
      .orderBy('invites.created_at', 'desc')
      .execute();
  }

  /** False when there is no such unrevoked invite. */
  async revoke(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('invites')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
