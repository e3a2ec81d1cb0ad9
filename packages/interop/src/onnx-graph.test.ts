import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkImportable, evaluationGraph, stateTensors } from './evaluation-graph.js';
import { decodeModel, encodeModel, floatValues, type OnnxModel } from '@sgdwalk/onnx';

const fixture = (net: string) => fileURLToPath(new URL(`../../../test/fixtures/torch-runs/${net}/model.onnx`, import.meta.url));
const load = async (net: string): Promise<OnnxModel> => decodeModel(await readFile(fixture(net)), fixture(net));

describe('ONNX models (protobufjs over onnx.proto)', () => {
  it('decodes torch.onnx.export output and encodes it back with the same initializers and values', async () => {
    const model = await load('mlp-bn');
    expect(model.producer_name).toBe('pytorch');
    expect(model.graph!.node!.map((n) => n.op_type)).toEqual(['Gemm', 'BatchNormalization', 'Relu', 'Gemm']);
    const again = decodeModel(encodeModel(model), 'again.onnx');
    expect(again.graph!.initializer!.map((t) => t.name)).toEqual(model.graph!.initializer!.map((t) => t.name));
    const weight = (m: OnnxModel) => floatValues(m.graph!.initializer!.find((t) => t.name === 'fc1.weight')!);
    expect(Array.from(weight(again))).toEqual(Array.from(weight(model)));
  });

  it('rejects bytes that are not an ONNX model, naming the file', () => {
    expect(() => decodeModel(new TextEncoder().encode('this is a README, not a model\n'), 'README.md')).toThrow(/README\.md: not an ONNX model/);
    expect(() => decodeModel(new Uint8Array([0x08, 0x07]), 'ir-only.onnx')).toThrow(/ir-only\.onnx: not an ONNX model \(no IR version, opset, graph nodes or graph output\)/);
  });

  it('finds the state: float initializers, BatchNormalization\'s statistics as buffers', async () => {
    expect(stateTensors(await load('conv-bn'))).toEqual([
      { name: 'conv1.weight', shape: [4, 3, 3, 3], role: 'trainable' },
      { name: 'bn1.weight', shape: [4], role: 'trainable' },
      { name: 'bn1.bias', shape: [4], role: 'trainable' },
      { name: 'bn1.running_mean', shape: [4], role: 'buffer' },
      { name: 'bn1.running_var', shape: [4], role: 'buffer' },
      { name: 'fc.weight', shape: [4, 64], role: 'trainable' },
      { name: 'fc.bias', shape: [4], role: 'trainable' },
    ]);
  });

  it('checks the graph\'s input and output against the dataset', async () => {
    const conv = await load('conv-bn');
    expect(() => checkImportable(conv, { imageShape: [8, 8, 3], classes: 4 }, 'c.onnx')).not.toThrow();
    expect(() => checkImportable(conv, { imageShape: [28, 28, 1], classes: 4 }, 'c.onnx')).toThrow(
      /c\.onnx: graph input input has shape \[N, 3, 8, 8\], but the dataset's examples are 28×28×1 \(H×W×C\): it must be \[N, 1, 28, 28\]/,
    );
    expect(() => checkImportable(conv, { imageShape: [8, 8, 3], classes: 10 }, 'c.onnx')).toThrow(/c\.onnx: graph output logits has shape \[N, 4\]; the dataset has 10 classes/);
    const old = { ...conv, opset_import: [{ domain: '', version: 11 }] };
    expect(() => checkImportable(old, { imageShape: [8, 8, 3], classes: 4 }, 'c.onnx')).toThrow(/c\.onnx: opset 11; sgdwalk imports opset 13 or later/);
  });

  it('rewrites the graph: state as inputs, flat examples in, loss sums out, training-mode BN outputs dropped', async () => {
    for (const bnMode of ['batch', 'running'] as const) {
      const rewritten = decodeModel(evaluationGraph(await load('conv-bn'), { imageShape: [8, 8, 3], classes: 4, bnMode }, 'c.onnx'), 'rewritten.onnx');
      const graph = rewritten.graph!;
      expect(graph.input!.map((i) => i.name)).toEqual(['x', 'labels', ...stateTensors(await load('conv-bn')).map((t) => t.name)]);
      expect(graph.output!.map((o) => o.name)).toEqual(['loss_sum', 'correct']);
      expect(graph.initializer!.some((t) => t.data_type === 1 && !t.name!.startsWith('sgdwalk/'))).toBe(false);
      const norms = graph.node!.filter((n) => n.op_type === 'BatchNormalization');
      if (bnMode === 'batch') expect(norms).toEqual([]);
      else expect(norms.map((n) => [n.output, n.attribute!.some((a) => a.name === 'training_mode')])).toEqual([[['/bn1/BatchNormalization_output_0'], false]]);
    }
  });
});
