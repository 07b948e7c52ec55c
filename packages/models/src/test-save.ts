// Test helper (not exported from the package): a detector saved into memory, as saveDetector writes it.
import { tf } from '@detkit/core';
import type { Detector } from './detector';
import { saveDetector, type DetectorConfig } from './detector-weights';

/** The model artifacts `saveDetector` gives its IO handler for `detector` (topology, weight specs and data). */
export async function savedArtifacts(detector: Detector<DetectorConfig>): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await saveDetector(
    detector,
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return saved!;
}
