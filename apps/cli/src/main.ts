/**
 * `detkit <command> [arguments]`: dispatches to the commands. `train` and `detect` are the reference
 * trainer's (`@detkit/trainer`, bundled into this package at build time); `eval` and `convert` are this
 * package's.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@detkit/core';
import { detect, train, type CliIo } from '@detkit/trainer/commands';
import { convert } from './convert';
import { evaluate } from './eval';

/** Options of {@link main} and of each command. */
export interface MainOptions {
  /** Folder relative paths are resolved against; default the current folder. */
  cwd?: string;
  /** Where help text and results go (tests capture them); default the process's streams. */
  io?: CliIo;
}

/** A command of `detkit`: its arguments (after the command's name) and the options of {@link main}. */
export type CommandRun = (argv: readonly string[], options: Required<MainOptions> & { name: string }) => Promise<void>;

/** The commands, in the order `detkit --help` lists them, with their one-line summaries. */
export const COMMANDS: readonly { name: string; summary: string; run: CommandRun }[] = [
  { name: 'train', summary: 'train an SSD or Faster R-CNN detector on the built-in synthetic set, a COCO folder or a VOC devkit folder', run: (argv, o) => train(argv, o) },
  { name: 'detect', summary: 'run a trained model on PNG / JPEG files: detections.json and drawn PNGs', run: (argv, o) => detect(argv, o) },
  { name: 'eval', summary: 'score a detections file or a model against a COCO or VOC split (COCO AP table, VOC mAP@0.5)', run: evaluate },
  { name: 'convert', summary: 'write a standalone model folder from a checkpoint, a run folder or a model folder', run: convert },
];

/** This package's version (from its package.json, one folder above dist/ and src/). */
export function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: detkit <command> [options]

Object detection on TensorFlow.js: train SSD and Faster R-CNN detectors, run them, score them.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     show this help ('detkit <command> --help' shows a command's options and defaults)
  -V, --version  show the version

Examples:
  $ detkit train --out runs/shapes                        # SSD on the built-in synthetic set
  $ detkit detect -m runs/shapes -o found photo.png       # boxes as JSON and a drawn PNG
  $ detkit eval runs/shapes --data synthetic --limit 100  # COCO and VOC tables of the model
  $ detkit convert runs/shapes/checkpoints/epoch-0002 -o shapes-model
`;
}

/**
 * Runs `detkit` with `argv` (the arguments after the executable). Throws what the command throws; the
 * executable prints it once with the trainer's `runMain` (exit status 2 for bad arguments, 1 for other
 * errors).
 */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<void> {
  const io = options.io ?? { writeOut: (t) => process.stdout.write(t), writeErr: (t) => process.stderr.write(t) };
  const cwd = options.cwd ?? process.cwd();
  const [first, ...rest] = argv;
  if (first === '-h' || first === '--help') return void io.writeOut(help());
  if (first === '-V' || first === '--version') return void io.writeOut(`${version()}\n`);
  if (first === 'help' && rest[0] === undefined) return void io.writeOut(help());
  const name = first === 'help' ? rest[0] : first;
  const command = COMMANDS.find((c) => c.name === name);
  const names = COMMANDS.map((c) => c.name).join(', ');
  if (name === undefined) throw new InvalidArgumentError('detkit', 'command', `is missing: one of ${names} (see detkit --help)`);
  if (command === undefined) throw new InvalidArgumentError('detkit', 'command', `'${name}' is not a command: one of ${names} (see detkit --help)`);
  await command.run(first === 'help' ? ['--help'] : rest, { cwd, io, name: `detkit ${command.name}` });
}
