"""The `@epochcast` lines of docs/python.md, printed by a script with no dependencies beyond Python.

python3 protocol_lines.py — run under `epochcast run` by the docs' tests, which check what each line reports.
"""

import json

print("@epochcast " + json.dumps({"event": "start", "epochs": 10, "name": "protocol-lines"}), flush=True)

for loss in [0.52, 0.41, 0.33]:  # a float: `loss.item()` of a PyTorch loss
    # #region batch
    print("@epochcast " + json.dumps({"event": "batch", "loss": loss}), flush=True)
    # #endregion

# #region epoch
print("@epochcast " + json.dumps({"event": "epoch", "epoch": 3, "epochs": 10, "loss": 0.31, "val_loss": 0.29}), flush=True)
# #endregion
