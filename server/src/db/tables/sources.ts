/** Tables added by the sources area's own migrations (keep in step with db/migrations/). */
// biome-ignore lint/suspicious/noEmptyInterface: filled in as the area adds tables
export interface SourcesTables {}
