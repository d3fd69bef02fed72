/**
 * The library's read side for its HTTP face (portable Kysely): how many local tracks there are and
 * the files the scanner could not read. The scanner's own writes go through library.repository.ts.
 */
import type { Db } from '../db/database.js';

export class OverviewRepository {
  constructor(private readonly db: Db) {}

  async localTrackCount(): Promise<number> {
    const row = await this.db
      .selectFrom('tracks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('source_type', '=', 'local')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** One page of unreadable files, by path, and how many there are in all. */
  async scanErrors(page: { limit: number; offset: number }) {
    const [items, total] = await Promise.all([
      this.db
        .selectFrom('scan_errors')
        .selectAll()
        .orderBy('local_path')
        .limit(page.limit)
        .offset(page.offset)
        .execute(),
      this.db
        .selectFrom('scan_errors')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow(),
    ]);
    return { items, total: Number(total.n) };
  }
}
