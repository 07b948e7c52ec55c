/**
 * `detkit convert`: writes a standalone model folder (model.json, weights.bin, manifest.json: what
 * `detkit detect`, `detkit eval` and @detkit/models' `loadDetector` read) from another form of a model.
 *
 * Each form is read by one {@link SourceReader} into a detector and its class names; the output is written
 * the one way the trainer writes its `model/`. Forms read today: a trainer checkpoint
 * (`checkpoints/epoch-NNNN`), a run folder (its `model/`, else its newest intact checkpoint, or the one
 * `--epoch` names) and a model folder (rewritten in the current format version, with checksums). A form
 * detkit knows of but cannot read yet (`safetensors`: torchvision weights) is an
 * {@link UnsupportedConversionError}; reading it is one more reader in {@link READERS}.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { useBackend } from '@detkit/backends';
import { InvalidArgumentError } from '@detkit/core';
import { loadDetectorModel, type Detector, type DetectorConfig } from '@detkit/models';
import { registerTorchvisionDetectors } from '@detkit/torchvision';
import {
  unlessHelp,
  RUN_FILE,
  latestCheckpoint,
  listCheckpoints,
  nonNegativeInteger,
  parseCommand,
  readManifest,
  readModel,
  writeModelFolder,
} from '@detkit/trainer/commands';
import type { CommandRun } from './main';

/** The forms `--from` names: those read today, and those known but not readable by this version. */
export const CONVERT_FORMS = ['checkpoint', 'run', 'model', 'safetensors'] as const;
/** A form of `--from` (`'auto'`: found from the input). */
export type ConvertForm = (typeof CONVERT_FORMS)[number];

/**
 * `--from` names a form this version of @detkit/cli cannot read (today: `safetensors`), or the input is
 * such a file. Code `'INVALID_ARGUMENT'` (exit status 2). `supported` lists the forms it reads.
 */
export class UnsupportedConversionError extends InvalidArgumentError {
  /** The form asked for or found. */
  readonly from: string;
  /** The forms `detkit convert` reads. */
  readonly supported: readonly string[];

  constructor(from: string, why: string, supported: readonly string[]) {
    super('detkit convert', 'from', `${from}: ${why}; detkit convert reads ${supported.join(', ')}`);
    this.name = 'UnsupportedConversionError';
    this.from = from;
    this.supported = supported;
  }
}

/** Options of `detkit convert`. */
export interface ConvertConfig {
  input: string;
  out: string;
  from: ConvertForm | 'auto';
  /** A run folder's checkpoint of this epoch (instead of its `model/`). */
  epoch: number | null;
  /** Replace a folder already at `out`. */
  overwrite: boolean;
}

/** A model read from some form: the detector, its class names and where it came from. */
export interface ConvertSource {
  detector: Detector<DetectorConfig>;
  classes: readonly string[];
  categoryIds: readonly number[] | null;
  /** The run id, epoch and step the source records (from its manifest); a source without one gets `runId: ''`, 0, 0. */
  runId: string;
  epoch: number;
  step: number;
  /** What was read, for the output line. */
  description: string;
}

/** Reads one form of model into a {@link ConvertSource}. */
export type SourceReader = (input: string, config: ConvertConfig) => Promise<ConvertSource>;

const OP = 'detkit convert';

/** A verified model or checkpoint folder (model.json + weights, checked against its manifest when it has one). */
async function readFolder(dir: string, what: string): Promise<ConvertSource> {
  const manifest = await readManifest(dir);
  const { artifacts, classes, categoryIds } = await readModel(dir);
  registerTorchvisionDetectors(); // torchvision's kinds load through @detkit/models' registry
  const detector = await loadDetectorModel(artifacts);
  return { detector, classes, categoryIds, runId: manifest?.runId ?? '', epoch: manifest?.epoch ?? 0, step: manifest?.step ?? 0, description: `${what} ${dir}` };
}

const readCheckpointForm: SourceReader = async (input) => {
  const manifest = await readManifest(input);
  if (manifest?.format !== 'detkit-checkpoint') throw new InvalidArgumentError(OP, 'input', `${input} is not a trainer checkpoint (no manifest.json of format 'detkit-checkpoint')`);
  return readFolder(input, 'checkpoint');
};

const readRunForm: SourceReader = async (input, config) => {
  if (config.epoch !== null) {
    const entry = (await listCheckpoints(input)).find((c) => c.manifest?.epoch === config.epoch);
    if (entry === undefined) throw new InvalidArgumentError(OP, 'epoch', `run ${input} has no checkpoint of epoch ${config.epoch} (it keeps the newest three)`);
    return readFolder(entry.dir, `checkpoint of epoch ${config.epoch} of run`);
  }
  if (existsSync(path.join(input, 'model', 'model.json'))) return readFolder(path.join(input, 'model'), 'final model');
  const last = await latestCheckpoint(input);
  if (last === null) throw new InvalidArgumentError(OP, 'input', `run ${input} has neither a model/ folder nor an intact checkpoint`);
  return readFolder(last, 'newest checkpoint');
};

const readModelForm: SourceReader = async (input) => {
  const dir = input.endsWith('.json') ? path.dirname(input) : input;
  if (!existsSync(path.join(dir, 'model.json'))) throw new InvalidArgumentError(OP, 'input', `${dir} has no model.json`);
  return readFolder(dir, 'model');
};

/** The reader of each form; `null`: known, not readable by this version (the reason is the value of {@link UNSUPPORTED}). */
export const READERS: Readonly<Record<ConvertForm, SourceReader | null>> = {
  checkpoint: readCheckpointForm,
  run: readRunForm,
  model: readModelForm,
  safetensors: null,
};

const UNSUPPORTED: Partial<Record<ConvertForm, string>> = {
  safetensors: 'torchvision weights in safetensors files cannot be converted by this version of @detkit/cli',
};

/** The forms {@link READERS} reads. */
export function supportedForms(): ConvertForm[] {
  return CONVERT_FORMS.filter((f) => READERS[f] !== null);
}

/** The form of `input` when `--from` is `auto`. */
export function detectForm(input: string): ConvertForm {
  if (!existsSync(input)) throw new InvalidArgumentError(OP, 'input', `${input} does not exist`);
  if (statSync(input).isFile()) {
    if (input.endsWith('.safetensors')) return 'safetensors';
    if (path.basename(input) === 'model.json') return 'model';
    throw new InvalidArgumentError(OP, 'input', `${input} is a file detkit convert does not know (a model.json, or a folder: a checkpoint, a run, a model)`);
  }
  if (existsSync(path.join(input, 'state.json')) && existsSync(path.join(input, 'model.json'))) return 'checkpoint';
  if (existsSync(path.join(input, 'model.json'))) return 'model';
  if (existsSync(path.join(input, RUN_FILE)) || existsSync(path.join(input, 'checkpoints')) || existsSync(path.join(input, 'model'))) return 'run';
  if (readdirSync(input).some((f) => f.endsWith('.safetensors'))) return 'safetensors';
  throw new InvalidArgumentError(OP, 'input', `${input} holds no model detkit convert knows (model.json, a checkpoint, a run folder)`);
}

/** Parses `detkit convert`'s arguments; bad input throws `InvalidArgumentError`, `--help` throws `HelpShown`. */
export function parseConvertArgs(argv: readonly string[], options: Parameters<CommandRun>[1]): ConvertConfig {
  const name = options.name;
  const program = new Command(name)
    .description('Write a standalone model folder (model.json, weights.bin, manifest.json) from a trainer checkpoint, a run folder or a model folder.')
    .argument('<input>', 'a checkpoint (run/checkpoints/epoch-NNNN), a run folder, or a model folder / model.json')
    .requiredOption('-o, --out <dir>', 'the model folder to write (required)')
    .option('--from <form>', `what the input is: ${CONVERT_FORMS.join(', ')} or auto (default: auto)`)
    .option('--epoch <n>', "a run folder's checkpoint of this epoch instead of its final model (default: the final model, else the newest checkpoint)", nonNegativeInteger)
    .option('--overwrite', 'replace a folder already at --out (default: off)')
    .addHelpText(
      'after',
      `
Examples:
  $ ${name} runs/latest -o shapes-model                           # the run's final model (or newest checkpoint)
  $ ${name} runs/latest --epoch 2 -o shapes-epoch2                # the checkpoint of epoch 2
  $ ${name} runs/latest/checkpoints/epoch-0003 -o shapes-model`,
    )
;
  parseCommand(program, argv, options.io);
  const o = program.opts<{ out: string; from?: string; epoch?: number; overwrite?: boolean }>();
  const from = o.from ?? 'auto';
  if (from !== 'auto' && !(CONVERT_FORMS as readonly string[]).includes(from)) {
    throw new InvalidArgumentError(name, 'from', `must be ${CONVERT_FORMS.join(', ')} or auto, got '${from}'`);
  }
  return {
    input: path.resolve(options.cwd, program.args[0] as string),
    out: path.resolve(options.cwd, o.out),
    from: from as ConvertForm | 'auto',
    epoch: o.epoch ?? null,
    overwrite: o.overwrite === true,
  };
}

/**
 * Converts `config.input` into a model folder at `config.out`; returns the line to print. The written
 * folder is read back (its manifest verified) before this returns.
 */
export async function runConvert(config: ConvertConfig): Promise<string> {
  const form = config.from === 'auto' ? detectForm(config.input) : config.from;
  const reader = READERS[form];
  if (reader === null) throw new UnsupportedConversionError(form, UNSUPPORTED[form] ?? 'not supported', supportedForms());
  if (config.epoch !== null && form !== 'run') throw new InvalidArgumentError(OP, 'epoch', `is for a run folder; ${config.input} is a ${form}`);
  if (path.resolve(config.out) === path.resolve(config.input)) throw new InvalidArgumentError(OP, 'out', 'must differ from the input');
  if (existsSync(config.out)) {
    if (!statSync(config.out).isDirectory()) throw new InvalidArgumentError(OP, 'out', `${config.out} is a file, not a folder`);
    if (readdirSync(config.out).length > 0 && !config.overwrite) throw new InvalidArgumentError(OP, 'out', `${config.out} is not empty; pass --overwrite to replace it`);
  }
  await useBackend('cpu');
  const source = await reader(config.input, config);
  try {
    await writeModelFolder(config.out, source.detector, { classes: source.classes, categoryIds: source.categoryIds, runId: source.runId, epoch: source.epoch, step: source.step });
  } finally {
    source.detector.dispose();
  }
  await readModel(config.out);
  return `wrote ${config.out}: ${source.detector.config.kind}, ${source.classes.length} classes (${source.classes.join(', ')}), from the ${source.description}`;
}

/** The `convert` command of `detkit`. */
export const convert: CommandRun = async (argv, options) => {
  const config = await unlessHelp(() => parseConvertArgs(argv, options));
  if (config === null) return;
  options.io.writeOut(`${await runConvert(config)}\n`);
};
