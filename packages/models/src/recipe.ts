import { InvalidArgumentError } from '@detkit/core';
import { FASTER_RCNN_RECIPE, type FasterRcnnConfig } from './faster-rcnn';
import { formatValue, listFields, type RecipeField } from './recipe-fields';
import { SSD_RECIPE, type SsdConfig } from './ssd';

export type { RecipeField } from './recipe-fields';

/**
 * Every field of a detector's resolved recipe (its training and inference constants), in the order of the
 * README's table: key path as in the options, value, default, torchvision's argument, description. Fields
 * that are unset (optional ones such as `defaultBoxes.minRatio`) have `value` undefined.
 */
export function recipeFields(config: SsdConfig | FasterRcnnConfig): RecipeField[] {
  if (config === null || typeof config !== 'object') throw new InvalidArgumentError('recipeFields', 'config', 'must be a detector configuration');
  if (config.kind === 'ssd') return listFields(SSD_RECIPE, config as unknown as Record<string, unknown>);
  if (config.kind === 'faster-rcnn') return listFields(FASTER_RCNN_RECIPE, config as unknown as Record<string, unknown>);
  throw new InvalidArgumentError('recipeFields', 'config.kind', `must be 'ssd' or 'faster-rcnn', got ${JSON.stringify((config as { kind?: unknown }).kind)}`);
}

/**
 * The resolved recipe of a detector as text, one field per line with torchvision's name beside it, for a
 * training script to print (e.g. `console.log(describeRecipe(detector.config))`):
 *
 * ```text
 * faster-rcnn recipe (4 classes, 128 x 128):
 *   anchors.sizes                  [16, 32, 64]    AnchorGenerator(sizes)
 *   rpn.matcher.highThreshold      0.7             rpn_fg_iou_thresh
 *   ...
 * ```
 */
export function describeRecipe(config: SsdConfig | FasterRcnnConfig): string {
  const rows = recipeFields(config).filter((f) => f.value !== undefined);
  const values = rows.map((f) => formatValue(f.value));
  const pathWidth = Math.max(...rows.map((f) => f.path.length));
  const valueWidth = Math.max(...values.map((v) => v.length));
  const lines = rows.map((f, i) => `  ${f.path.padEnd(pathWidth)}  ${values[i]!.padEnd(valueWidth)}  ${f.torchvision}`.trimEnd());
  return [`${config.kind} recipe (${config.numClasses} classes, ${config.imageSize[0]} x ${config.imageSize[1]}):`, ...lines].join('\n');
}
