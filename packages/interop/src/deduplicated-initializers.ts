import { interopError } from './interop-error.js';
import { DataType as ONNX_DTYPE, type OnnxModel, type OnnxTensor } from '@sgdwalk/onnx';

/**
 * torch.onnx.export de-duplicates initializers whose values are equal at export time (a fresh BatchNorm's
 * running_var equals its weight, running_mean its bias; tied weights): one initializer stays, the other
 * names become `Identity` nodes over it. The checkpoints still carry every name, with values that differ
 * after step 0, so each such name is a state tensor in its own right.
 */

/** A name the graph gives by Identity (or a chain of them) over a float initializer. */
export interface InitializerAlias {
  name: string;
  /** The initializer at the chain's root. */
  of: string;
}

/** Every Identity chain's output over a float initializer, with the initializer at its root. */
function identityAliases(model: OnnxModel): InitializerAlias[] {
  const graph = model.graph!;
  const rootOf = new Map((graph.initializer ?? []).filter((t) => t.data_type === ONNX_DTYPE.FLOAT && t.name).map((t) => [t.name!, t.name!]));
  const aliases: InitializerAlias[] = [];
  // Nodes are topologically sorted in a valid graph; the loop also takes a chain written out of order.
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of graph.node ?? []) {
      const [input] = node.input ?? [];
      const [output] = node.output ?? [];
      if (node.op_type !== 'Identity' || !output || rootOf.has(output) || !rootOf.has(input)) continue;
      rootOf.set(output, rootOf.get(input)!);
      aliases.push({ name: output, of: rootOf.get(input)! });
      changed = true;
    }
  }
  return aliases;
}

/**
 * The graph with every Identity-given name that the checkpoint stores made an initializer of its own (a
 * copy of its root's value, the Identity node removed), so the state is fed name by name. Names the
 * checkpoint does not store stay Identity nodes: the graph's own meaning, equal to their root.
 */
export function withOwnInitializers(model: OnnxModel, checkpointNames: ReadonlySet<string>): { model: OnnxModel; aliases: InitializerAlias[] } {
  const graph = model.graph!;
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  const aliases = identityAliases(model).filter((a) => checkpointNames.has(a.name) && !outputs.has(a.name));
  if (aliases.length === 0) return { model, aliases };
  const byName = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const own = new Set(aliases.map((a) => a.name));
  const copies: OnnxTensor[] = aliases.map((a) => ({ ...byName.get(a.of)!, name: a.name }));
  return {
    aliases,
    model: {
      ...model,
      graph: {
        ...graph,
        node: (graph.node ?? []).filter((n) => !(n.op_type === 'Identity' && own.has(n.output?.[0] ?? ''))),
        initializer: [...(graph.initializer ?? []), ...copies],
      },
    },
  };
}

/** The batch norms of a checkpoint: every prefix P with both P.running_mean and P.running_var stored. */
function checkpointBatchNorms(names: ReadonlySet<string>): string[] {
  return [...names].filter((n) => n.endsWith('.running_mean') && names.has(n.replace(/running_mean$/, 'running_var'))).map((n) => n.slice(0, -'.running_mean'.length));
}

/** The exact export call that keeps batch norms (and every state_dict name) in the graph. */
export const KEEP_BATCH_NORM_EXPORT =
  'torch.onnx.export(model.eval(), example, "model.onnx", training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False) (or training=torch.onnx.TrainingMode.TRAINING)';

/**
 * Refuse a graph whose batch norms were folded away: torch.onnx.export in eval mode (TrainingMode.EVAL, the
 * default) merges Conv+BatchNorm into one Conv with new weights under made-up names (onnx::Conv_N), whatever
 * do_constant_folding says. The walk cannot be faithful (the interpolated state is not the folded one's), so
 * one line names the batch norms, the made-up weights and the export call that keeps them.
 */
export function checkNoFoldedBatchNorm(model: OnnxModel, checkpointNames: ReadonlySet<string>, checkpointFile: string, graphFile: string): void {
  const graph = model.graph!;
  const used = new Set((graph.node ?? []).flatMap((n) => n.input ?? []));
  const folded = checkpointBatchNorms(checkpointNames).filter((bn) => !used.has(`${bn}.running_mean`) && !used.has(`${bn}.running_var`));
  const madeUp = (graph.initializer ?? []).map((t) => t.name!).filter((n) => /^onnx::/.test(n) && !checkpointNames.has(n));
  if (folded.length === 0 || madeUp.length === 0) return;
  throw interopError(
    graphFile,
    `batch norm ${folded.join(', ')} was folded into the layer before it (no node reads ${folded[0]}.running_mean of ${checkpointFile}; the graph's weights ${madeUp.slice(0, 4).join(', ')} are torch's merged Conv+BatchNorm, in no checkpoint), so the walk cannot follow its state: export again with ${KEEP_BATCH_NORM_EXPORT}`,
  );
}
