"""Indirect-object identification (IOI): sentences, the high-level causal model of its simplified
circuit (duplicate token -> S-inhibition -> name mover), and the SIIT model trained to implement it.

`siit:ioi` names the trained model (`-i ioi` on the command line); the case key `IOI` stands
beside the integer ids of the tracr cases wherever a trained model is stored or loaded.
"""

from circuits_benchmark.models.model_id import IOI

__all__ = ["IOI"]
