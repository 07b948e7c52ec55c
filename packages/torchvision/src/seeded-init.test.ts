// Seeded initial weights: the same seed gives the same weights, every parameter included (tfjs reads a
// seed of 0 as "unseeded", which once made the first parameter of every model random in each process).
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '@detkit/core';
import { fasterrcnnMobilenetV3Large320Fpn } from './faster-rcnn';
import { ssdlite320MobilenetV3Large } from './ssdlite';

describe('initial weights', () => {
  beforeAll(() => setupBackend('cpu'));

  const builds = {
    ssdlite320MobilenetV3Large: (seed: number) => ssdlite320MobilenetV3Large({ numClasses: 3, widthMult: 0.25, seed }),
    fasterrcnnMobilenetV3Large320Fpn: (seed: number) => fasterrcnnMobilenetV3Large320Fpn({ numClasses: 3, widthMult: 0.25, fpnOutChannels: 16, representationSize: 16, seed }),
  };
  for (const [name, build] of Object.entries(builds)) {
    it(`${name}: the same seed gives the same weights, another seed other ones`, () => {
      const [a, b, c] = [build(0), build(0), build(1)];
      const va = a.parameters.trainableVariables();
      const vb = b.parameters.trainableVariables();
      const vc = c.parameters.trainableVariables();
      va.forEach((v, i) => expect(Array.from(vb[i]!.dataSync()), v.name).toEqual(Array.from(v.dataSync())));
      expect(Array.from(vc[0]!.dataSync())).not.toEqual(Array.from(va[0]!.dataSync()));
      [a, b, c].forEach((m) => m.dispose());
    });
  }
});
