import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { InvalidArgumentError } from '@detkit/core';
import { BACKENDS, defaultConfig, MODELS, parseDuration, readConfigFile, SSD_DATA_BATCH_SIZE, SSD_DATA_LR, SSD_SYNTHETIC_BATCH_SIZE, SSD_SYNTHETIC_LR, validateConfig, type ModelName, type TrainConfig } from './config';
import { DEFAULT_VAL_SPLIT } from './dataset';

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CommanderArgumentError(`'${value}' is not an integer.`);
  return n;
}

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CommanderArgumentError(`'${value}' is not a number.`);
  return n;
}

function integerList(value: string): number[] {
  return value.split(',').filter((s) => s.trim() !== '').map(integer);
}

function duration(value: string): number {
  try {
    return parseDuration(value);
  } catch (e) {
    throw new CommanderArgumentError((e as Error).message);
  }
}

function autoOr<T>(parse: (v: string) => T): (value: string) => T | 'auto' {
  return (value) => (value === 'auto' ? 'auto' : parse(value));
}

function switchAt(value: string): { epoch: number; backend: string } {
  const m = /^(\d+):([a-z]+)$/.exec(value.trim());
  if (!m) throw new CommanderArgumentError(`'${value}' is not EPOCH:BACKEND, e.g. 2:webgpu.`);
  return { epoch: Number(m[1]), backend: m[2] as string };
}

function nameList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The defaults of the two models, as `--help` states them (from {@link defaultConfig}, so the text cannot drift). */
function bothModels(pick: (c: TrainConfig) => unknown, unit = ''): string {
  const ssd = pick(defaultConfig('ssd'));
  const frcnn = pick(defaultConfig('faster-rcnn'));
  return ssd === frcnn ? `${String(ssd)}${unit}` : `${String(ssd)}${unit} SSD / ${String(frcnn)}${unit} Faster R-CNN`;
}

/**
 * Flags of the training command and the {@link TrainConfig} field each sets; every flag's help states its
 * default. `name` is the program name in the usage line and the examples (`detkit-train`, `detkit train`).
 */
function trainProgram(name: string): Command {
  const d = defaultConfig('ssd');
  return new Command(name)
    .description('Train an SSD or Faster R-CNN detector with detkit; evaluates each epoch (COCO AP and VOC mAP) and writes checkpoints, metrics, plots and drawn detections.')
    .option('-c, --config <file>', 'JSON file with any configuration fields; flags override it (default: none)')
    .addOption(new Option('-m, --model <name>', `detector: detkit's ssd or faster-rcnn, or torchvision's ssdlite320-mobilenet-v3-large, fasterrcnn-mobilenet-v3-large-320-fpn, fasterrcnn-mobilenet-v3-large-fpn or fasterrcnn-resnet50-fpn (default: ${d.model})`).choices([...MODELS]))
    .option('--weights <file>', "torchvision's models: torchvision weights to fine-tune from, a safetensors state dict (default: none: random)")
    .option('--trainable-backbone-layers <n>', "torchvision's models: backbone stages trained, counting from the last, as torchvision's trainable_backbone_layers: 0-6 for MobileNetV3, 0-5 for ResNet-50 (default: all)", integer)
    .option('-d, --data <where>', `'synthetic' (built in), 'synthetic:hard', a COCO folder or a VOC devkit folder (default: ${d.data})`)
    .option('--train-annotations <file>', 'COCO instances file of the training split, instead of --data (default: none)')
    .option('--train-images <dir>', 'folder of the training images (default: found beside the annotations)')
    .option('--val-annotations <file>', "COCO instances file of the validation split (default: none: --data's validation split, else a held-out one)")
    .option('--val-images <dir>', 'folder of the validation images (default: found beside the annotations)')
    .option('--classes <names>', 'VOC class names in label order, e.g. cat,dog (default: the names found in the data)', nameList)
    .option('--val-split <fraction>', `hold out this fraction of the training images when the data has no validation split (default: ${DEFAULT_VAL_SPLIT} then)`, number)
    .addOption(new Option('--on-invalid <what>', `a bad image or record: 'throw' stops naming it, 'skip' leaves it out and reports it (default: ${d.onInvalid})`).choices(['throw', 'skip']))
    .option('--image-size <px>', "model input side in pixels, or 'auto' (default: auto: 128 on the synthetic set, from the images otherwise)", autoOr(integer))
    .option('-b, --batch-size <n>', `images per step, or 'auto' (default: auto: SSD ${SSD_SYNTHETIC_BATCH_SIZE} on the synthetic set, ${SSD_DATA_BATCH_SIZE} on your data; ${defaultConfig('faster-rcnn').batchSize} Faster R-CNN)`, autoOr(integer))
    .option('-e, --epochs <n>', "epochs, or 'auto' (default: auto: 6 SSD / 4 Faster R-CNN on the synthetic set, no limit with a time budget)", autoOr(integer))
    .option('-t, --time <duration>', "training-time budget, e.g. 10m, 90s, 1h; the learning-rate schedule is fitted to it (default: auto: 10m SSD / 15m Faster R-CNN on your data, none on the synthetic set)", autoOr(duration))
    .option('--max-steps <n>', `stop after this many steps (default: ${d.maxSteps}: no limit)`, integer)
    .addOption(new Option('--optimizer <name>', `optimizer (default: ${d.optimizer})`).choices(['adam', 'sgd']))
    .option('--lr <rate>', `peak learning rate, or 'auto' (default: auto: SSD ${SSD_SYNTHETIC_LR} on the synthetic set, ${SSD_DATA_LR} on your data; ${defaultConfig('faster-rcnn').lr} Faster R-CNN)`, autoOr(number))
    .option('--momentum <m>', `momentum of sgd (default: ${d.momentum})`, number)
    .option('--weight-decay <w>', `decoupled weight decay (default: ${d.weightDecay})`, number)
    .addOption(new Option('--schedule <kind>', `learning-rate schedule after warmup (default: ${d.schedule})`).choices(['cosine', 'step', 'constant']))
    .option('--warmup-steps <n>', `linear warmup steps (default: ${bothModels((c) => c.warmupSteps)})`, integer)
    .option('--milestones <epochs>', "epochs at which the 'step' schedule divides the rate by 10, e.g. 4,6 (default: none)", integerList)
    .option('--flip <p>', `probability of a horizontal flip (default: ${d.flip})`, number)
    .addOption(new Option('--augment <recipe>', `training augmentation: ssd (photometric, zoom-out, IoU crop, flip), ssdlite (IoU crop, flip), flip, none; auto: ssd for SSD on your data over 30+ minutes or 30+ epochs, flip otherwise (default: ${d.augment})`).choices(['auto', 'ssd', 'ssdlite', 'flip', 'none']))
    .addOption(new Option('--backend <name>', `where the math runs (default: ${d.backend})`).choices([...BACKENDS]))
    .option('--switch-backend-at <epoch:backend>', 'switch backend at the start of that epoch, keeping weights, optimizer state and RNG, e.g. 2:webgpu (default: none)', switchAt)
    .option('--threads <n>', `threads of the wasm backend's math, or 'auto': every core (default: ${String(d.threads)})`, autoOr(integer))
    .option('--workers <n>', `threads that make or decode, augment and resize images beside the training step (0: in the training thread), or 'auto': 1 (default: ${String(d.workers)})`, autoOr(integer))
    .option('-s, --seed <n>', `seed of initialisation, data order, augmentation and sampling (default: ${d.seed})`, integer)
    .option('-o, --out <dir>', `output folder (default: ${d.out})`)
    .option('-r, --resume', 'continue the run in the output folder from its newest intact checkpoint (default: off)')
    .option('--overwrite', "clear another run's outputs from the output folder first; without it, such a folder is an error (default: off)")
    .option('--train-limit <n>', `use only the first n training images (default: ${d.trainLimit}: all)`, integer)
    .option('--val-limit <n>', `use only the first n validation images (default: ${d.valLimit}: all)`, integer)
    .option('--draw <n>', `validation images drawn with detections after each evaluation (default: ${d.draw})`, integer)
    .option('--no-progress', 'no progress bar: one line per epoch (default: a progress bar on a terminal)')
    .addHelpText(
      'after',
      `
Examples:
  $ ${name}                                         # SSD on the built-in synthetic set
  $ ${name} --data ~/data/coco-shapes --time 10m    # your COCO folder, the best model in ten minutes
  $ ${name} --model faster-rcnn --data VOCdevkit/VOC2007 -o runs/voc
  $ ${name} --model ssdlite320-mobilenet-v3-large --weights ssdlite_coco.safetensors --data ~/data/coco-shapes
  $ ${name} --model fasterrcnn-mobilenet-v3-large-320-fpn --weights fr320_coco.safetensors -c frozen-bn.json --data ~/data/coco-shapes
  $ ${name} --train-annotations ann.json --train-images imgs/ --val-split 0.1`,
    );
}

/** What the program does with its output streams (tests capture them). */
export interface CliIo {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

/** `--help` or `--version` was asked for: the text is already written, nothing to run. */
export class HelpShown extends Error {
  constructor() {
    super('help shown');
    this.name = 'HelpShown';
  }
}

/** Runs a command's argument parser; `null` when it showed help or the version ({@link HelpShown}) instead. */
export async function unlessHelp<T>(parse: () => T | Promise<T>): Promise<T | null> {
  try {
    return await parse();
  } catch (e) {
    if (e instanceof HelpShown) return null;
    throw e;
  }
}

/** Options of {@link parseTrainArgs}. */
export interface ParseTrainOptions {
  /** The program name in the usage line, the examples and argument errors. Default `'detkit-train'`. */
  name?: string;
  /** Folder a relative `--config` path is resolved against. Default: INIT_CWD (the folder `pnpm train` ran in), else the current folder. */
  cwd?: string;
}

/**
 * Parses `argv` (without `node` and the script) with a commander `program`, named as the user types it
 * (`detkit-train`, `detkit eval`). Commander's own error line is not written: an argument error is thrown
 * as an `InvalidArgumentError` naming the program, with a `--help` hint, for the entry point to print once;
 * `--help` (and `--version`) throw {@link HelpShown} after the text is written to `io` (default stdout).
 */
export function parseCommand(program: Command, argv: readonly string[], io?: CliIo): Command {
  program.exitOverride().configureOutput({ outputError: () => {} });
  if (io) program.configureOutput({ writeOut: io.writeOut, writeErr: io.writeErr });
  try {
    return program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') throw new HelpShown();
      throw new InvalidArgumentError(program.name(), 'arguments', `${e.message.replace(/^error: /, '')} (see ${program.name()} --help)`);
    }
    throw e;
  }
}

/** A commander argument parser for integers >= 0. */
export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CommanderArgumentError(`'${value}' is not an integer >= 0.`);
  return n;
}

/**
 * Parses `detkit-train`'s arguments (without `node` and the script) into a validated {@link TrainConfig}:
 * the model's defaults, then the config file, then the flags. Bad input throws `InvalidArgumentError`
 * from @detkit/core naming the flag or field; `--help` throws {@link HelpShown}.
 */
export async function parseTrainArgs(argv: readonly string[], io?: CliIo, options: ParseTrainOptions = {}): Promise<TrainConfig> {
  const name = options.name ?? 'detkit-train';
  const program = parseCommand(trainProgram(name), argv, io);
  if (program.args.length > 0) throw new InvalidArgumentError(name, 'arguments', `unexpected argument(s) ${program.args.join(' ')}`);
  const flags = program.opts<Record<string, unknown>>();
  const file = typeof flags.config === 'string' ? await readConfigFile(path.resolve(options.cwd ?? process.env.INIT_CWD ?? process.cwd(), flags.config)) : {};
  const model = (flags.model ?? file.model ?? 'ssd') as ModelName;
  if (!(MODELS as readonly string[]).includes(model)) throw new InvalidArgumentError(name, 'model', `must be one of ${MODELS.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(model)}`);
  const fromFlags: Partial<TrainConfig> = {};
  for (const [key, value] of Object.entries(flags)) {
    if (key === 'config' || value === undefined) continue;
    if (key === 'progress' && value === true) continue; // commander's default for --no-progress
    (fromFlags as Record<string, unknown>)[key] = value;
  }
  return validateConfig({ ...defaultConfig(model), ...file, ...fromFlags, model });
}
