/**
 * The caller's `liked` flags on catalog items. Catalog responses carry them, but the likes
 * themselves belong to the listening area (`user_activity`); the listening area implements this
 * port and the composition root hands it to the catalog, so catalog never imports listening.
 */
export type LikeableType = 'track' | 'album' | 'artist';

export interface LikedFlags {
  /** Which of `ids` the user likes, in one query per chunk; an empty set for nobody or no ids. */
  likedIds(userId: string | null | undefined, type: LikeableType, ids: string[]): Promise<Set<string>>;
}
