// The layer list of a library model, as JSON for tools/device/torch-interpolation.py: the PyTorch reference
// builds the same network from it, so both sides do the same multiply-accumulates.
//   node tools/device/model-layers.mjs vgg11-bn 1 > layers.json
import { flattenLayers, instantiateLibraryModel, resolveLayers } from '@sgdwalk/core';

const [library = 'vgg11-bn', width = '1'] = process.argv.slice(2);
const spec = instantiateLibraryModel({ library, width: Number(width) });
process.stdout.write(`${JSON.stringify({ model: `${library} width ${width}`, inputShape: spec.inputShape, classes: spec.classes, layers: flattenLayers(resolveLayers(spec)) })}\n`);
