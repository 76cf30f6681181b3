"""Hard known-circuit models (issue 25): the generic SIIT extension they need (node sets,
interventions under the strict ablations), their causal model, and on each shipped prototype the
ground-truth checks and the effect its mechanism is built to have."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from circuits_benchmark.choices import Ablation
from circuits_benchmark.discovery.activation_patching import activation_patching
from circuits_benchmark.discovery.attribution import edge_attribution_patching
from circuits_benchmark.discovery.problem import DiscoveryProblem
from circuits_benchmark.discovery.settings import MethodSettings
from circuits_benchmark.errors import BenchmarkError
from circuits_benchmark.hard import catalogue, checks, edits, high_level, prototypes, task
from circuits_benchmark.hard.outside_effects import ACTIVE_BAR, outside_node_effects
from circuits_benchmark.hard.program import (
    COPY_AT, LOCATE_AT, LOOKUP_AT, MARKER_ID, RARE_ID, SIDE_MLP_AT, HardSpec, sample_tokens, side_class,
)
from circuits_benchmark.patching.output_change import PatchingBatch
from circuits_benchmark.training.high_level import interventions_of
from circuits_benchmark.training.task import fresh_ll_model

REDUNDANT = HardSpec(copies=3, backup=True)


def _answers(spec: HardSpec, tokens: torch.Tensor, intervention: tuple[str, ...] | None = None) -> torch.Tensor:
    """HL answers [batch, pos]; with an intervention, each row's nodes take the next row's values."""
    hl = high_level.HardCausalModel(spec)
    logits, values = hl.run(tokens)
    if intervention is None:
        return logits.argmax(-1)
    index = torch.full((len(tokens),), hl.interventions.index(intervention))
    return hl.interchange(tokens, index, values[:, torch.arange(len(tokens)).roll(-1)]).argmax(-1)


def test_causal_model_votes_and_repairs():
    tokens = sample_tokens(REDUNDANT, np.random.default_rng(0), 400)
    clean = _answers(REDUNDANT, tokens)
    for alone in [("copy0",), ("copy1",), ("copy2",), ("lookup",), ("backup",)]:
        assert torch.equal(_answers(REDUNDANT, tokens, alone), clean), alone
    pair = _answers(REDUNDANT, tokens, ("copy0", "copy2"))
    assert (pair[:, COPY_AT] != clean[:, COPY_AT]).float().mean() > 0.7
    both = _answers(REDUNDANT, tokens, ("lookup", "backup"))
    assert (both[:, LOOKUP_AT] != clean[:, LOOKUP_AT]).float().mean() > 0.7


def test_locate_answer_pointed_at_the_rare_token_by_an_intervention_reports_rare():
    """Patching follows_marker from another input may point the locate answer at the base's marker
    or rare token; it reports them as the class `rare` (the rare token once crashed the HL model)."""
    spec = HardSpec(locate=True, rare_share=0.5)
    tokens = sample_tokens(spec, np.random.default_rng(0), 400)
    follower = (tokens.roll(-1, dims=0) == MARKER_ID).long().argmax(dim=1) + 1
    landed = tokens[torch.arange(len(tokens)), follower]
    assert (landed == RARE_ID).any() and (landed == MARKER_ID).any()
    assert torch.equal(_answers(spec, tokens, ("follows_marker",))[:, LOCATE_AT], side_class(landed))


def test_spec_refuses_bad_knobs():
    with pytest.raises(BenchmarkError, match="odd"):
        HardSpec(copies=2)
    with pytest.raises(BenchmarkError, match="saturation"):
        HardSpec(locate=True, saturation=5.0)
    with pytest.raises(BenchmarkError, match="saturation"):
        HardSpec(saturation=0.5)  # the knob acts on the locate head
    with pytest.raises(BenchmarkError, match="side outputs"):
        HardSpec(distractor=5)
    with pytest.raises(BenchmarkError, match="rare_share"):
        HardSpec(rare_share=0.9)
    with pytest.raises(BenchmarkError, match="backup"):
        HardSpec(backup=True, side_mlp=True)  # MLP 1 is the backup


def test_objective_intervenes_on_node_sets_and_under_strict_ablation():
    siit = task.siit_task("hard-redundant", REDUNDANT, seed=0)
    objective = siit.objective(fresh_ll_model(siit.ll_config, seed=0))
    sets = list(interventions_of(objective.hl))
    single = {name: objective.ll_node_masks[sets.index((name,))] for name in ("copy0", "copy1")}
    assert torch.equal(objective.ll_node_masks[sets.index(("copy0", "copy1"))], single["copy0"] * single["copy1"])
    tokens = siit.split.train[:8]
    node_index = torch.full((8,), sets.index(("copy0", "copy1")))
    outputs = objective.run(tokens, torch.arange(8).roll(-1), node_index, objective.strict_masks(8, torch.Generator().manual_seed(0)))
    # Even rows are intervened on under the strict ablation, odd ones only ablated.
    assert torch.equal(outputs.hl_strict[0::2], outputs.hl_iit[0::2])
    assert torch.equal(outputs.hl_strict[1::2], outputs.hl_base[1::2])
    assert not torch.equal(outputs.hl_iit, outputs.hl_base)


def test_strict_loss_asks_an_ablated_side_head_for_the_side_output_of_the_source():
    """The strict loss resamples the side heads (outside the circuit); on the HL side that is an
    interchange of the side nodes, so the target there is the source's side value, elsewhere the
    base's (the clean value asked for by the first side-output model was unlearnable: 92% strict IIA)."""
    spec = HardSpec(distractor=2)
    siit = task.siit_task("hard-side2", spec, seed=0)
    objective = siit.objective(fresh_ll_model(siit.ll_config, seed=0))
    tokens, rows = siit.split.train[:64], 64
    source = torch.arange(rows).roll(-1)
    node_index = torch.full((rows,), list(interventions_of(objective.hl)).index(("lookup",)))
    masks = objective.strict_masks(rows, torch.Generator().manual_seed(0))
    outputs = objective.run(tokens, source, node_index, masks)
    target = objective.strict_target(outputs).argmax(-1)
    layout = objective.ll.layout
    for j, (position, reported) in enumerate(spec.side_outputs):
        head = high_level.ll_node(spec, f"side{j}")
        out_edges = layout.cut_sources_mask(torch.tensor([s == head for s in layout.sources])) == 0
        ablated = (masks[:, out_edges] == 0).all(dim=-1)
        assert ablated.any() and not ablated.all()
        expected = torch.where(ablated, side_class(tokens[source, reported]), side_class(tokens[:, reported]))
        assert torch.equal(target[:, position], expected), j
    answers = list(spec.answer_positions)
    assert torch.equal(target[1::2][:, answers], _answers(spec, tokens)[1::2][:, answers])  # odd rows: only ablated
    assert torch.equal(target[0::2][:, answers], _answers(spec, tokens, ("lookup",))[0::2][:, answers])


def test_side_heads_change_the_side_outputs_as_much_as_natural_nodes_and_no_answer():
    """Ablating a side head alone changes its side output (realism's node effect over every output
    position, >= 5% as the issue asks) and no answer; the model's nodes outside the circuit have a
    median effect >= 5%."""
    spec, model = prototypes.load_prototype("hard-distractor")
    effects = {e.node: e for e in outside_node_effects(task.benchmark_model("test", spec, model), spec)}
    for j in range(spec.distractor):
        head = high_level.ll_node(spec, f"side{j}")
        assert effects[head].outputs_changed >= ACTIVE_BAR, (head, effects)
    assert all(effect.answers_changed == 0 for effect in effects.values()), effects
    assert np.median([effect.outputs_changed for effect in effects.values()]) >= ACTIVE_BAR


def _problem(spec: HardSpec, model, metric: str = "kl") -> DiscoveryProblem:
    benchmark = task.benchmark_model("test", spec, model)
    return DiscoveryProblem(benchmark, PatchingBatch.sample(benchmark, 200, seed=5), Ablation.parse("resample"), metric, 0)


def _edge_scores(problem: DiscoveryProblem, method, **settings) -> dict[tuple[str, str], float]:
    scores = method(problem, MethodSettings(**settings)).edge_scores.tolist()
    return dict(zip(problem.batch.layout.edges(), scores))


@pytest.fixture(scope="module", params=prototypes.shipped())
def prototype(request):
    spec, model = prototypes.load_prototype(request.param)
    return request.param, spec, model


def test_every_prototype_passes_its_checks_on_held_out_inputs(prototype):
    name, spec, model = prototype
    held_out = prototypes.held_out_inputs(name)
    answers = model(held_out).argmax(-1)
    expected = _answers(spec, held_out)
    assert (answers == expected)[:, task.metric_positions(spec)].float().mean() >= 0.995, name
    result = checks.check_hard_model(model, spec, held_out, task.answer_positions(spec))
    assert result.passed, (name, result.to_dict())


def test_saturated_key_input_is_invisible_to_eap_but_not_to_patching_or_eap_ig():
    spec, model = prototypes.load_prototype("hard-saturated")
    problem = _problem(spec, model)
    edge = (high_level.ll_node(spec, "follows_marker"), f"{high_level.ll_node(spec, 'locate')}.k")
    eap = _edge_scores(problem, edge_attribution_patching)
    eap_ig = _edge_scores(problem, edge_attribution_patching, integrated_grad_steps=5)
    patching = _edge_scores(problem, activation_patching)
    truth = set(high_level.ll_ground_truth(spec).edges)
    assert patching[edge] > 1.0  # patching the key input moves the answer (KL in nats)
    assert eap[edge] < 1e-3 * patching[edge]
    assert eap[edge] < max(score for e, score in eap.items() if e not in truth)  # below an edge outside the circuit
    assert sorted(eap_ig.values(), reverse=True).index(eap_ig[edge]) < 10


def test_rare_part_is_necessary_on_its_share_and_small_on_average():
    spec, model = prototypes.load_prototype("hard-rare")
    benchmark = task.benchmark_model("test", spec, model)
    batch = PatchingBatch.sample(benchmark, 1000, seed=3)
    truth = high_level.ll_ground_truth(spec)
    kept = batch.layout.mask_for(truth)

    def share(node: str) -> float:
        change = batch.change(kept * batch.cut_nodes_mask({node}), "resample")
        return change.changed_inputs / change.inputs

    rare = high_level.ll_node(spec, "rare")
    assert share(rare) < 0.1
    assert min(share(high_level.ll_node(spec, node)) for node in ("copy0", "lookup")) > 0.5
    held_out = prototypes.held_out_inputs("hard-rare")
    result = checks.check_hard_model(model, spec, held_out, task.answer_positions(spec))
    assert result.rare[rare]["share_changed"] >= checks.RARE_NECESSITY_SHARE
    assert (held_out == RARE_ID).any(dim=1).sum() > 100  # the share is judged on enough inputs


def test_side_outputs_are_outside_the_task_and_its_circuit():
    spec = HardSpec(distractor=4, side_mlp=True)
    tokens = sample_tokens(spec, np.random.default_rng(0), 400)
    clean = _answers(spec, tokens)
    answers, sides = list(spec.answer_positions), [position for position, _ in spec.side_outputs] + [SIDE_MLP_AT]
    side_nodes = [f"side{j}" for j in range(spec.distractor)] + ["side_mlp"]
    for node, position in zip(side_nodes, sides, strict=True):
        patched = _answers(spec, tokens, (node,))
        others = [p for p in range(patched.shape[1]) if p != position]
        assert torch.equal(patched[:, others], clean[:, others])  # no answer (nor other side output) reads a side node
        assert (patched[:, position] != clean[:, position]).float().mean() > 0.5
    side_components = {high_level.ll_node(spec, node) for node in side_nodes}
    assert len(side_components) == len(side_nodes) and "m1" in side_components
    assert not side_components & set(high_level.ll_ground_truth(spec).nodes)
    assert task.metric_positions(spec).nonzero().flatten().tolist() == sorted(answers + sides)
    assert task.answer_positions(spec).nonzero().flatten().tolist() == answers


def test_patching_barely_sees_a_redundant_part():
    """Removing one copy of three, or the MLP its backup repairs, moves the output by less than 1% of
    what removing a part without a stand-in does (with distractors beside them, that ranks them
    below edges outside the circuit: `test_hard_release`)."""
    spec, model = prototypes.load_prototype("hard-redundant")
    patching = _edge_scores(_problem(spec, model), activation_patching)
    for edge in high_level.redundant_edges(spec):
        assert patching[edge] < 0.01 * patching[("m0", "output")], (edge, patching[edge])


def test_hard_family_is_registered_and_trains_the_program_without_its_edits():
    from circuits_benchmark.training.task_families import task_family

    family = task_family("hard-saturated")
    assert family.name == "hard" and set(prototypes.PROTOTYPES) < set(family.keys()) == set(catalogue.TASKS)
    assert len(family.keys()) >= 30 and all(key.startswith("hard-") for key in family.keys())
    built = family.build_task("hard-saturated", output_dir=None, seed=0)
    assert built.hl_model["spec"] == catalogue.trained_spec(catalogue.TASKS["hard-saturated"]).to_dict()
    assert built.hl_model["spec"]["saturation"] == 1.0
    assert family.settings().target == 0.999


def test_catalogue_names_every_task_by_its_knobs_and_covers_each_mechanism_alone_and_combined():
    named = {name: spec for name, spec in catalogue.TASKS.items() if name not in catalogue.PROTOTYPES}
    assert all(catalogue.task_name(spec) == name for name, spec in named.items())
    mechanisms = {
        name: {m for m, on in {"redundancy": spec.copies > 1 or spec.backup, "saturation": spec.locate, "rare": spec.rare,
                               "distractor": spec.distractor > 0}.items() if on}
        for name, spec in catalogue.TASKS.items()
    }
    for mechanism in ("redundancy", "saturation", "rare", "distractor"):
        assert sum(found == {mechanism} for found in mechanisms.values()) >= 2, mechanism
    assert sum(len(found) >= 2 for found in mechanisms.values()) >= 10
    # The quick bench shows a mechanism among distractors, as most of the family is.
    assert all(catalogue.TASKS[name].distractor and mechanisms[name] - {"distractor"} for name in catalogue.QUICK_TASKS)


def test_saturation_knob_softens_the_locate_head_and_the_outputs_without_changing_an_answer():
    model = prototypes.load_trained("hard-saturated")
    held_out = prototypes.held_out_inputs("hard-saturated")
    confidence = {}
    for factor in (0.3, 1.0, 3.0):
        spec = HardSpec(locate=True, saturation=factor)
        edited = edits.apply_edits(model, spec)
        with torch.no_grad():
            outputs = edited(held_out)
        assert torch.equal(outputs.argmax(-1)[:, task.answer_positions(spec)], model(held_out).argmax(-1)[:, task.answer_positions(spec)])
        confidence[factor] = float(outputs.softmax(-1)[:, task.answer_positions(spec)].amax(-1).mean())
        assert checks.check_hard_model(edited, spec, held_out, task.answer_positions(spec)).passed, factor
    assert confidence[0.3] < 0.9 < 0.99 < confidence[1.0] <= confidence[3.0]
