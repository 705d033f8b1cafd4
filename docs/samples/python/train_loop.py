"""A training script with nothing but Python: logistic regression by SGD on made-up data, reporting each epoch.

python3 train_loop.py [--epochs 5] [--lr 0.5]   (a large --lr, such as 1e4, overflows and fails)
"""

import argparse
import math
import random

from loop_report import report  # loop_report.py, beside this file

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--lr", type=float, default=0.5)
args = parser.parse_args()

random.seed(1)
rows = []
for _ in range(400):
    x = [random.gauss(0, 1) for _ in range(4)]
    rows.append((x, 1.0 if x[0] + x[1] - x[2] > 0 else 0.0))
train, valid = rows[:320], rows[320:]
weights, bias = [0.0] * 4, 0.0


def predict(x):
    return 1 / (1 + math.exp(-(sum(w * v for w, v in zip(weights, x)) + bias)))


def log_loss(p, y):
    p = min(max(p, 1e-12), 1 - 1e-12)
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


for epoch in range(args.epochs):
    random.shuffle(train)
    total = 0.0
    for x, y in train:
        p = predict(x)
        total += log_loss(p, y)
        weights = [w - args.lr * (p - y) * v for w, v in zip(weights, x)]
        bias -= args.lr * (p - y)
    val_loss = sum(log_loss(predict(x), y) for x, y in valid) / len(valid)
    accuracy = sum((predict(x) > 0.5) == (y == 1.0) for x, y in valid) / len(valid)
    print(f"epoch {epoch + 1}/{args.epochs}: loss {total / len(train):.4f}, val_loss {val_loss:.4f}")
    report(epoch + 1, args.epochs, loss=total / len(train), val_loss=val_loss, accuracy=accuracy)
