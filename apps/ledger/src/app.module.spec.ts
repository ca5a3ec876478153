import 'reflect-metadata';
import type { Type } from '@nestjs/common';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controllersOf, FEATURE_MODULES, LEDGER_CONTROLLERS } from './app.module.js';

const SOURCE = dirname(fileURLToPath(import.meta.url));

/** Source files of the app whose name ends with `suffix`, relative to src/. */
function filesEndingWith(suffix: string): string[] {
  return readdirSync(SOURCE, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith(suffix))
    .sort();
}

/** The classes a file exports that Nest knows as controllers (`@Controller`). */
async function controllersIn(file: string): Promise<Type[]> {
  const exported = Object.values((await import(join(SOURCE, file))) as Record<string, unknown>);
  return exported.filter(
    (value): value is Type => typeof value === 'function' && Reflect.getMetadata('path', value) !== undefined,
  );
}

describe('the app module layout (docs/architecture.md, "Modules")', () => {
  it('declares every controller of the app in exactly one feature module, the one of its feature folder', async () => {
    const moduleFolders = new Map<Type, string>();
    for (const file of filesEndingWith('.module.ts')) {
      const exported = Object.values((await import(join(SOURCE, file))) as Record<string, unknown>);
      for (const value of exported) {
        if (FEATURE_MODULES.includes(value as never)) moduleFolders.set(value as Type, dirname(file));
      }
    }
    expect([...moduleFolders.keys()].sort(byName)).toEqual([...FEATURE_MODULES].sort(byName));

    const misplaced: string[] = [];
    for (const file of filesEndingWith('.controller.ts')) {
      for (const controller of await controllersIn(file)) {
        const owners = FEATURE_MODULES.filter((module) => controllersOf(module).includes(controller));
        const folders = owners.map((module) => moduleFolders.get(module)!);
        const inItsFolder = folders.length === 1 && !relative(folders[0]!, dirname(file)).startsWith('..');
        if (!inItsFolder) misplaced.push(`${controller.name} (${file}) in ${owners.map((m) => m.name).join(', ')}`);
      }
    }
    expect(misplaced).toEqual([]);
  });

  it('lists every controller once in LEDGER_CONTROLLERS (the access matrix walks it)', async () => {
    const declared = (await Promise.all(filesEndingWith('.controller.ts').map(controllersIn))).flat();
    expect(declared.length).toBeGreaterThan(20);
    expect([...LEDGER_CONTROLLERS].sort(byName)).toEqual(declared.sort(byName));
  });
});

function byName(a: { name: string }, b: { name: string }): number {
  return a.name.localeCompare(b.name);
}
