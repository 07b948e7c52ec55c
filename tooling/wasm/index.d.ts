/** What {@link compileAssembly} returns. */
export interface CompiledAssembly {
  /** The wasm module's bytes. */
  bytes: Uint8Array;
  /** Members of the `WasmExports` interface: one method signature (with TSDoc) per exported function. */
  exports: string[];
}
/**
 * Compiles `<packageDir>/assembly/index.ts`; returns the wasm bytes after checking the module's shape, and
 * the TypeScript declarations of its exports (from asc's bindings), for {@link renderModule}.
 */
export declare function compileAssembly(packageDir: string): Promise<CompiledAssembly>;
/**
 * The TypeScript module that carries the bytes and the interface of the exports (`WasmExports`), as
 * committed under src/generated/.
 */
export declare function renderModule(compiled: CompiledAssembly, packageName: string): string;
/** Path of the generated module inside a package. */
export declare function generatedPath(packageDir: string): string;
