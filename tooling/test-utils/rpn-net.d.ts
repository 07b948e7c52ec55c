// Types of rpn-net.js, for the tests that import it.
import type { tf } from '@detkit/core';

export interface RpnNet {
  params: tf.Variable[];
  forward(images: tf.Tensor4D): { objectness: tf.Tensor4D; deltas: tf.Tensor4D };
}
export interface RpnTargets {
  labels: tf.Tensor4D;
  targets: tf.Tensor4D;
}
export declare function createRpnNet(
  tfjs: typeof tf,
  options?: { inChannels?: number; widths?: number[]; midChannels?: number; numAnchors?: number; seed?: number },
): RpnNet;
export declare const RPN_SMOOTH_L1_BETA: number;
export declare function rpnLoss(tfjs: typeof tf, out: { objectness: tf.Tensor; deltas: tf.Tensor }, targets: RpnTargets): tf.Scalar;
export declare function rpnTargets(tfjs: typeof tf, shape: [number, number, number], numAnchors?: number, seed?: number): RpnTargets;
export declare function trainStep(tfjs: typeof tf, net: RpnNet, optimizer: tf.Optimizer, images: tf.Tensor4D, targets: RpnTargets): number;
