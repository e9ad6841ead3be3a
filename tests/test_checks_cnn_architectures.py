"""The hidden checks of `cnn_architectures`, run directly on student namespaces (no Otter):
the reference and a differently written correct solution pass every check, the blank stubs
fail every check with "not implemented", and each catalogued mistake fails its question
with feedback that names it."""
from __future__ import annotations

import pytest
import torch

from autograder.checks import cnn_architectures as checks
from autograder.checks import torch_utils
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
    monkeypatch.setattr(torch_utils, "BUILD_TIMEOUT", 1.0)
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
            return getattr(torch_utils, name)(dict(self), *args)

    env = SandboxEnv(namespace("solutions.cnn_architectures"))
    checks.check_basic_block_outputs(env)
    assert calls and set(calls) <= {"probe_forward", "probe_structure"}


def test_randomized_reference_is_seeded_and_covers_batchnorm_statistics():
    s = checks.spec("BasicBlock", 4, 8, stride=2)
    a = torch_utils.reference_model(checks.REFERENCE, s, 1).state_dict()
    b = torch_utils.reference_model(checks.REFERENCE, s, 1).state_dict()
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
    probes = student["__cnnlab_probes__"]
    assert probes["StudentTimeout"] is not torch_utils.StudentTimeout  # the fallback ran


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
        ("x = self.avgpool(x)\n        x = torch.flatten(x, 1)                                      "
         "# N x 9216", "x = nn.functional.adaptive_avg_pool2d(x, (6, 6))\n"
         "        x = torch.flatten(x, 1)")])
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
