"""CPU seconds of a SIIT training step and of a held-out evaluation, per tracr case.

For each case it builds the run's task, fresh LL model and optimizer as `train_siit` does, times
`--steps` optimizer steps (after one warm-up step) and two held-out evaluations (the first one
also computes what an evaluation may keep for the next), all on one thread with deterministic
kernels, and prints milliseconds per step, steps per second, the CPU seconds of an epoch of steps
and of each evaluation. CPU seconds (time.process_time), not wall time, so that other work on the
machine changes the numbers less. It drives the trainer's own `_Loop` (its `_step` and
`_evaluate`), so the numbers are those of training itself.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/siit_step_time.py [--cases 3,9,113,39] [--steps 20] [--output-dir results]
(the compile cache is read from <output-dir>/cache, built on first use)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = (3, 9, 113, 39)


def time_case(case_id: int, steps: int, output_dir: Path) -> dict[str, float]:
    """CPU seconds per step, of an epoch of steps and of a first and a second evaluation."""
    import torch

    from circuits_benchmark.training.artifacts import TrainingProgress
    from circuits_benchmark.training.task import fresh_ll_model
    from circuits_benchmark.training.task_families import build_task, task_family
    from circuits_benchmark.training.trainer import _Loop, deterministic_kernels

    settings = task_family(case_id).settings(epochs=1, early_stop=False)
    task = build_task(case_id, output_dir, settings.seed)
    model = fresh_ll_model(task.ll_config, settings.seed, task.init_std)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    with tempfile.TemporaryDirectory() as scratch:
        loop = _Loop(task, settings, model, optimizer, Path(scratch), "cpu", TrainingProgress(), float("inf"), lambda: None)
        order = loop._start_epoch(None)
        batches = order.split(settings.batch_size)
        with deterministic_kernels():
            loop._step(batches[0])  # warm-up: first-call allocations
            start = time.process_time()
            for index in range(steps):
                loop._step(batches[(index + 1) % len(batches)])
            per_step = (time.process_time() - start) / steps
            evaluations = []
            for _ in range(2):
                start = time.process_time()
                loop._evaluate()
                evaluations.append(time.process_time() - start)
    return {"step": per_step, "epoch": per_step * len(batches), "first_eval": evaluations[0], "eval": evaluations[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(map(str, CASES)), help="Comma-separated case ids.")
    parser.add_argument("--steps", type=int, default=20, help="Timed steps per case.")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "results", help="Where the compile cache lives (<dir>/cache).")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    print(f"{'case':>4} {'ms/step':>8} {'steps/s':>8} {'epoch s':>8} {'1st eval s':>10} {'eval s':>7}")
    for case_id in (int(c) for c in args.cases.split(",")):
        t = time_case(case_id, args.steps, args.output_dir)
        print(f"{case_id:>4} {1000 * t['step']:>8.1f} {1 / t['step']:>8.2f} {t['epoch']:>8.1f} {t['first_eval']:>10.2f} {t['eval']:>7.2f}")


if __name__ == "__main__":
    main()
