/** What a command's output said about its training, in the order it said it. */
export type OutputEvent =
  /** A protocol `start` line: the run's planned epochs and name, when given. */
  | { kind: 'start'; epochs?: number; name?: string }
  /** The planned number of epochs, as soon as the output tells it (Keras `Epoch 1/10`, a tqdm `Epoch 3/10` bar, a protocol line). Emitted again only when it changes. */
  | { kind: 'epochs'; total: number }
  /**
   * One finished epoch, exactly once per epoch, in increasing order. `epoch` counts finished epochs
   * from 1 (the 3rd epoch done → 3), whatever base the format prints. `metrics`: every other number by
   * the name the output gives it (`val_accuracy`, `accuracy`, `eval_f1`), validation ones (`val_`/`eval_`/`valid_` prefix) first.
   */
  | {
      kind: 'epoch';
      epoch: number;
      total?: number;
      trainLoss?: number;
      validLoss?: number;
      lr?: number;
      metrics: Record<string, number>;
      source: OutputFormat;
    }
  /** A training loss during an epoch (a tqdm postfix `loss=`, a Keras step line, an HF `{'loss': …}` log, a protocol batch line): the loss plot's points. */
  | { kind: 'batch'; loss: number; source: OutputFormat }
  /** A protocol alert line. `level` defaults to 'warning'. */
  | { kind: 'alert'; text: string; level: 'info' | 'warning' | 'critical' }
  /** The training visibly moved (a bar's counter advanced, a step was logged): what `--stall` watches once any progress format was seen. */
  | { kind: 'progress' };

export type OutputFormat = 'protocol' | 'keras' | 'tqdm' | 'lightning' | 'fastai' | 'huggingface';
