// W8's network: a small conv backbone (stride 16, one depthwise-separable block) with a Faster R-CNN RPN
// head (3x3 conv + ReLU, sibling 1x1 convs for objectness and 4 deltas per anchor), its loss against
// fixed targets, and one SGD-momentum training step. Plain JS over any tfjs namespace, NHWC. Used by
// @detkit/backends' tests (small widths) and by @detkit/bench's W8 (apps/bench/rpn-step.mjs and the harness,
// at 320x320); apps/bench/rpn-net.py builds the same architecture in torch. It lives here, on the bottom floor,
// because a package's tests may not import from the top-floor bench.

/**
 * @param {typeof import('@tensorflow/tfjs-core')} tf
 * @param {{ inChannels?: number, widths?: number[], midChannels?: number, numAnchors?: number, seed?: number }} [options]
 */
export function createRpnNet(tf, options = {}) {
  const { inChannels = 3, widths = [32, 64, 128, 256], midChannels = 512, numAnchors = 9, seed = 1 } = options;
  let s = seed;
  // tf.tidy frees each initial value; the variable keeps its data.
  const variable = (make) => tf.tidy(() => tf.variable(make()));
  const normal = (shape, std) => variable(() => tf.randomNormal(shape, 0, std, 'float32', s++));
  const conv = (kh, kw, cin, cout) => normal([kh, kw, cin, cout], Math.sqrt(2 / (kh * kw * cin)));
  const bias = (n) => variable(() => tf.zeros([n]));
  const [w0, w1, w2, w3] = widths;
  const p = {
    c1: conv(3, 3, inChannels, w0), b1: bias(w0),
    c2: conv(3, 3, w0, w1), b2: bias(w1),
    dw3: normal([3, 3, w1, 1], Math.sqrt(2 / 9)), pw3: conv(1, 1, w1, w2), b3: bias(w2),
    c4: conv(3, 3, w2, w3), b4: bias(w3),
    rpn: normal([3, 3, w3, midChannels], 0.01), rpnB: bias(midChannels),
    cls: normal([1, 1, midChannels, numAnchors], 0.01), clsB: bias(numAnchors),
    box: normal([1, 1, midChannels, 4 * numAnchors], 0.01), boxB: bias(4 * numAnchors),
  };
  const convRelu = (x, f, b, stride) => tf.relu(tf.add(tf.conv2d(x, f, stride, 'same'), b));
  return {
    params: Object.values(p),
    /** images [B, H, W, C] -> { objectness [B, H/16, W/16, A], deltas [B, H/16, W/16, 4A] } */
    forward(images) {
      let x = convRelu(images, p.c1, p.b1, 2);
      x = convRelu(x, p.c2, p.b2, 2);
      x = tf.relu(tf.add(tf.conv2d(tf.depthwiseConv2d(x, p.dw3, 2, 'same'), p.pw3, 1, 'same'), p.b3));
      x = convRelu(x, p.c4, p.b4, 2);
      const h = convRelu(x, p.rpn, p.rpnB, 1);
      return { objectness: tf.add(tf.conv2d(h, p.cls, 1, 'same'), p.clsB), deltas: tf.add(tf.conv2d(h, p.box, 1, 'same'), p.boxB) };
    },
  };
}

/** Smooth L1's beta in torchvision's RPN loss. */
export const RPN_SMOOTH_L1_BETA = 1 / 9;

/**
 * Objectness binary cross-entropy (mean over anchors) plus smooth L1 (beta 1/9) over positive anchors,
 * divided by the number of anchors, as torchvision's RPN loss normalises by the sampled anchors.
 */
export function rpnLoss(tf, { objectness, deltas }, { labels, targets }) {
  return tf.tidy(() => {
    const x = objectness;
    const bce = tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, labels)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
    const d = tf.abs(tf.sub(deltas, targets));
    // 0.5 d^2 / beta below beta, d - beta / 2 above, written with a minimum (differentiable in tfjs).
    const m = tf.minimum(d, RPN_SMOOTH_L1_BETA);
    const sl1 = tf.add(tf.div(tf.mul(0.5, tf.square(m)), RPN_SMOOTH_L1_BETA), tf.sub(d, m));
    const positive = tf.reshape(tf.tile(tf.expandDims(labels, -1), [1, 1, 1, 1, 4]), deltas.shape);
    return tf.add(bce, tf.div(tf.sum(tf.mul(sl1, positive)), labels.size));
  });
}

/** Fixed random targets for a feature map [B, H, W] with A anchors: 10% positives, deltas ~ U(-0.5, 0.5). */
export function rpnTargets(tf, [b, h, w], numAnchors = 9, seed = 7) {
  return tf.tidy(() => ({
    labels: tf.cast(tf.less(tf.randomUniform([b, h, w, numAnchors], 0, 1, 'float32', seed), 0.1), 'float32'),
    targets: tf.randomUniform([b, h, w, 4 * numAnchors], -0.5, 0.5, 'float32', seed + 1),
  }));
}

/** One training step: forward, loss, gradients, optimizer update. Returns the loss (a number). */
export function trainStep(tf, net, optimizer, images, targets) {
  const loss = optimizer.minimize(() => rpnLoss(tf, net.forward(images), targets), true, net.params);
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}
