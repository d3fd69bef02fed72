/** TypeBox schema of `GET /system/storage`, and the report type the storage service builds from it. */
import { type Static, Type } from '@sinclair/typebox';

const VolumeUsageSchema = Type.Object({
  totalBytes: Type.Integer(),
  usedBytes: Type.Integer(),
  availableBytes: Type.Integer({ description: 'free space this server may still write' }),
});
export type VolumeUsage = Static<typeof VolumeUsageSchema>;

const Volume = {
  ...VolumeUsageSchema.properties,
  path: Type.Optional(Type.String({ description: 'admins only' })),
};

export const StorageReportSchema = Type.Object(
  {
    library: Type.Object(Volume),
    cache: Type.Object({ ...Volume, sizeBytes: Type.Integer(), approximate: Type.Boolean() }),
    database: Type.Object({ ...Volume, sizeBytes: Type.Integer({ description: 'database file + WAL' }) }),
    tracks: Type.Object({ local: Type.Integer(), remote: Type.Integer(), cached: Type.Integer() }),
    measuredAt: Type.Integer(),
  },
  { title: 'StorageReport' },
);
export type StorageReport = Static<typeof StorageReportSchema>;
