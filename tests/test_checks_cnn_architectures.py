"""The hidden checks of `cnn_architectures`, run directly on student namespaces (no Otter):
the reference and a differently written correct solution pass every check, the blank stubs
fail every check with "not implemented", and each catalogued mistake fails its question
with feedback that names it."""
from __future__ import annotations

import importlib

import pytest
import torch

from autograder.checks import cnn_architectures as checks
from autograder.checks import model_probes, model_specs, probes, reference_weights
from autograder.checks.common import StudentTimeout
from solutions.mistakes.mistake import inside
from student_variants import arch_mistakes, failure, mutated, namespace

ALL_CHECKS = [c for cs in checks.QUESTIONS.values() for c in cs]
IDS = [c.__name__ for c in ALL_CHECKS]


def question_failure(question: str, env) -> str | None:
    """The first failing check's message for one question, or None if all pass."""
    for check in checks.QUESTIONS[question]:
        message = failure(check, env)
        if message is not None:
            return message
    return None


@pytest.mark.parametrize("check", ALL_CHECKS, ids=IDS)
def test_reference_passes(check):
    assert failure(check, namespace("solutions.cnn_architectures")) is None


@pytest.mark.parametrize("check", ALL_CHECKS, ids=IDS)
def test_alternative_style_passes(check):
    assert failure(check, namespace("student_variants.arch_alternative")) is None


@pytest.mark.parametrize("check", ALL_CHECKS, ids=IDS)
def test_blank_stubs_fail_as_not_implemented(check):
    message = failure(check, namespace("student_variants.arch_blank"))
    assert message is not None and "not implemented" in message


@pytest.mark.parametrize("mistake", arch_mistakes.MISTAKES,
                         ids=[m[0] for m in arch_mistakes.MISTAKES])
def test_mistake_is_caught_and_named(mistake):
    _, question, replacements, phrase = mistake
    message = question_failure(question, mutated(arch_mistakes.REF, replacements))
    assert message is not None, "the mistake passed every check of its question"
    assert phrase in message, message


@pytest.mark.parametrize("harmless", arch_mistakes.HARMLESS,
                         ids=[h[0] for h in arch_mistakes.HARMLESS])
def test_harmless_variation_passes(harmless):
    _, replacements = harmless
    env = mutated(arch_mistakes.REF, replacements)
    for question in ("basic_block", "vgg"):
        assert question_failure(question, env) is None


def test_missing_names_are_reported():
    env = namespace("solutions.cnn_architectures")
    del env["resnet50"], env["VGG_CONFIGS"]
    assert "`resnet50` is not defined" in failure(checks.check_resnet_structure, env)
    assert "VGG_CONFIGS" in failure(checks.check_vgg_configs, env)


def test_builder_returning_none_or_a_non_module():
    env = namespace("solutions.cnn_architectures")
    env["AlexNet"] = lambda num_classes=1000: None
    assert "not implemented" in failure(checks.check_alexnet_structure, env)
    env["AlexNet"] = lambda num_classes=1000: "AlexNet"
    assert "not a torch.nn.Module" in failure(checks.check_alexnet_structure, env)


def test_an_infinite_loop_times_out(monkeypatch):
    monkeypatch.setattr(model_specs, "BUILD_TIMEOUT", 1.0)
    env = namespace("solutions.cnn_architectures")

    class Hang(torch.nn.Module):
        expansion = 1

        def __init__(self, *args, **kwargs):
            while True:
                pass
    env["BasicBlock"] = Hang
    message = failure(checks.check_basic_block_structure, env)
    assert message is not None and "did not return within" in message


def test_a_model_that_changes_its_input_in_place():
    env = mutated(arch_mistakes.REF, [(
        "        out = self.relu(self.bn1(self.conv1(x)))\n        out = self.bn2(self.conv2(out))\n"
        "        identity",
        "        out = self.relu(self.bn1(self.conv1(x.relu_())))\n"
        "        out = self.bn2(self.conv2(out))\n        identity")])
    assert "in place" in failure(checks.check_basic_block_outputs, env)


def test_probes_run_where_the_env_says():
    """A sandboxed env runs probes itself; the checks only see plain data."""
    calls = []

    class SandboxEnv(dict):
        def run_probe(self, name, *args):
            calls.append(name)
            return probes.probe_function(name)(dict(self), *args)

    env = SandboxEnv(namespace("solutions.cnn_architectures"))
    checks.check_basic_block_outputs(env)
    # (probe_drop_spares where this process builds the reference: a cold disk cache)
    assert "probe_forward" in calls and \
        set(calls) <= {"probe_forward", "probe_structure", "probe_drop_spares"}


def test_randomized_reference_is_seeded_and_covers_batchnorm_statistics():
    s = checks.spec("BasicBlock", 4, 8, stride=2)
    a = reference_weights.reference_model(checks.REFERENCE, s, 1).state_dict()
    b = reference_weights.reference_model(checks.REFERENCE, s, 1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["bn1.running_mean"], torch.zeros(8))
    assert not torch.equal(a["bn1.running_var"], torch.ones(8))


def test_probes_are_installed_into_a_sandbox_that_cannot_import_the_autograder():
    """autograder.sandbox.RemoteEnv.run_in_sandbox: the probes' source is exec'd in the
    student's process, where importing `autograder` is refused, and called there."""
    import builtins

    real_import = builtins.__import__

    def guarded_import(name, *args, **kwargs):
        if name == "autograder" or name.startswith("autograder."):
            raise ImportError(f"the grader does not allow importing {name}")
        return real_import(name, *args, **kwargs)

    student = namespace("solutions.cnn_architectures")
    student["__builtins__"] = {**vars(builtins), "__import__": guarded_import}

    class FakeRemoteEnv:
        def run_in_sandbox(self, source, timeout=60.0):
            exec(compile(source, "<cell>", "exec"), student)

        def get(self, name, default=None):
            return student.get(name, default)

    env = FakeRemoteEnv()
    checks.check_bottleneck_structure(env)
    checks.check_bottleneck_outputs(env)
    installed = student["__cnnlab_probes__"]
    assert installed["StudentTimeout"] is not StudentTimeout  # compiled there, not imported


def test_batchnorm_eps_shows_in_the_outputs_too():
    """Past the structure check (a BatchNorm of the student's own making, say), a wrong eps
    still changes the batch-norm VGG's outputs beyond float32's tolerance: its running
    variances are drawn small."""
    env = mutated(arch_mistakes.REF, [("layers.append(nn.BatchNorm2d(v))",
                                       "layers.append(nn.BatchNorm2d(v, eps=1e-4))")])
    message = failure(checks.check_vgg_outputs, env)
    assert message is not None and "different outputs" in message and "features.1" in message


# --- issue 17: the names the state_dict cannot show, the defaults ---------------------------

def test_a_pool_called_in_forward_instead_of_a_named_avgpool_costs_the_structure_check():
    # The outputs are right (the same adaptive pool, as a function), but the contract names
    # the submodule: only the structure check, which compares the named children, fails.
    env = mutated(arch_mistakes.REF, [
        ("self.avgpool = nn.AdaptiveAvgPool2d((6, 6))", ""),
        inside("AlexNet", "x = self.avgpool(x)",
               "x = nn.functional.adaptive_avg_pool2d(x, (6, 6))")])
    failing = {c.__name__: failure(c, env) for c in checks.QUESTIONS["alexnet"]}
    assert {n for n, m in failing.items() if m} == {"check_alexnet_structure"}, failing
    assert "has no submodule `avgpool`" in failing["check_alexnet_structure"]


def test_extra_submodules_without_parameters_are_fine():
    env = mutated(arch_mistakes.REF, [
        ("self.avgpool = nn.AdaptiveAvgPool2d((1, 1))",
         "self.avgpool = nn.AdaptiveAvgPool2d((1, 1))\n        self.flatten = nn.Flatten()")])
    assert failure(checks.check_resnet_structure, env) is None


def test_a_default_is_named_where_a_build_that_relies_on_it_fails():
    env = mutated(arch_mistakes.REF, [
        ("def __init__(self, in_channels: int, out_channels: int, stride: int = 1):",
         "def __init__(self, in_channels: int, out_channels: int, stride: int = 2):")])
    message = failure(checks.check_basic_block_structure, env)
    assert message and "`BasicBlock(8, 8)`" in message and "defaults: stride=1" in message
    assert failure(checks.check_basic_block_outputs, env) is None


# --- speed without weaker checks: skipped meta init, compact weights, per-process caches ----

STYLES_READING_THE_MODEL = [
    # nn.init in __init__, on every layer of a loop
    ("init_in_constructor", [("        self.downsample = _projection(in_channels, out_channels "
                              "* self.expansion, stride)\n",
                              "        self.downsample = _projection(in_channels, out_channels "
                              "* self.expansion, stride)\n        for m in self.modules():\n"
                              "            if isinstance(m, nn.Conv2d):\n"
                              "                nn.init.normal_(m.weight, 0, 0.1)\n"
                              "                nn.init.trunc_normal_(m.weight, std=0.1)\n"
                              "                nn.init.xavier_normal_(m.weight)\n")]),
    # a constructor that reads an initialised value (on meta it cannot: built on the CPU)
    ("constructor_reads_a_parameter", [("        self.bn2 = nn.BatchNorm2d(out_channels)\n"
                                        "        self.downsample = _projection(in_channels, "
                                        "out_channels * self.expansion",
                                        "        self.bn2 = nn.BatchNorm2d(out_channels)\n"
                                        "        self.one = float(self.bn2.weight.detach().mean())\n"
                                        "        self.downsample = _projection(in_channels, "
                                        "out_channels * self.expansion")]),
    # a non-persistent buffer the forward uses: it keeps its real value
    ("non_persistent_buffer", [("        self.bn2 = nn.BatchNorm2d(out_channels)\n        self."
                                "downsample = _projection(in_channels, out_channels * self."
                                "expansion",
                                "        self.bn2 = nn.BatchNorm2d(out_channels)\n"
                                "        self.register_buffer('two', torch.full((1,), 2.0), "
                                "persistent=False)\n        self.downsample = _projection("
                                "in_channels, out_channels * self.expansion"),
                               ("        return self.relu(out + identity)\n\n\nclass Bottleneck",
                                "        return self.relu(out + identity * self.two / 2)\n\n\n"
                                "class Bottleneck")]),
]


@pytest.mark.parametrize("style", STYLES_READING_THE_MODEL, ids=[s[0] for s in STYLES_READING_THE_MODEL])
def test_styles_that_initialise_or_read_their_weights_pass(style):
    env = mutated(arch_mistakes.REF, style[1])
    for check in checks.QUESTIONS["basic_block"]:
        assert failure(check, env) is None, check.__name__


def test_a_buffer_of_the_wrong_value_outside_the_state_dict_still_fails():
    env = mutated(arch_mistakes.REF, [
        ("        self.bn2 = nn.BatchNorm2d(out_channels)\n        self.downsample = _projection("
         "in_channels, out_channels * self.expansion",
         "        self.bn2 = nn.BatchNorm2d(out_channels)\n        self.register_buffer('two', "
         "torch.empty(1).normal_(5.0, 0.1), persistent=False)\n        self.downsample = "
         "_projection(in_channels, out_channels * self.expansion"),
        ("        return self.relu(out + identity)\n\n\nclass Bottleneck",
         "        return self.relu(out + identity * self.two / 2)\n\n\nclass Bottleneck")])
    assert "different outputs" in failure(checks.check_basic_block_outputs, env)


def test_meta_builds_skip_only_what_has_no_values():
    from torch import nn

    with torch.device("meta"), model_specs.skip_meta_init():
        meta = nn.Linear(4, 3)
        nn.init.normal_(meta.weight, 0, 0.1)
        nn.init.kaiming_normal_(meta.weight)
        real = torch.empty(5, device="cpu")
        real.normal_(3.0, 1e-6)
    assert meta.weight.is_meta and torch.allclose(real, torch.full((5,), 3.0), atol=1e-3)
    # what a fill refuses it still refuses, on meta too
    for bad in (lambda w: w.normal_(0, -1.0), lambda w: nn.init.normal_(w, 0, -1.0),
                lambda w: nn.init.kaiming_normal_(w[0]),
                lambda w: nn.init.kaiming_normal_(w, mode="fan_avg")):
        with torch.device("meta"), model_specs.skip_meta_init():
            w = nn.Linear(4, 3).weight
            with pytest.raises((RuntimeError, ValueError)):
                with torch.no_grad():
                    bad(w)
    with pytest.raises(RuntimeError):
        with torch.device("meta"), model_specs.skip_meta_init():
            torch.empty(3, dtype=torch.int64).normal_()
    # and the random state is as it was
    state, g = torch.get_rng_state(), torch.Generator().manual_seed(5)
    g_state = g.get_state()
    with torch.device("meta"), model_specs.skip_meta_init():
        nn.init.normal_(nn.Linear(4, 3).weight, generator=g)
        nn.Linear(4, 3).weight.normal_()
    assert torch.equal(state, torch.get_rng_state()) and torch.equal(g_state, g.get_state())



def test_random_init_skipped_zeroes_cpu_weights_and_refuses_what_a_fill_refuses():
    """The hint table's builds (public_hints.run_public_test): every random fill zeroes its
    tensor instead of drawing, refuses the arguments the fill refuses, and leaves the random
    state as it was; a fill that is not random (fill_, ones_) and a factory (randn) run."""
    from torch import nn

    state = torch.get_rng_state()
    with model_specs.skip_random_init():
        conv, linear = nn.Conv2d(3, 4, 3), nn.Linear(5, 2)
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        nn.init.xavier_uniform_(linear.weight)
        nn.init.ones_(linear.bias)
        with torch.device("meta"):
            meta = nn.Linear(4, 3)
        assert torch.get_rng_state().equal(state)
        x = torch.randn(3)
        for bad in (lambda: linear.weight.data.normal_(0, -1.0),
                    lambda: nn.init.uniform_(linear.weight, 1.0, 0.0),
                    lambda: torch.empty(3, dtype=torch.int64).normal_(),
                    lambda: nn.init.kaiming_uniform_(torch.empty(3))):  # no fan_in
            with pytest.raises((RuntimeError, ValueError)):
                bad()
    assert all(not t.any() for t in (conv.weight, conv.bias, linear.weight))
    assert torch.equal(linear.bias, torch.ones(2)) and meta.weight.is_meta
    assert not torch.equal(x, torch.zeros(3))
    torch.manual_seed(0)
    drawn = nn.Linear(5, 2).weight
    assert drawn.abs().sum() > 0  # outside the mode, drawn as ever

def test_compact_weights_are_ordinary_for_the_student():
    from torch import nn

    model = nn.Sequential(nn.Linear(64 * 1024 + 7, 70), nn.ReLU(), nn.Linear(70, 5))
    reference_weights.randomize_(model, 3)
    w = model[0].weight
    assert not w.is_contiguous() and w.untyped_storage().nbytes() < w.numel() * 4 // 16
    bound = (6.0 / w.shape[1]) ** 0.5
    assert float(w.abs().max()) <= bound and float(w.std()) > bound / 2
    assert len({tuple(r[:50].tolist()) for r in w}) == w.shape[0]  # rows differ
    state = model.state_dict()
    full = reference_weights.materialize(state)
    assert state["0.weight"] is w.detach() or not state["0.weight"].is_contiguous()
    assert full["0.weight"].is_contiguous() and torch.equal(full["0.weight"], w)
    assert getattr(full, "_metadata", None) == getattr(state, "_metadata", None)


def test_compact_conv_weights_are_ordinary_for_the_student():
    from torch import nn

    conv = nn.Conv2d(512, 256, 3, bias=False)
    reference_weights.randomize_(conv, 4)
    w = conv.weight
    assert not w.is_contiguous() and w.untyped_storage().nbytes() < w.numel() * 4 // 16
    bound = (6.0 / w[0].numel()) ** 0.5
    assert float(w.abs().max()) <= bound and float(w.std()) > bound / 2
    filters = w.contiguous()
    assert len({tuple(f.flatten()[:50].tolist()) for f in filters}) == w.shape[0]
    # no filter is another moved by whole kernel rows or whole input channels
    step = w.stride()[0]
    assert step % 3 and step % 7 and step % 9
    full = reference_weights.materialize(conv.state_dict())
    assert full["weight"].is_contiguous() and torch.equal(full["weight"], w)


def test_materialize_reuses_a_copy_only_when_nothing_holds_it():
    from torch import nn

    def compact_state(seed):
        model = nn.Linear(64 * 1024 + 7, 70)
        reference_weights.randomize_(model, seed)
        return model.state_dict()

    first, second = compact_state(1), compact_state(2)
    held = reference_weights.materialize(first)  # held: a model still uses these
    again = reference_weights.materialize(second)
    assert again["weight"].data_ptr() != held["weight"].data_ptr()
    assert torch.equal(held["weight"], first["weight"]) and torch.equal(again["weight"],
                                                                         second["weight"])
    ptr = again["weight"].data_ptr()
    del again, held
    reused = reference_weights.materialize(first)
    assert reused["weight"].data_ptr() == ptr and torch.equal(reused["weight"], first["weight"])
    # a model's parameter made of the copy holds it too
    param = nn.Parameter(reused.pop("weight"))
    assert reference_weights.materialize(second)["weight"].data_ptr() != ptr
    del param
    # the grader's own copies are neither spares nor kept; a model without compact weights
    # drops the spares
    spare = next(iter(reference_weights._SPARE.values())).data_ptr()
    assert reference_weights.materialize(first, reuse=False)["weight"].data_ptr() != spare
    assert next(iter(reference_weights._SPARE.values())).data_ptr() == spare
    reference_weights.materialize({"weight": torch.zeros(3)})
    assert not reference_weights._SPARE



def test_materialize_lets_go_of_unusable_spares_before_it_copies(monkeypatch):
    """A model whose big weights have other shapes than the last one's: the last one's
    spares are dropped before the new copies are made, so the two never add up."""
    from torch import nn

    def compact_state(rows, seed):
        model = nn.Linear(64 * 1024 + 7, rows)
        reference_weights.randomize_(model, seed)
        return model.state_dict()

    first, other = compact_state(70, 1), compact_state(90, 2)
    del reference_weights.materialize(first)["weight"]
    assert [k[0] for k in reference_weights._SPARE] == [(70, 64 * 1024 + 7)]
    held_while_copying = []
    real = torch.Tensor.contiguous

    def spying(self, *args, **kwargs):
        held_while_copying.append([k[0] for k in reference_weights._SPARE])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "contiguous", spying)
    copy = reference_weights.materialize(other)["weight"]
    monkeypatch.undo()
    assert held_while_copying == [[]] and torch.equal(copy, other["weight"])
    assert [k[0] for k in reference_weights._SPARE] == [(90, 64 * 1024 + 7)]

def test_frozen_weights_share_the_largest_ones_buffer():
    """share_frozen: the largest frozen weight is copied out as materialize copies it, each
    smaller one of its dtype is a view of that copy's first elements (no memory of its own),
    and what is not frozen, or cannot fit, is as materialize leaves it."""
    from torch import nn

    model = nn.Sequential(nn.Linear(64 * 1024 + 7, 70), nn.Linear(70, 600),
                          nn.Linear(600, 500), nn.Linear(500, 3))
    reference_weights.randomize_(model, 5)
    state = model.state_dict()
    state["3.weight"] = state["3.weight"].double()
    before = {k: t.clone() for k, t in state.items()}
    frozen = ["0.weight", "1.weight", "3.weight", "not.in.the.state"]
    shared = reference_weights.share_frozen(state, frozen)
    big = shared["0.weight"]
    assert big.is_contiguous() and torch.equal(big, before["0.weight"])
    small = shared["1.weight"]
    assert small.untyped_storage().data_ptr() == big.untyped_storage().data_ptr()
    assert torch.equal(small.reshape(-1), big.reshape(-1)[:small.numel()])
    assert small.shape == (600, 70) and small.is_contiguous()
    # not frozen, or another dtype: values and storage of their own
    for name in ("2.weight", "3.weight", "0.bias"):
        assert torch.equal(shared[name], before[name])
        assert shared[name].untyped_storage().data_ptr() != big.untyped_storage().data_ptr()
    assert all(torch.equal(state[k], before[k]) for k in state)  # the input is not changed
    assert reference_weights.share_frozen(state, ["0.weight"]) is state  # nothing to share


def test_a_sandbox_keeps_one_set_of_spare_copies_across_probe_installs():
    ns: dict = {}
    exec(probes.installer_source("probe_forward"), ns)
    spares = ns["__cnnlab_probes__"]["_SPARE"]
    exec(probes.installer_source("probe_train"), ns)
    assert ns["__cnnlab_probes__"]["_SPARE"] is spares is ns["__cnnlab_spare_copies__"]


def test_sgd_step_is_torch_optim_sgd():
    from torch import nn

    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    b = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(4, 5), torch.tensor([0, 1, 2, 1])
    opt = torch.optim.SGD(a.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(a(x), y).backward()
        opt.step()
        for p in b.parameters():
            p.grad = None
        nn.functional.cross_entropy(b(x), y).backward()
        model_probes.sgd_step(list(b.parameters()), 0.1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_each_probe_is_installed_with_all_it_uses():
    """The installer compiles only the probe's own definitions in the sandbox: every name
    they use is there, without importing the autograder."""
    import ast
    import builtins

    full = {k: v for m in probes.PROBE_MODULES
            for k, v in vars(importlib.import_module(m)).items()}
    real_import = builtins.__import__

    def guarded_import(name, *args, **kwargs):
        if name == "autograder" or name.startswith("autograder."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    for name in [n for n in full if n.startswith("probe_")]:
        source = probes.probe_source(name)
        assert len(source) < len(probes.probe_source(None))
        ns = {"__builtins__": {**vars(builtins), "__import__": guarded_import}}
        exec(probes.installer_source(name), ns)
        installed = ns["__cnnlab_probes__"]
        used = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
        missing = [n for n in used if n in full and n not in installed]
        assert not missing, (name, missing)


def test_the_reference_side_is_computed_once_per_process(monkeypatch):
    env = namespace("solutions.cnn_architectures")
    builds = []
    real = checks.reference_model
    monkeypatch.setattr(checks, "reference_model", lambda *a, **k: builds.append(a[1]) or real(*a, **k))
    s = checks.spec("VGG", [8, "M", 512, "M"], num_classes=3)
    # a later use writes the weights in full: same values, same outputs
    for _ in range(checks.FULL_WEIGHTS_FROM_USE + 1):
        checks.check_outputs(env, s, [(32, 32)], dtype=torch.float32)
    assert len(builds) == 1
    entry = checks._WEIGHTS[checks._weights_key(s, torch.float32, (0.5, 1.5))]
    assert not entry["compact"] and oct(entry["stat"][3] & 0o777) == "0o644"
    # a file changed behind the grader's back is written afresh
    with open(entry["path"], "r+b") as f:
        f.seek(100)
        f.write(b"\0")
    checks.check_outputs(env, s, [(32, 32)], dtype=torch.float32)
    assert len(builds) == 2


def test_a_sandbox_gets_the_cached_weights_hard_linked_read_only(tmp_path):
    import os

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    staged = []

    class Sandbox:
        pass

    class LinkingEnv(dict):
        _sandbox = Sandbox()

        def stage(self, tensors):  # only when linking cannot be done
            staged.append(tensors)
            raise AssertionError("staged, not linked")

        def run_probe(self, name, *args):
            if name == "probe_forward":
                assert os.path.dirname(args[1]) == str(inbox)
                assert os.stat(args[1]).st_mode & 0o777 == 0o644
            return probes.probe_function(name)(dict(self), *args)

    LinkingEnv._sandbox.inbox = str(inbox)
    env = LinkingEnv(namespace("solutions.cnn_architectures"))
    checks.check_basic_block_outputs(env)
    assert not staged and len(list(inbox.iterdir())) == 4


def test_vgg_smoke_test_trains_the_reference_weights_and_still_catches_no_grad(
        monkeypatch):
    """VGG-11-BN's smoke test loads the reference's randomized weights (no initialisation of
    129M weights) and trains them: a forward under no_grad still fails it, and a classifier
    those weights do not fit (the vgg question's mistake) trains its own initialisation and
    costs no training points."""
    ref = "solutions.cnn_architectures"
    no_grad = mutated(ref, [inside("VGG.forward", "        x = self.features(x)",
                                   "        with torch.no_grad():\n"
                                   "            return self._forward(x)\n\n"
                                   "    def _forward(self, x):\n"
                                   "        x = self.features(x)")])
    assert failure(checks.check_vgg_outputs, no_grad) is None  # eval outputs are right
    message = failure(checks.check_training_vgg11_bn, no_grad)
    assert message is not None and "training `vgg11" in message, message
    narrow = mutated(ref, [inside("VGG.__init__", "nn.Linear(4096, 4096)",
                                  "nn.Linear(4096, 2048)"),
                           inside("VGG.__init__", "nn.Linear(4096, num_classes)",
                                  "nn.Linear(2048, num_classes)")])
    assert failure(checks.check_vgg_structure, narrow) is not None
    assert failure(checks.check_training_vgg11_bn, narrow) is None
    calls = []
    real = probes.run_probe

    def spy(env, name, *args):
        calls.append((name, args))
        return real(env, name, *args)

    monkeypatch.setattr(checks, "run_probe", spy)
    assert failure(checks.check_training_vgg11_bn, namespace(ref)) is None
    (name, args), = calls
    assert name == "probe_train" and isinstance(args[-1], str)  # a staged weights file
