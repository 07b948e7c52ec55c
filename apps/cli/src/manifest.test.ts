/**
 * The published manifest covers the bundle: dist/detkit.js inlines the private @detkit/trainer (it is only
 * a devDependency), and every package it still imports is one of this package's dependencies or peers
 * (else a user's `npm install @detkit/cli` would miss it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'dist', 'detkit.js');

/** The package name of a bare specifier: `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

describe.skipIf(!existsSync(BIN))('package.json and dist/detkit.js', () => {
  it('every package the bundle imports is a dependency or peer; @detkit/trainer is bundled, not imported', () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; peerDependencies: Record<string, string>; devDependencies: Record<string, string> };
    const code = readFileSync(BIN, 'utf8');
    const specifiers = [...code.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)import\s*["']([^"']+)["'];/g)].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
    const bare = [...new Set(specifiers.filter((s) => !s.startsWith('.') && !s.startsWith('node:')).map(packageOf))].filter((p) => !builtinModules.includes(p));
    expect(bare.length).toBeGreaterThan(5);
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
    expect(bare.filter((p) => !declared.has(p))).toEqual([]);
    expect(bare).not.toContain('@detkit/trainer');
    expect(manifest.devDependencies['@detkit/trainer']).toBeDefined();
    expect(code.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
