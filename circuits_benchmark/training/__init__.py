"""Training low-level (LL) transformers that implement a task's circuit (SIIT).

The pipeline, one module per stage: `task_keys` and `task_families` (what can be trained: the
registry of task families; the tracr cases' in `tracr_tasks`, IOI's in `ioi.siit_task`), `task`
(one task prepared for a seed: HL model, LL shape, correspondence, ground truth, split),
`correspondence` (which LL nodes realise each tracr node, how big the LL model is, and the LL
ground truth that follows), `data_split` (held-out inputs), `high_level` (the HL model's
interface), `objectives` (behaviour, IIT and strict losses and the matching metrics), `settings`
and `trainer` (the loop, checkpoints), `artifacts` (the files of a run), `siit_models` (loading
trained runs, the `siit:` model ids), `suite` (many tasks in worker processes), `release` (the
shipped models), `reports` (`eval iit`, node realism and the ground-truth checks stored with each
model), `realism_models` (`eval realism`'s comparison models), `tracking` (optional wandb).
"""
