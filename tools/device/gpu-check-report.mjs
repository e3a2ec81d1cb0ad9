// The one JSON of tools/device/gpu-check.sh, from the files its steps left in one folder:
//   node tools/device/gpu-check-report.mjs DIR
// gpu-check.json (sgdwalk gpu check --json), equivalence.log + equivalence.rc (the CUDA/WebGPU tests),
// ort-<name>.json (tools/bench analysis --provider …), torch.json (torch-interpolation.py), training.json
// (tools/device/train-check.mjs, when present), mode.json (dry run or not, sizes). A step that failed or
// did not run is named with its reason: the JSON is printed whatever happened, so one run says it all.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const read = (name) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : undefined);
function json(name) {
  const text = read(name);
  if (text === undefined) return { missing: `${name} was not written (see ${name.replace(/\.json$/, '.log')})`, log: tail(name.replace(/\.json$/, '.log')) };
  try {
    return JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1));
  } catch (error) {
    return { unreadable: `${name}: ${error.message}`, log: tail(name.replace(/\.json$/, '.log')) };
  }
}
function tail(name, lines = 8) {
  const text = read(name);
  return text === undefined ? undefined : text.trim().split('\n').slice(-lines);
}
const relative = (got, want) => (got && want ? Math.max(...got.map((v, i) => Math.abs(v - want[i]) / Math.abs(want[i]))) : undefined);

const mode = json('mode.json');
const runs = Object.fromEntries(mode.ortRuns.map((name) => [name, json(`ort-${name}.json`)]));
const torch = json('torch.json');
const equivalenceLog = read('equivalence.log') ?? '';

/** One ORT run's figures, against its own provider's measured MatMul peak (same precision). */
function figures(r) {
  if (!r || r.missing || r.unreadable) return r;
  const engine = r.epochWindow.engine;
  return {
    provider: r.provider,
    device: r.adapter,
    tf32: r.tf32,
    engine,
    examplesAlphaPerSecond: r[engine].examplesAlphaPerSecond,
    effectiveGflops: r[engine].effectiveGflops,
    matmulPeakGflops: r.matmulPeak.gflops,
    overMatmulPeak: r[engine].overPeak,
    hostToDeviceBytesPerPair: r[engine].bytesPerPair.hostToDevice,
    oncePerAnalysisHostToDevice: r[engine].oncePerAnalysis.hostToDevice,
    epochWindowProjectedSeconds: r.epochWindow.projectedSeconds,
    workload: r.workload,
  };
}
const ort = Object.fromEntries(Object.entries(runs).map(([name, r]) => [name, figures(r)]));
const main = ort[mode.mainRun];
const torchFigures = torch.missing || torch.unreadable ? torch : {
  device: torch.device, torch: torch.torch, cuda: torch.cuda, tf32: torch.tf32, examplesAlphaPerSecond: torch.examplesAlphaPerSecond,
  effectiveGflops: torch.effectiveGflops, matmulPeakGflops: torch.matmulPeak.gflops, overMatmulPeak: torch.overPeak, workload: torch.workload,
};
const reference = runs[mode.referenceRun];
const tf32Run = mode.tf32Run ? runs[mode.tf32Run] : undefined;

const report = {
  check: 'sgdwalk gpu-check',
  dryRun: mode.dryRun,
  sizes: mode.sizes,
  setup: { install: tail('install.log', 12), gpuCheck: json('gpu-check.json') },
  equivalence: {
    command: mode.equivalenceCommand,
    exitCode: Number(read('equivalence.rc') ?? NaN),
    summary: equivalenceLog.split('\n').filter((line) => /Test Files|Tests\s|skipped|✓|×|FAIL/.test(line)).map((line) => line.replace(/\x1b\[[0-9;]*m/g, '').trim()).slice(-20),
  },
  interpolation: { ort, torch: torchFigures },
  comparison: {
    sameWork: main?.workload && torch.workload ? main.workload.macsPerExample === torch.workload.macsPerExample : undefined,
    ortOverTorch: main?.examplesAlphaPerSecond && torch.examplesAlphaPerSecond ? main.examplesAlphaPerSecond / torch.examplesAlphaPerSecond : undefined,
    // the losses of the same first pair with TF32 on against off, and the main provider against the CPU
    tf32OnVsOffMaxRelative: tf32Run && !tf32Run.missing && runs[mode.mainRun]?.firstPairLosses ? relative(tf32Run.firstPairLosses, runs[mode.mainRun].firstPairLosses) : undefined,
    mainVsCpuMaxRelative: reference && !reference.missing && runs[mode.mainRun]?.firstPairLosses && mode.referenceRun !== mode.mainRun ? relative(runs[mode.mainRun].firstPairLosses, reference.firstPairLosses) : undefined,
  },
  targets: {
    ortAtLeastTorch: main?.examplesAlphaPerSecond && torch.examplesAlphaPerSecond ? main.examplesAlphaPerSecond >= torch.examplesAlphaPerSecond : undefined,
    atLeast40PercentOfPeak: main?.overMatmulPeak !== undefined ? main.overMatmulPeak >= 0.4 : undefined,
    epochWindowAtMost30Minutes: main?.epochWindowProjectedSeconds !== undefined ? main.epochWindowProjectedSeconds <= 1800 : undefined,
  },
  training: existsSync(join(dir, 'training.json')) ? json('training.json') : existsSync(join(dir, 'training.absent')) ? 'not present (tools/device/train-check.mjs)' : json('training.json'),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
