"""Hard known-circuit models: SIIT tasks in which circuit discovery meets what makes real
circuits hard, with a ground truth that is still checked (issue 25).

Every hard task is one small program (`program`: BOS and 8 tokens, answers read at the last two or
three positions) whose high-level (HL) causal model (`high_level.HardCausalModel`) is trained into
a two-layer transformer by SIIT. Each mechanism is a knob of `program.HardSpec`, off at its
default, and they combine freely. Ablation is resample ablation throughout: the corrupted input of
a held-out input is another held-out input.

1. Redundancy and self-repair.
   - HL: `copy0..copy{k-1}` each hold the token at position 1; the copy answer is their vote
     (k odd). `backup` reads `lookup` and the token at the lookup position: silent while `lookup`
     is right, else it speaks the right value, and the lookup answer is then its value.
   - LL: copies are heads 0..k-1 of layer 0; lookup is MLP 0, backup MLP 1.
   - Interventions trained: every node alone (a copy alone, or the backup alone, changes no
     answer; lookup alone neither: the backup repairs it), every set of two or more copies, and
     {lookup, backup}; each also made with everything outside the circuit ablated
     (`strict_interventions`), because the checks judge the circuit alone.
   - Knob: `copies` (1 = off; 3, 5, ...) and `backup` (off/on). Under zero or mean ablation one
     copy alone is sufficient (an OR); under resample ablation no two-copy group can be (the
     reader cannot tell which copy was patched), so a group of k tolerates (k - 1) / 2 removals.
   - Ground truth: every copy, lookup, backup and their edges. Sufficient: keep only it, at most
     0.5% of answers change. Minimal, group-aware (`checks`): removing any (k - 1) / 2 copies keeps
     it sufficient and one more copy breaks it; removing lookup keeps it sufficient (the backup
     repairs) and removing both breaks it; every part changes answers on >= 1% of inputs when
     removed after one of its contexts (none, (k - 1) / 2 partner copies, lookup, backup, or
     lookup's edge into the output).
   - Intended effect: exact single-edge or single-node patching gives each copy and the backup
     no effect, ranking them beside edges outside the circuit; ACDC keeps only part of a group.
2. Saturation.
   - HL: `follows_marker` (the position after the marker) and `locate` (the token there).
   - LL: a layer-0 head flags the position after the marker, a layer-1 head attends to it.
   - Interventions: each node alone. Knob: `saturation`, a factor in [0.3, 3] applied after
     training to the locate head's attention logits and to the output logits (`edits.saturate`):
     1 is the trained model, which SIIT leaves saturated; 0.3 the unsaturated end.
   - Ground truth: the standard checks (every part necessary alone), re-run after the edit.
   - Intended effect: EAP's gradient on the locate head's key input at the clean input is near
     zero while patching that input moves the answer on most inputs; EAP-IG recovers it; softening
     brings EAP's gradient back (EXPERIMENTS.md).
3. Rare but necessary parts.
   - HL: `rare` is 1 when the rare token occurs; the copy answer is then the class `rare`.
   - LL: one more head of layer 0. Training and held-out inputs hold the rare token in 30% of
     rows (so that it is learnt and checked); the benchmark's inputs in `rare_share` of rows.
   - Interventions: each node alone. Knob: `rare_share` (0 = off).
   - Ground truth: sufficient as above; each rare part (the head, its key input and its output
     edge) is necessary on its own share: removing it changes the answer on >= 50% of the held-out
     inputs holding the rare token. Its effect over the benchmark's inputs, about 2 x
     `rare_share`, is reported beside it.
   - Intended effect: a rare part's mean effect is a few percent while every common part's is
     tens of percent; methods that rank by mean effect put it last among the true parts.
4. Active distractors.
   - The task's answer is the argmax at the answer positions. Side outputs (`distractor` of them,
     `program.SIDE_OUTPUTS`) are outputs the model also computes, at earlier positions, each a SIIT
     node of its own realised by a head outside the task's circuit; no answer reads them.
   - Discovery methods measure every output position (answers and side outputs); the ground truth
     and its checks concern the answers only (README: "The task, precisely").
   - Knob: `distractor`, the number of side outputs (0 = off, up to 4).
   - Strict loss: it ablates the side heads with everything else outside the circuit; that is an
     interchange of the side nodes, so the target at a side output whose head is ablated is the
     source input's side value (`training.objectives`). Asking for the clean value instead made
     the circuit's heads recompute the side outputs, which IIT forbids (strict IIA stuck at 92%).
   - Sizing (`high_level.n_heads`): each layer has the fewest heads that hold the circuit's and
     the side outputs' heads, so that in a task with distractors nearly every head outside the
     circuit carries a side output. A free head is inert (the strict loss keeps it so), and with
     four heads a layer the first release had 0% median node effect outside the circuit.
   - Intended effect: nodes outside the circuit with real effects on the outputs (the natural
     models' median node effect is 14%), which rank above a redundant copy, a rare part or a
     saturated input in every method that ranks by effect. In a model with distractors the median
     node outside the circuit changes 10-21% of the output positions, and none changes an answer
     (`hard.outside_effects`, EXPERIMENTS.md).

`task` builds the SIIT task and the benchmark model, `checks` runs the mechanism-aware checks,
`edits` makes the post-training edits.
"""

# Every hard task's name starts with this (`hard.catalogue`): the leaderboard gives them a section
# of their own by it, without importing the family (and torch).
TASK_PREFIX = "hard-"
