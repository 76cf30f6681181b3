"""Indirect-object identification (IOI): sentences, the high-level causal model of its simplified
circuit (duplicate token -> S-inhibition -> name mover), and the SIIT model trained to implement it.

IOI is a SIIT task family of one task, `ioi` (`ioi.siit_task`): `siit:ioi` names the trained
model, `-i ioi` selects it on the command line.
"""

# The task's key, beside the integer ids of the tracr cases wherever a trained model is stored or loaded.
IOI = "ioi"

# The bar an IOI model must clear on held-out sentences (accuracy, IIA and strict IIA) to be
# trained to and released: the issue's 99%. The tracr cases' 99.5% was not reached in an hour on
# two cores (IIA stayed at 98.6-98.8% after the learning rate had halved).
BAR = 0.99

__all__ = ["BAR", "IOI"]
