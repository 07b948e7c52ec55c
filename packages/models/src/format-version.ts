import { InvalidArgumentError } from '@detkit/core';

/**
 * The version of the saved-detector format (`modelTopology = { format: 'detkit-detector', version, config }`,
 * see the README's "Saved model format") that this package writes and reads. Files saved before the field
 * existed have no `version` and are read as version 1, the format they were written in.
 */
export const DETECTOR_FORMAT_VERSION = 1;

/**
 * A saved detector in a format version this package cannot read: written by a newer `@detkit/models`, or a
 * `version` that is not a positive integer. `code` is `'INVALID_ARGUMENT'` (a subclass of
 * `InvalidArgumentError`); `version` is what the file says, `supportedVersion` what this package reads.
 */
export class UnsupportedFormatVersionError extends InvalidArgumentError {
  /** The `version` found in the file's `modelTopology`. */
  readonly version: unknown;
  /** The newest version this package reads ({@link DETECTOR_FORMAT_VERSION}). */
  readonly supportedVersion: number;

  constructor(op: string, version: unknown) {
    const newer = typeof version === 'number' && Number.isInteger(version) && version > DETECTOR_FORMAT_VERSION;
    super(
      op,
      'source',
      newer
        ? `is a detkit-detector of format version ${version}; this @detkit/models reads version ${DETECTOR_FORMAT_VERSION} (and files without a version): upgrade @detkit/models to load it`
        : `has an unknown detkit-detector format version ${JSON.stringify(version)}; this @detkit/models reads version ${DETECTOR_FORMAT_VERSION} (and files without a version)`,
    );
    this.name = 'UnsupportedFormatVersionError';
    this.version = version;
    this.supportedVersion = DETECTOR_FORMAT_VERSION;
  }
}

/**
 * The format version of a saved detector's topology: its `version`, or 1 when it has none (files written
 * before the field existed). Throws {@link UnsupportedFormatVersionError} for anything else than 1.
 */
export function detectorFormatVersion(op: string, topology: { version?: unknown }): number {
  const version = topology.version ?? 1;
  if (version !== DETECTOR_FORMAT_VERSION) throw new UnsupportedFormatVersionError(op, version);
  return version;
}
