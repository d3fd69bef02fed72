/** Streaming-specific domain errors (mapped by http/error-handler.ts like every DomainError). */
import { DomainError } from '../shared/errors.js';

/** The stored media cannot be decoded or processed (corrupt audio, an image over the pixel limit). */
export class UnplayableMedia extends DomainError {
  readonly status = 422;
  readonly code = 'unprocessable_media';
}
