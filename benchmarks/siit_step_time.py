"""CPU seconds of a SIIT training step and of a held-out evaluation, per tracr case.

For each case it builds the run's task, fresh LL model and optimizer as `train_siit` does, times
`--steps` optimizer steps (after one warm-up step) and, unless `--no-eval`, two held-out
evaluations (the first one also computes what an evaluation may keep for the next), all on one
thread with deterministic kernels, and prints milliseconds per step, steps per second, the CPU
seconds of an epoch of steps and of each evaluation. It drives the trainer's own `_Loop` (its
`_step` and `_evaluate`), so the numbers are those of training itself.

CPU seconds (time.process_time), not wall time, so that other work on the machine changes the
numbers less; on a loaded machine they still move by 20-30%, so each case runs `--rounds` times
in fresh processes and the fastest round counts. `--baseline DIR` times another checkout too (a
worktree of an older commit), alternating with this one round by round, and prints the ratio.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/siit_step_time.py [--cases 3,9,113,39]
     [--steps 10] [--rounds 3] [--no-eval] [--baseline DIR] [--output-dir results]
(the compile cache is read from <output-dir>/cache, built on first use)
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = (3, 9, 113, 39)


def time_case(case_id: int, steps: int, output_dir: Path, evaluations: int) -> dict[str, float]:
    """CPU seconds per step, of an epoch of steps and of the first `evaluations` (0 to 2)
    held-out evaluations (NaN where not made), with the `circuits_benchmark` on sys.path."""
    import torch

    from circuits_benchmark.training.artifacts import TrainingProgress
    from circuits_benchmark.training.task import fresh_ll_model
    from circuits_benchmark.training.task_families import build_task, task_family
    from circuits_benchmark.training.trainer import _Loop, deterministic_kernels

    torch.set_num_threads(1)
    settings = task_family(case_id).settings(epochs=1, early_stop=False)
    task = build_task(case_id, output_dir, settings.seed)
    model = fresh_ll_model(task.ll_config, settings.seed, task.init_std)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    with tempfile.TemporaryDirectory() as scratch:
        loop = _Loop(task, settings, model, optimizer, Path(scratch), "cpu", TrainingProgress(), math.inf, lambda: None)
        batches = loop._start_epoch(None).split(settings.batch_size)
        with deterministic_kernels():
            loop._step(batches[0])  # warm-up: first-call allocations
            start = time.process_time()
            for index in range(1, steps + 1):
                loop._step(batches[index % len(batches)])
            per_step = (time.process_time() - start) / steps
            evaluation_seconds = [math.nan, math.nan]
            for index in range(evaluations):
                start = time.process_time()
                loop._evaluate()
                evaluation_seconds[index] = time.process_time() - start
    return {"step": per_step, "epoch": per_step * len(batches), "first_eval": evaluation_seconds[0], "eval": evaluation_seconds[1]}


def timed_in_process(code: Path, case_id: int, args: argparse.Namespace, evaluations: int) -> dict[str, float]:
    """`time_case` in a fresh process importing the `circuits_benchmark` of checkout `code`."""
    command = [
        sys.executable, __file__, "--code", str(code), "--cases", str(case_id), "--steps", str(args.steps),
        "--output-dir", str(args.output_dir), "--evaluations", str(evaluations), "--json",
    ]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.splitlines()[-1])


def add_round(code: Path, case_id: int, args: argparse.Namespace, rounds: list[dict[str, float]]) -> None:
    """Appends one more round of `case_id` on checkout `code` (evaluations timed in the first round only)."""
    evaluations = 0 if args.no_eval or rounds else 2
    rounds.append(timed_in_process(code, case_id, args, evaluations))


def summary(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The fastest round's step time, with the evaluations of the round that timed them."""
    step = min(r["step"] for r in rounds)
    return {"step": step, "epoch": step * rounds[0]["epoch"] / rounds[0]["step"], "first_eval": rounds[0]["first_eval"], "eval": rounds[0]["eval"]}


def row(label: str, t: dict[str, float]) -> str:
    return f"{label:>10} {1000 * t['step']:>8.1f} {1 / t['step']:>8.2f} {t['epoch']:>8.1f} {t['first_eval']:>10.2f} {t['eval']:>7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(map(str, CASES)), help="Comma-separated case ids.")
    parser.add_argument("--steps", type=int, default=10, help="Timed steps per round.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds (fresh processes) per case and checkout; the fastest counts.")
    parser.add_argument("--no-eval", action="store_true", help="Time the steps only.")
    parser.add_argument("--baseline", type=Path, default=None, help="Another checkout to time alternately, for the ratio.")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "results", help="Where the compile cache lives (<dir>/cache).")
    parser.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)  # a round's process: the checkout it imports
    parser.add_argument("--evaluations", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.output_dir = args.output_dir.resolve()
    if args.json:
        sys.path.insert(0, str(args.code.resolve()))
        print(json.dumps(time_case(int(args.cases), args.steps, args.output_dir, args.evaluations)))
        return

    checkouts = {"this": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    print(f"{'case':>4} {'checkout':>10} {'ms/step':>8} {'steps/s':>8} {'epoch s':>8} {'1st eval s':>10} {'eval s':>7}")
    for case_id in (int(c) for c in args.cases.split(",")):
        rounds: dict[str, list[dict[str, float]]] = {label: [] for label in checkouts}
        for _ in range(args.rounds):
            for label, code in reversed(checkouts.items()):
                add_round(code, case_id, args, rounds[label])
        times = {label: summary(r) for label, r in rounds.items()}
        for label, t in times.items():
            print(f"{case_id:>4} {row(label, t)}")
        if args.baseline:
            step_ratio = times["baseline"]["step"] / times["this"]["step"]
            eval_ratio = times["baseline"]["eval"] / times["this"]["eval"]
            print(f"{case_id:>4} {'ratio':>10} steps {step_ratio:.2f}x faster, repeated evaluation {eval_ratio:.2f}x faster")


if __name__ == "__main__":
    main()
