# Checked against fastai's source (Recorder, Callback), not run by epochcast's tests.
import json
import math

from fastai.callback.core import Callback


class EpochcastCallback(Callback):
    """Reports each epoch to `epochcast run`: learn.fit_one_cycle(5, cbs=EpochcastCallback())."""

    order = 51  # after the Recorder (50), whose after_epoch appends this epoch to recorder.values

    def before_fit(self):
        print("@epochcast " + json.dumps({"event": "start", "epochs": self.n_epoch}), flush=True)

    def after_epoch(self):
        names = [n for n in self.recorder.metric_names[1:] if n != "time"]  # 'epoch' first, 'time' last
        values = zip(names, self.recorder.values[-1])  # train_loss, valid_loss, then the metrics
        numbers = {k: float(v) for k, v in values if v is not None and math.isfinite(float(v))}  # JSON has no NaN
        line = {"event": "epoch", "epoch": self.epoch + 1, "epochs": self.n_epoch, **numbers}
        print("@epochcast " + json.dumps(line), flush=True)
