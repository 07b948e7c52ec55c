/**
 * Bundles `entryPoints` into `outdir` (one `<name>.js` per entry, shared code in chunks), for Node 20. Bare
 * imports stay imports unless `external` names the ones to keep, in which case everything else is bundled in.
 */
export declare function bundleForNode(entryPoints: string[], outdir: string, options?: { external?: string[] }): Promise<void>;
