/**
 * How batch norm normalises: `batch`, with the statistics of the batch at hand (training, and the study's
 * choice for the loss along a line); `running`, with the stored running statistics (evaluation). The one
 * type every package uses (the config's analyze.bnMode, the tfjs forward pass, the ONNX lowering).
 */
export type BatchNormMode = 'batch' | 'running';
