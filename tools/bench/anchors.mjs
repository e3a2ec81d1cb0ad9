// Dense vs anchored runs (docs/anchors.md): storage in bytes, replay time per step against training time,
// the time to materialise a 100-step window, and the analysis of a window first declared after training.
//
// What is measured and what is computed is said in every figure's name and in `notes`:
//  - mlp-bn (the default pipeline's network) on the first 10,000 MNIST training images: trained (anchored,
//    and plain for the hashing overhead), a 100-step window materialised, a 30-pair window analysed (on 1,000
//    examples, ONNX Runtime's CPU provider) without and with its states cached, all measured;
//  - VGG-11 at width 1/4 (about 0.6 s per step on wasm here): 20 steps on synthetic 32×32×3 data trained and
//    9 replayed, measured; its 100-step materialisation is computed from those per-step times;
//  - storage of whole runs (the default pipeline's 1,000 steps, VGG's 450-step epoch and a 100-epoch run) is
//    computed from the measured bytes of one checkpoint and one state-hash row.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dataSectionSchema, parseAnalyzeSection, initialState, instantiateLibraryModel, parameterLayout, parseSection, resolveModel, sha256, silentLogger, trainSectionSchema,
} from '@sgdwalk/core';
import { DeviceState, selectBackend } from '@sgdwalk/model';
import { prepareDataset } from '@sgdwalk/data';
import { analyzeRun, readRunFolder } from '@sgdwalk/analysis';
import { checkpointSteps, materializeSteps, openAnalysisCheckpoints, replay, trainRun } from '@sgdwalk/train';

const log = { info: (m) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`), warn: (m) => process.stderr.write(`warning: ${m}\n`), progress: () => {} };
const quiet = { info: () => {}, warn: log.warn, progress: () => {} };
const round = (x, digits = 1) => Number(x.toFixed(digits));

async function folderBytes(dir) {
  let sum = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, e.name);
    sum += e.isDirectory() ? await folderBytes(path) : (await stat(path)).size;
  }
  return sum;
}

function trainConfig(fields) {
  const parsed = parseSection(trainSectionSchema, { backend: 'auto', ...fields });
  return { ...parsed, model: resolveModel(parsed.model) };
}

/** Bytes of one stored checkpoint (shards only, their Arrow framing included) and of one state-hash row. */
async function unitBytes(runDir, run) {
  const shards = (await readdir(join(runDir, 'checkpoints'))).filter((n) => n.endsWith('.arrow'));
  let shardBytes = 0;
  for (const s of shards) shardBytes += (await stat(join(runDir, 'checkpoints', s))).size;
  const hashes = (await stat(join(runDir, 'state-hashes.arrow'))).size;
  return { checkpoint: Math.round(shardBytes / run.checkpointSteps.length), hashRow: hashes / (run.steps + 1), stateFloats: run.layout.totalSize, trainable: run.layout.trainableSize };
}

/** Storage of a whole run, computed: every step stored, a policy's checkpoints, or anchors every N. */
function storage(unit, steps, stepsPerEpoch, { policy, anchorsEvery, momentum }) {
  const velocity = momentum > 0 ? Math.round((unit.checkpoint * unit.trainable) / unit.stateFloats) : 0;
  const out = { steps, denseEveryStepBytes: steps * unit.checkpoint + unit.checkpoint };
  if (policy) out.policyBytes = checkpointSteps(policy, steps, stepsPerEpoch).length * unit.checkpoint;
  for (const every of anchorsEvery) {
    const anchors = Math.floor(steps / every) + 1;
    // θ_0 has no velocity; the last step is stored too (train.checkpoints.last) unless it is an anchor.
    const last = steps % every === 0 ? 0 : unit.checkpoint;
    out[`anchorsEvery${every}Bytes`] = Math.round(anchors * unit.checkpoint + (anchors - 1) * velocity + (steps + 1) * unit.hashRow + last);
  }
  return out;
}

/** What an anchored run adds to every step: θ downloaded from the backend and hashed (40 repetitions, after 3). */
async function hashCost(ref) {
  await selectBackend('auto', silentLogger);
  const layout = parameterLayout(instantiateLibraryModel(ref));
  const state = new DeviceState(layout, initialState(layout, 0));
  const buffer = new Float32Array(layout.totalSize);
  for (let i = 0; i < 3; i++) sha256(await state.download(buffer));
  const started = performance.now();
  for (let i = 0; i < 40; i++) sha256(await state.download(buffer));
  state.dispose();
  return round((performance.now() - started) / 40, 2);
}

export async function run() {
  const hashMsPerStep = { mlp: await hashCost({ library: 'mlp-bn' }), vgg11w4: await hashCost({ library: 'vgg11-bn', width: 0.25, inputShape: [32, 32, 3] }) };
  const root = await mkdtemp(join(tmpdir(), 'sgdwalk-bench-anchors-'));
  try {
    // --- mlp-bn on MNIST (first 10,000 training images: 100 steps per epoch at batch 100)
    const mnist = join(root, 'mnist');
    await prepareDataset({ config: parseSection(dataSectionSchema, { dataset: 'mnist', limit: { train: 10000, validation: 500, test: 500 } }), outDir: mnist, log: quiet });
    const mlpFields = { model: 'mlp-bn', lr: 0.1, batchSize: 100, weightDecay: 1e-4, epochs: 2, maxSteps: 150 };
    // Plain, anchored, plain again: the first run of a process also pays the backend's warm-up, and the
    // load of a shared machine drifts; the plain figure is the mean of the runs around the anchored one.
    const plainRun = async (name) => {
      log.info(`mlp-bn: training 150 steps without anchors (${name})`);
      return trainRun({ config: trainConfig({ ...mlpFields, checkpoints: { windows: [], every: 0 } }), dataDir: mnist, outDir: join(root, name), log: quiet });
    };
    const mlpPlainBefore = await plainRun('mlp-plain-before');
    log.info('mlp-bn: training 150 steps, anchors at 0 and 150 only');
    const mlpRun = await trainRun({ config: trainConfig({ ...mlpFields, checkpoints: { windows: [], every: 0, anchors: { every: 150 } } }), dataDir: mnist, outDir: join(root, 'mlp-anchored'), log: quiet });
    const mlpPlainAfter = await plainRun('mlp-plain-after');
    const mlpPlain = { seconds: (mlpPlainBefore.seconds + mlpPlainAfter.seconds) / 2, steps: mlpPlainAfter.steps };
    const mlpUnit = await unitBytes(join(root, 'mlp-anchored'), mlpRun);
    log.info('mlp-bn: replaying steps 1..100 (states checked, not stored)');
    const mlpReplay = await replay({ runDir: join(root, 'mlp-anchored'), dataDir: mnist, from: 1, to: 100, log: quiet, onState: async () => {} });
    log.info('mlp-bn: materialising steps 1..100 (100 steps from anchor 0, into the cache)');
    const window = Array.from({ length: 100 }, (_, i) => i + 1);
    const mat = await materializeSteps({ runDir: join(root, 'mlp-anchored'), dataDir: mnist, steps: window, cacheDir: join(root, 'cache-window'), log: quiet });
    const matAgain = await materializeSteps({ runDir: join(root, 'mlp-anchored'), dataDir: mnist, steps: window, cacheDir: join(root, 'cache-window'), log: quiet });
    log.info('mlp-bn: analysing pairs 1..30, a window first declared now');
    const analyze = parseAnalyzeSection({ evalSet: { split: 'train', size: 1000, seed: 0 }, provider: 'cpu', steps: [1, 30], replay: { cacheDir: join(root, 'cache-analysis') } });
    const timeAnalysis = async (runDir, outDir) => {
      const started = performance.now();
      // The run opened as the CLI opens it: the anchored window replayed (timed with the analysis).
      const run = await readRunFolder(runDir);
      const checkpoints = await openAnalysisCheckpoints({ runDir, dataDir: mnist, run: run.info, window: analyze.steps, steps: analyze.sharpness.steps, replay: analyze.replay, log: quiet });
      const summary = await analyzeRun({ run, checkpoints, dataDir: mnist, outDir, config: analyze, log: quiet }).finally(() => checkpoints.close());
      return { seconds: (performance.now() - started) / 1000, pairs: summary.pairs };
    };
    const firstAnalysis = await timeAnalysis(join(root, 'mlp-anchored'), join(root, 'a1'));
    const cachedAnalysis = await timeAnalysis(join(root, 'mlp-anchored'), join(root, 'a2'));

    // --- VGG-11 at width 1/4 on synthetic 32×32×3 data (2,000 images: 20 steps per epoch at batch 100)
    const synth = join(root, 'synthetic');
    await prepareDataset({
      config: parseSection(dataSectionSchema, { dataset: 'synthetic', synthetic: { imageShape: [32, 32, 3], classes: 10, counts: { train: 2000, validation: 100, test: 100 } } }),
      outDir: synth, log: quiet,
    });
    log.info('vgg11-bn w/4: training 20 steps, anchors every 10');
    const vggRun = await trainRun({
      config: trainConfig({ model: { library: 'vgg11-bn', width: 0.25 }, lr: 0.05, batchSize: 100, weightDecay: 5e-4, epochs: 1, checkpoints: { windows: [], every: 0, anchors: { every: 10 } } }),
      dataDir: synth, outDir: join(root, 'vgg-anchored'), log: quiet,
    });
    const vggUnit = await unitBytes(join(root, 'vgg-anchored'), vggRun);
    log.info('vgg11-bn w/4: replaying steps 11..19 from anchor 10');
    const vggReplay = await replay({ runDir: join(root, 'vgg-anchored'), dataDir: synth, from: 11, to: 19, log: quiet, onState: async () => {} });
    const vggMat = await materializeSteps({ runDir: join(root, 'vgg-anchored'), dataDir: synth, steps: [11, 12, 13], cacheDir: join(root, 'cache-vgg'), log: quiet });
    const vggWriteMs = Math.max(0, (vggMat.seconds * 1000 - vggMat.stepsTaken * (vggReplay.seconds * 1000) / vggReplay.stepsReplayed) / vggMat.replayed);

    const mlpTrainMs = (1000 * mlpRun.seconds) / mlpRun.steps;
    const vggTrainMs = (1000 * vggRun.seconds) / vggRun.steps;
    const vggReplayMs = (1000 * vggReplay.seconds) / vggReplay.stepsReplayed;
    const defaultPolicy = parseSection(trainSectionSchema, {}).checkpoints;
    const vggPolicy = { windows: [{ steps: [1, 50] }], every: 50, first: true, last: true, shardSize: 64 };
    return {
      backend: mlpRun.backend,
      measured: {
        mlp: {
          bytesPerCheckpoint: mlpUnit.checkpoint,
          bytesPerStateHash: round(mlpUnit.hashRow, 1),
          hashMsPerStep: hashMsPerStep.mlp,
          trainMsPerStepAnchored: round(mlpTrainMs),
          trainMsPerStepPlain: round((1000 * mlpPlain.seconds) / mlpPlain.steps),
          trainMsPerStepPlainBeforeAfter: [round((1000 * mlpPlainBefore.seconds) / mlpPlainBefore.steps), round((1000 * mlpPlainAfter.seconds) / mlpPlainAfter.steps)],
          replayMsPerStep: round((1000 * mlpReplay.seconds) / mlpReplay.stepsReplayed),
          replayOverTrain: round((1000 * mlpReplay.seconds) / mlpReplay.stepsReplayed / mlpTrainMs, 2),
          cacheWriteMsPerCheckpoint: round(Math.max(0, 1000 * (mat.seconds - mlpReplay.seconds)) / mat.replayed),
          materialize100StepsSeconds: round(mat.seconds, 2),
          materialize100StepsCachedSeconds: round(matAgain.seconds, 2),
          cacheBytesFor100Steps: await folderBytes(join(root, 'cache-window')),
          analysisOfNewWindow: { pairs: firstAnalysis.pairs, evalExamples: 1000, provider: 'cpu', secondsWithReplay: round(firstAnalysis.seconds, 2), secondsStatesCached: round(cachedAnalysis.seconds, 2) },
        },
        vgg11w4: {
          bytesPerCheckpoint: vggUnit.checkpoint,
          hashMsPerStep: hashMsPerStep.vgg11w4,
          trainMsPerStep: round(vggTrainMs),
          replayMsPerStep: round(vggReplayMs),
          replayOverTrain: round(vggReplayMs / vggTrainMs, 2),
          cacheWriteMsPerCheckpoint: round(vggWriteMs),
          stepsTrained: vggRun.steps,
          stepsReplayed: vggReplay.stepsReplayed,
        },
      },
      computed: {
        vgg11w4Materialize100StepsSeconds: {
          fromAnchorAtWindowStart: round((100 * (vggReplayMs + vggWriteMs)) / 1000),
          anchorsEvery450MeanExtraSteps225: round(((100 + 225) * vggReplayMs + 100 * vggWriteMs) / 1000),
        },
        storage: {
          mlpDefaultPipeline: storage(mlpUnit, 1000, 600, { policy: defaultPolicy, anchorsEvery: [100, 500], momentum: 0 }),
          mlpDefaultPipelineMomentum09: storage(mlpUnit, 1000, 600, { anchorsEvery: [100, 500], momentum: 0.9 }),
          vgg11w4OneEpoch: storage(vggUnit, 450, 450, { policy: vggPolicy, anchorsEvery: [50, 450], momentum: 0 }),
          vgg11w4HundredEpochs: storage(vggUnit, 45000, 450, { anchorsEvery: [450, 4500], momentum: 0 }),
        },
      },
      notes: [
        'hashMsPerStep: the per-step cost anchors add (download θ, sha256), timed alone; trainMsPerStepAnchored vs trainMsPerStepPlain (the mean of a plain run before and one after it) compares whole runs and is as noisy as the machine',
        'train ms/step is the whole train stage (data read, epoch evaluations, checkpoint writes, hashing) over its steps; replay ms/step the whole replay (setup, hash checks) over the steps it took, states not stored; materialize* adds writing each state as a cache entry (cacheWriteMsPerCheckpoint: the difference per entry, mostly fsyncs)',
        'mlp on the first 10,000 MNIST training images; VGG-11 w/4 on synthetic 32×32×3 data (CIFAR-10 is not on this machine): a step costs the same for any data of that shape',
        'storage.* are computed from the measured bytes of one checkpoint and of one state-hash row; anchored bytes include the last step (stored by default), and with momentum the velocity at each anchor',
        'vgg11w4Materialize100StepsSeconds is computed from the measured replay ms/step and cache write ms/checkpoint: 100 steps from an anchor at the window start, or 325 steps when the window starts on average half an epoch after its anchor',
      ],
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
