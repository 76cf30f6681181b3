"""Analyses and experiments on models, above discovery runs: `eval iit` and node realism
(`iit_evaluation`), `eval iit_acdc` (`acdc_comparison`), probing, attention roles and layer
corruption scored against known computations (`model_analyses`), `eval realism` and the models it
compares (`realism`, `realism_models`), and the per-model page of `./main.py report` (`model_report`).
Their files go where `eval_files` says."""
