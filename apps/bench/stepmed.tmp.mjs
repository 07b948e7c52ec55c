// scratch: median step time and profiled kernel sum, N steps
const threads = Number(process.argv[2]);
const kind = process.argv[3] ?? 'ssd';
const { useBackend } = await import('@detkit/backends');
const { tf } = await import('@detkit/core');
await useBackend('wasm', { threads });
const { createLoader, syntheticSource } = await import('@detkit/data');
const models = await import('@detkit/models');
const batch = kind === 'ssd' ? 16 : 8;
const detector = kind === 'ssd' ? models.createSsd({ numClasses: 4, imageSize: 128, seed: 0 }) : models.createFasterRcnn({ numClasses: 4, imageSize: 128, seed: 0 });
const loader = createLoader({ source: syntheticSource({ split: 'train' }), imageSize: 128, batchSize: batch, seed: 0 });
let data; for await (const b of loader.epoch(0)) { data = b; break; }
const optimizer = models.adam(1e-3); const vars = models.trainableVariables(detector);
let s = 1; const rng = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
const step = () => { const c = optimizer.minimize(() => detector.loss(data.images, data.targets, { rng }).total, true, vars); c.dataSync(); c.dispose(); };
for (let i = 0; i < 3; i++) step();
const ts = [];
for (let i = 0; i < 15; i++) { const t = performance.now(); step(); ts.push(performance.now() - t); }
ts.sort((a, b) => a - b);
const ks = [];
for (let i = 0; i < 3; i++) { const p = await tf.profile(step); ks.push(p.kernels.reduce((a, k) => a + k.kernelTimeMs, 0)); }
console.log(`${kind} ${threads}t: step median ${ts[7].toFixed(0)} ms (min ${ts[0].toFixed(0)}, max ${ts[14].toFixed(0)}); kernel sum ${ks.map((k) => k.toFixed(0)).join('/')}`);
