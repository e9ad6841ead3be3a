"""Hidden checks for `cnn_costs` (PLACEHOLDER: one check per question, to be replaced by the
full module; keep the QUESTIONS API: question name -> list of check functions of `env`)."""
from __future__ import annotations

from autograder.checks.common import call, student_function
from autograder.mistakes import diagnose, same_value
from solutions import cnn_costs as ref

# A few lecture layers per function; the full module draws many more with Hypothesis.
CASES = {
    "conv_output_size": [(227, 11, 4, 2), (224, 3, 1, 1), (32, 5, 1, 0), (28, 5, 2, 2), (7, 3, 2, 0)],
    "pool_output_size": [(55, 3, 2, 0), (224, 2, None, 0), (13, 3, 2, 0), (9, 3, None, 1)],
    "conv_params": [(3, 64, 11, True), (64, 192, 5, True), (256, 256, 3, False)],
    "conv_flops": [(3, 227, 227, 64, 11, 4, 2), (64, 27, 27, 192, 5, 1, 2), (3, 32, 20, 8, 3, 2, 1)],
    "pool_flops": [(64, 55, 55, 3, 2, 0), (512, 14, 14, 2, None, 0), (16, 9, 7, 3, None, 1)],
    "fc_params": [(9216, 4096, True), (4096, 1000, False), (500, 10, True)],
    "fc_flops": [(9216, 4096), (500, 10)],
    "memory_kb": [(200704,), (1000,), (0,)],
}


def _check_values(env: dict, name: str) -> None:
    fn = student_function(env, name)
    for args in CASES[name]:
        got = call(fn, *args)
        want = getattr(ref, name)(*args)
        if not same_value(got, want) or type(got) is not type(want):
            mistake = diagnose(name, args, {}, got)
            hint = f": it looks like you {mistake.description}" if mistake else ""
            raise AssertionError(f"`{name}{args}` returned {got!r}, which is wrong{hint}")


def check_conv_output_size_values(env): _check_values(env, "conv_output_size")
def check_pool_output_size_values(env): _check_values(env, "pool_output_size")
def check_conv_params_values(env): _check_values(env, "conv_params")
def check_conv_flops_values(env): _check_values(env, "conv_flops")
def check_pool_flops_values(env): _check_values(env, "pool_flops")
def check_fc_params_values(env): _check_values(env, "fc_params")
def check_fc_flops_values(env): _check_values(env, "fc_flops")
def check_memory_kb_values(env): _check_values(env, "memory_kb")


def check_cost_table_alexnet(env):
    fn = student_function(env, "cost_table")
    rows = call(fn, ref.ALEXNET_INPUT, [dict(layer) for layer in ref.ALEXNET_LAYERS])
    want = ref.cost_table(ref.ALEXNET_INPUT, ref.ALEXNET_LAYERS)
    if not isinstance(rows, list) or len(rows) != len(want):
        raise AssertionError("`cost_table` must return a list with one row per layer")
    for got, exp in zip(rows, want):
        for key in ("output_shape", "memory_kb", "params", "flops"):
            if not isinstance(got, dict) or not same_value(got.get(key), exp[key]):
                raise AssertionError(f"`cost_table` on AlexNet: row {exp['name']} has a wrong {key}")


QUESTIONS = {
    "conv_output_size": [check_conv_output_size_values],
    "pool_output_size": [check_pool_output_size_values],
    "conv_params": [check_conv_params_values],
    "conv_flops": [check_conv_flops_values],
    "pool_flops": [check_pool_flops_values],
    "fc_params": [check_fc_params_values],
    "fc_flops": [check_fc_flops_values],
    "memory_kb": [check_memory_kb_values],
    "cost_table": [check_cost_table_alexnet],
}
