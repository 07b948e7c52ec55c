import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { InvalidArgumentError } from '@detkit/core';
import { defaultConfig, readConfigFile, validateConfig, type ModelName, type TrainConfig } from './config';

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

/** Flags of `detkit-train` and the {@link TrainConfig} field each sets. */
function trainProgram(): Command {
  return new Command('detkit-train')
    .description('Train an SSD or Faster R-CNN detector with detkit; evaluates each epoch and writes checkpoints, metrics, plots and drawn detections.')
    .option('-c, --config <file>', 'JSON file with any configuration fields (flags override it)')
    .addOption(new Option('-m, --model <name>', 'detector').choices(['ssd', 'faster-rcnn']))
    .option('-d, --data <where>', "'synthetic' (built in), 'synthetic:hard', a COCO-layout folder or a VOC devkit folder")
    .option('--image-size <px>', 'model input side in pixels', integer)
    .option('-b, --batch-size <n>', 'images per step', integer)
    .option('-e, --epochs <n>', 'epochs', integer)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd']))
    .option('--lr <rate>', 'peak learning rate', number)
    .option('--momentum <m>', 'momentum of sgd', number)
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule after warmup').choices(['cosine', 'step', 'constant']))
    .option('--warmup-steps <n>', 'linear warmup steps', integer)
    .option('--milestones <epochs>', "epochs at which the 'step' schedule divides the rate by 10, e.g. 4,6", integerList)
    .option('--flip <p>', 'probability of a horizontal flip', number)
    .addOption(new Option('--backend <name>', 'where the math runs').choices(['wasm', 'cpu', 'gpu', 'auto']))
    .option('-s, --seed <n>', 'seed of initialisation, data order, augmentation and sampling', integer)
    .option('-o, --out <dir>', 'output folder')
    .option('-r, --resume', 'continue from the last checkpoint in the output folder')
    .option('--train-limit <n>', 'use only the first n training images (0: all)', integer)
    .option('--val-limit <n>', 'use only the first n validation images (0: all)', integer)
    .option('--draw <n>', 'validation images drawn with detections after each evaluation', integer)
    .option('--no-progress', 'no progress bar: one line per epoch');
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

/**
 * Parses `detkit-train`'s arguments (without `node` and the script) into a validated {@link TrainConfig}:
 * the model's defaults, then the config file, then the flags. Bad input throws `InvalidArgumentError`
 * from @detkit/core naming the flag or field; `--help` throws {@link HelpShown}.
 */
export async function parseTrainArgs(argv: readonly string[], io?: CliIo): Promise<TrainConfig> {
  const program = trainProgram().exitOverride();
  if (io) program.configureOutput({ writeOut: io.writeOut, writeErr: io.writeErr });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') throw new HelpShown();
      throw new InvalidArgumentError('detkit-train', 'arguments', e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  if (program.args.length > 0) throw new InvalidArgumentError('detkit-train', 'arguments', `unexpected argument(s) ${program.args.join(' ')}`);
  const flags = program.opts<Record<string, unknown>>();
  const file = typeof flags.config === 'string' ? await readConfigFile(path.resolve(process.env.INIT_CWD ?? process.cwd(), flags.config)) : {};
  const model = (flags.model ?? file.model ?? 'ssd') as ModelName;
  if (model !== 'ssd' && model !== 'faster-rcnn') throw new InvalidArgumentError('detkit-train', 'model', `must be 'ssd' or 'faster-rcnn', got ${JSON.stringify(model)}`);
  const fromFlags: Partial<TrainConfig> = {};
  for (const [key, value] of Object.entries(flags)) {
    if (key === 'config' || value === undefined) continue;
    if (key === 'progress' && value === true) continue; // commander's default for --no-progress
    (fromFlags as Record<string, unknown>)[key] = value;
  }
  return validateConfig({ ...defaultConfig(model), ...file, ...fromFlags, model });
}
