"""Train the plate reader on synthetic plates, then fine-tune it with real ones, reproducibly from a seed.

    nice -n 10 python -m models.plates.training.train --out models/plates/weights/plate_reader_synthetic.keras \
        --steps 14000 --samples 200000 --seed 0

The training set is rendered up front by worker processes (``--samples``
crops, each chunk seeded from ``(seed, chunk index)``, so the data does not
depend on the number of workers or on timing), then the network is fitted
with CTC loss and a cosine learning-rate schedule. The script ends by
reporting exact-plate accuracy on a held-out synthetic set.

The shipped weights are then fine-tuned from those with the training half of
the real EasyPR crops (`models.plates.training.real`) mixed into every batch:

    nice -n 10 python -m models.plates.training.train --out models/plates/weights/plate_reader.keras \
        --init models/plates/weights/plate_reader_synthetic.keras --real ../shared/data \
        --steps 3000 --samples 30000 --seed 1 --lr 3e-4
"""
from __future__ import annotations

import argparse
import os
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from models.plates import charset
from models.plates.rows import as_one_row
from models.plates.training import real, render

CHUNK = 500
DOUBLE_ROW_SHARE = 0.3  # of 7-character yellow plates: lorries', coaches' and trailers' plates


def _render_chunk(args: tuple[int, int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Render CHUNK crops, preprocessed, with labels padded by the CTC blank (0); a
    `loose_share` of the one-row crops cut with a wide margin (`render.render_crop`)."""
    from models.plates.model import preprocess  # imports TF lazily in workers

    seed, index, loose_share = args
    rng = np.random.default_rng([seed, index])
    crops, texts = [], []
    for _ in range(CHUNK):
        text, color = render.random_plate(rng)
        if color == "yellow" and len(text) == 7 and rng.random() < DOUBLE_ROW_SHARE:
            crops.append(as_one_row(render.render_crop(text, color, rng, rows=2)))
        else:
            # no draw at share 0: the shipped synthetic weights' data stay as they were
            loose = bool(loose_share) and rng.random() < loose_share
            crops.append(render.render_crop(text, color, rng, loose=loose))
        texts.append(text)
    return preprocess(crops).astype(np.float16), _padded_labels(texts)


def _padded_labels(plates: list[str]) -> np.ndarray:
    """Character ids, one row a plate, padded by the CTC blank (0)."""
    labels = np.zeros((len(plates), charset.MAX_LEN), np.int32)
    for i, plate in enumerate(plates):
        labels[i, : len(plate)] = charset.encode(plate)
    return labels


def make_dataset(seed: int, samples: int, workers: int, loose_share: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    jobs = [(seed, i, loose_share) for i in range(-(-samples // CHUNK))]
    with Pool(workers) as pool:
        parts = pool.map(_render_chunk, jobs, chunksize=1)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _real_training_half(root: str) -> tuple[list[np.ndarray], np.ndarray]:
    crops, plates = real.training_half(Path(root))
    print(f"fine-tuning with {len(crops)} real crops", flush=True)
    return crops, _padded_labels(plates)


def save_for_inference(model, path: str) -> None:
    """Save the weights in an uncompiled copy: no optimizer state, a third of the size."""
    from models.plates.model import build_model

    clean = build_model()
    clean.set_weights(model.get_weights())
    clean.save(path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=9000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=150_000, help="synthetic crops rendered for training")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--init", help="start from these weights (fine-tuning)")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    ap.add_argument("--real", help="shared data folder: mix the training half of its real EasyPR crops into each batch")
    ap.add_argument("--real-per-batch", type=int, default=16)
    ap.add_argument("--far-camera-share", type=float, default=0.0,
                    help="share of real crops further shrunk to 94x24 as a far camera delivers them")
    ap.add_argument("--loose-crop-share", type=float, default=0.0,
                    help="share of synthetic crops cut with a wide margin of surroundings")
    args = ap.parse_args(argv)

    t0 = time.time()
    x, y = make_dataset(args.seed, args.samples, args.workers, args.loose_crop_share)
    xv, yv = make_dataset(args.seed + 10_000, 2000, args.workers, args.loose_crop_share)
    print(f"rendered {len(x)} + {len(xv)} crops in {time.time() - t0:.0f}s", flush=True)

    import keras  # after the fork, so the workers do not inherit TF threads

    from models.plates.decode import decode_batch
    from models.plates.model import build_model, preprocess

    keras.utils.set_random_seed(args.seed)
    model = keras.models.load_model(args.init, compile=False) if args.init else build_model()
    schedule = keras.optimizers.schedules.CosineDecay(
        args.lr / 20, args.steps, alpha=0.02, warmup_target=args.lr, warmup_steps=min(500, args.steps // 10)
    )
    # an exponential moving average of the weights: steadier than the last step's, which
    # swing most on the character classes synthetic data pins down least (provinces)
    # (a shorter average when fine-tuning, whose few steps would leave it near the initial weights)
    optimizer = keras.optimizers.Adam(schedule, clipnorm=5.0, use_ema=True, ema_momentum=0.99 if args.init else 0.999)
    model.compile(optimizer=optimizer, loss=keras.losses.CTC())

    steps_per_epoch = min(1000, args.steps)
    rng = np.random.default_rng(args.seed)

    real_crops, real_labels = _real_training_half(args.real) if args.real else ([], None)
    synthetic_per_batch = args.batch - (args.real_per_batch if args.real else 0)

    def batches():
        while True:
            order = rng.permutation(len(x))
            for i in range(0, len(order) - synthetic_per_batch + 1, synthetic_per_batch):
                idx = order[i : i + synthetic_per_batch]
                if not real_crops:
                    yield x[idx].astype(np.float32), y[idx]
                    continue
                pick = rng.integers(0, len(real_crops), args.real_per_batch)
                varied = [real.vary(real_crops[j], rng) for j in pick]
                # no draw at share 0: the shipped weights' runs stay reproducible
                far = args.far_camera_share
                varied = preprocess([real.far_camera(v, rng) if far and rng.random() < far else v for v in varied])
                yield np.concatenate([x[idx].astype(np.float32), varied]), np.concatenate([y[idx], real_labels[pick]])

    # saving every epoch leaves a usable model behind if training is cut short;
    # fit() ends by swapping in the averaged weights, which are saved last
    model.fit(
        batches(),
        steps_per_epoch=steps_per_epoch,
        epochs=-(-args.steps // steps_per_epoch),
        verbose=2,
        callbacks=[keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: save_for_inference(model, args.out))],
    )

    save_for_inference(model, args.out)

    truth = ["".join(charset.ID_TO_CHAR[i] for i in row if i) for row in yv]
    reads = decode_batch(model.predict(xv.astype(np.float32), batch_size=256, verbose=0))
    exact = np.mean([r.text == t for r, t in zip(reads, truth)])
    print(f"synthetic held-out exact: {exact:.3f}; total {time.time() - t0:.0f}s; saved {args.out}")


if __name__ == "__main__":
    main()
