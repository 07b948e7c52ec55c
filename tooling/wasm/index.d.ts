/** Compiles `<packageDir>/assembly/index.ts`; returns the wasm bytes after checking the module's shape. */
export declare function compileAssembly(packageDir: string): Promise<Uint8Array>;
/** The TypeScript module that carries the bytes, as committed under src/generated/. */
export declare function renderModule(bytes: Uint8Array, packageName: string): string;
/** Path of the generated module inside a package. */
export declare function generatedPath(packageDir: string): string;
