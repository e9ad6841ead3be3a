"""Issue 17: every promise of the contract is a check. autograder/promises.py lists each
promise of shared/contract.md with the hidden checks that catch a breach of it and the
catalogued mutants that prove they do; this file keeps that table honest:

(a) every promise is covered (a check and a mutant, or a stated leniency); today's gaps are
    expected failures, strict, so filling one turns the suite red until its entry below goes;
(b) every check and mutant the table names exists;
(c) the table covers the contract: every name, argument and field of its tables (and of the
    cost_table paragraph) appears in a promise;
(d) for cnn_costs, the table is what the checks do: one breaker per promise (the reference
    with that promise alone broken) is run against the checks, and the checks that fail
    must be exactly the ones listed; a breaker no check catches must still be seen to break
    its promise, on a witness call; and every listed mutant fails a listed check.
The torch assignments' lists were filled by reading the checks and running their source
mutants and hand-made breakers against them (too slow to repeat here: minutes per mutant).
"""
from __future__ import annotations

import copy
import importlib
import inspect
import re
from pathlib import Path

import pytest

from autograder import mistakes, mutants, promises
from autograder.checks import cnn_costs as cost_checks
from autograder.promises import PROMISES
from solutions import cnn_costs as ref
from student_variants import failure

ROOT = Path(__file__).resolve().parent.parent
BY_ID = {p.id: p for p in PROMISES}


# ---------------------------------------------------------------------------------------
# (a) Every promise is covered; the gaps of today, one by one
# ---------------------------------------------------------------------------------------

# Promises that no check enforces: an implementation that breaks only them keeps full marks.
NO_CHECK = {
    # The two cnn_costs blind spots of the issue, first.
    "pool_output_size.range_stride": "no check calls stride=0 (only -1 and -2): `stride = "
                                     "stride or kernel` keeps full marks",
    "cost_table.row_output_shape_tuple": "output_shape may be a list: no check looks at "
                                         "the tuple",
    "pool_flops.range_stride": "no check calls stride=0 (stride or kernel)",
    "pool_flops.range_padding": "no check calls padding=-1 with nothing else wrong",
    "pool_flops.range_kernel": "no check calls kernel=0 with an explicit stride",
    "conv_output_size.range_size": "size=0 is only called where the kernel does not fit "
                                   "either (size 0 with padding is never called)",
    "pool_output_size.range_size": "size=0 is only called where the kernel does not fit",
    "conv_flops.range_height": "height=0 (with padding that fits the kernel) is never called",
    "conv_flops.range_width": "width=0 is never called",
    "conv_flops.range_fit": "no kernel exactly one larger than the padded height or width",
    "pool_flops.range_height": "height=0 is never called",
    "pool_flops.range_width": "width=0 is never called",
    "memory_kb.returns_float": "an int is accepted where the KB are whole",
    "cost_table.returns_list": "a tuple of rows is accepted",
    "cost_table.row_memory_kb_float": "an int memory_kb is accepted in a row",
    "cost_table.range_layer": "no check gives cost_table a layer out of range",
    "cost_table.no_in_place": "the checks hand cost_table copies and never compare the "
                              "layers afterwards",
    "AlexNet.name_avgpool": "avgpool has no parameters: the state_dict does not show its name",
    "VGG.name_avgpool": "avgpool has no parameters: the state_dict does not show its name",
    "VGG.defaults": "every check passes VGG's num_classes and batch_norm",
    "vgg_builders.default_batch_norm": "only vgg11's default batch_norm is ever used",
    "BasicBlock.default_stride": "every check passes the block's stride",
    "Bottleneck.default_stride": "every check passes the block's stride",
    "ResNet.names_without_parameters": "relu, maxpool and avgpool have no parameters: the "
                                       "state_dict does not show their names",
    "ResNet.default_num_classes": "every check passes ResNet's num_classes",
    "two_layer_forward_backward.default_reg": "reg is always passed where it matters (y given)",
    "train_two_layer.default_seed": "every check passes seed",
    "train_two_layer.device": "no check looks at where training runs (on a CPU grader it "
                              "cannot)",
}

# Promises a check enforces but no catalogued mutant breaks, so `cnnlab mutants` does not
# prove the check catches them.
NO_MUTANT = {
    "conv_output_size.floor", "conv_output_size.default_stride",
    "conv_output_size.default_padding", "conv_output_size.range_kernel",
    "conv_output_size.range_stride", "conv_output_size.range_padding",
    "conv_output_size.range_fit", "conv_output_size.error_names_argument",
    "conv_output_size.returns_int",
    "pool_output_size.floor", "pool_output_size.default_stride",
    "pool_output_size.default_padding", "pool_output_size.range_kernel",
    "pool_output_size.range_padding", "pool_output_size.range_fit",
    "pool_output_size.range_pool_padding", "pool_output_size.error_names_argument",
    "pool_output_size.returns_int",
    "conv_params.default_bias", "conv_params.range_in_channels",
    "conv_params.range_out_channels", "conv_params.range_kernel",
    "conv_params.error_names_argument", "conv_params.returns_int",
    "conv_flops.separate_h_w", "conv_flops.default_stride", "conv_flops.default_padding",
    "conv_flops.range_in_channels", "conv_flops.range_out_channels", "conv_flops.range_kernel",
    "conv_flops.range_stride", "conv_flops.range_padding", "conv_flops.error_names_argument",
    "conv_flops.returns_int",
    "pool_flops.separate_h_w", "pool_flops.default_stride", "pool_flops.stride_none_is_kernel",
    "pool_flops.default_padding", "pool_flops.range_channels", "pool_flops.range_fit",
    "pool_flops.range_pool_padding", "pool_flops.error_names_argument",
    "pool_flops.returns_int",
    "fc_params.default_bias", "fc_params.range_in_features", "fc_params.range_out_features",
    "fc_params.error_names_argument", "fc_params.returns_int",
    "fc_flops.range_in_features", "fc_flops.range_out_features",
    "fc_flops.error_names_argument", "fc_flops.returns_int",
    "memory_kb.range_num_elements", "memory_kb.error_names_argument",
    "cost_table.row_per_layer_in_order", "cost_table.worked_examples",
    "cost_table.conv_default_stride", "cost_table.conv_default_padding",
    "cost_table.conv_default_bias", "cost_table.conv_bias_flag",
    "cost_table.pool_default_padding", "cost_table.fc_default_bias", "cost_table.row_keys",
    "cost_table.row_name", "cost_table.row_type", "cost_table.row_output_shape",
    "cost_table.row_output_shape_ints", "cost_table.row_memory_kb", "cost_table.row_params",
    "cost_table.row_params_int", "cost_table.row_flops", "cost_table.row_flops_int",
    "AlexNet.state_dict", "AlexNet.variant", "AlexNet.dropout", "AlexNet.names",
    "AlexNet.num_classes", "AlexNet.default_num_classes", "AlexNet.param_count",
    "VGG.state_dict", "VGG.avgpool_adaptive", "VGG.names", "VGG.param_count",
    "vgg_builders.default_num_classes",
    "BasicBlock.expansion", "BasicBlock.state_dict", "Bottleneck.state_dict",
    "ResNet.names", "ResNet.state_dict", "resnet_builders.default_num_classes",
    "resnet_builders.param_count",
    "softmax_loss.no_autograd", "softmax_loss.returns_pair", "softmax_loss.loss_0dim",
    "softmax_loss.dscores_shape", "softmax_loss.float_dtypes",
    "two_layer_forward_backward.no_autograd", "two_layer_forward_backward.scores_without_y",
    "two_layer_forward_backward.returns_loss_grads", "two_layer_forward_backward.grads_keys",
    "train_two_layer.no_autograd", "train_two_layer.returns_dict",
    "train_two_layer.val_accuracy", "train_two_layer.seed_reproducible",
    "train_two_layer.no_in_place",
}


def _gap_reason(p) -> str | None:
    if p.id in NO_CHECK:
        return f"issue 17 gap: {NO_CHECK[p.id]}"
    if p.id in NO_MUTANT:
        return f"issue 17 gap: no catalogued mutant breaks it (checked by {', '.join(p.checks)})"
    return None


def _with_gaps(items):
    return [pytest.param(p, id=p.id, marks=pytest.mark.xfail(strict=True, reason=_gap_reason(p)))
            if _gap_reason(p) else pytest.param(p, id=p.id) for p in items]


@pytest.mark.parametrize("promise", _with_gaps(PROMISES))
def test_every_promise_has_a_check_and_a_mutant(promise):
    assert promise.lenient or promise.checks, "no check fails when it is broken"
    assert promise.lenient or promise.mutants, "no catalogued mutant breaks it"


def test_the_gap_lists_name_promises_of_the_table():
    assert set(NO_CHECK) <= set(BY_ID), set(NO_CHECK) - set(BY_ID)
    assert NO_MUTANT <= set(BY_ID), NO_MUTANT - set(BY_ID)
    assert not set(NO_CHECK) & NO_MUTANT
    # a gap of the check kind has no check in the table; one of the mutant kind has checks
    assert all(not BY_ID[i].checks for i in NO_CHECK)
    assert all(BY_ID[i].checks and not BY_ID[i].mutants for i in NO_MUTANT)
    assert {p.id for p in promises.gaps()} == set(NO_CHECK) | NO_MUTANT


# ---------------------------------------------------------------------------------------
# (b) Every check and mutant named exists
# ---------------------------------------------------------------------------------------

def _registered_checks(assignment: str) -> set[str]:
    module = importlib.import_module(f"autograder.checks.{assignment}")
    return {check.__name__ for found in module.QUESTIONS.values() for check in found}


def _catalogued_mutants(assignment: str) -> set[str]:
    ids = {m.id for m in mutants.SOURCE_MUTANTS if m.assignment == assignment}
    return ids | (set(mistakes.BY_ID) if assignment == "cnn_costs" else set())


@pytest.mark.parametrize("assignment", promises.ASSIGNMENTS)
def test_named_checks_and_mutants_exist(assignment):
    checks, catalogued = _registered_checks(assignment), _catalogued_mutants(assignment)
    for p in promises.for_assignment(assignment):
        assert set(p.checks) <= checks, (p.id, set(p.checks) - checks)
        assert set(p.mutants) <= catalogued, (p.id, set(p.mutants) - catalogued)
        assert len(set(p.checks)) == len(p.checks) and len(set(p.mutants)) == len(p.mutants)


def test_promises_are_well_formed():
    assert len(BY_ID) == len(PROMISES), "promise ids must be unique"
    for p in PROMISES:
        assert p.assignment in promises.ASSIGNMENTS and p.kind in promises.KINDS, p.id
        # "<function>.<aspect>"; a group of builders or the whole assignment ("*") aside
        assert p.id.split(".")[0] == p.function or "," in p.function or p.function == "*", p.id
        assert p.text.strip() and (p.lenient is None or p.lenient.strip()), p.id


# ---------------------------------------------------------------------------------------
# (c) The table covers the contract
# ---------------------------------------------------------------------------------------

def _contract() -> str:
    for path in (ROOT / "shared" / "contract.md", ROOT.parent / "shared" / "contract.md"):
        if path.exists():
            return path.read_text()
    pytest.skip("shared/contract.md is not next to this checkout")


def _sections(text: str) -> dict[str, str]:
    """assignment name -> its section of the contract."""
    found = {}
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        m = re.match(r"Assignment `(\w+)`", part)
        if m:
            found[m.group(1)] = part
    return found


def _table_rows(section: str) -> list[list[str]]:
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not re.match(r"\|\s*-", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows[1:] if rows else rows  # without the header


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _contract_entries(assignment: str) -> list[tuple[str, list[str], set[str]]]:
    """(name, its arguments, the identifiers its description cell puts in backticks) for
    every name of the assignment's table."""
    entries = []
    for first, second in (row[:2] for row in _table_rows(_sections(_contract())[assignment])):
        spans = re.findall(r"`([^`]*)`", first)
        names, args = [], []
        for span in spans:
            m = re.match(r"(\w+)\s*(?:\((.*)\))?$", span)
            if m:
                names.append(m.group(1))
                if m.group(2) is not None:
                    args = _arguments(m.group(2))
            elif span.startswith("("):
                args = _arguments(span[1:-1])
        described = {w for span in re.findall(r"`([^`]*)`", second) for w in _words(span)
                     if len(w) > 1}
        entries += [(name, args, described) for name in names]
    return entries


def _arguments(inside: str) -> list[str]:
    return [a.split("=")[0].strip() for a in inside.split(",") if a.strip()]


def _promises_of(assignment: str, name: str):
    return [p for p in promises.for_assignment(assignment) if name in _words(p.function)]


def test_the_contract_has_these_assignments():
    assert set(_sections(_contract())) == set(promises.ASSIGNMENTS)


@pytest.mark.parametrize("assignment", promises.ASSIGNMENTS)
def test_every_name_argument_and_field_of_the_contract_has_a_promise(assignment):
    entries = _contract_entries(assignment)
    assert entries
    missing = []
    for name, args, described in entries:
        found = _promises_of(assignment, name)
        if not found:
            missing.append(name)
            continue
        said = set().union(*(_words(p.text) for p in found))
        missing += [f"{name}: {w}" for w in [*args, *sorted(described)] if w not in said]
    assert not missing, missing
    names = {name for name, _, _ in entries}
    for p in promises.for_assignment(assignment):
        listed = {w for w in _words(p.function) if w in names}
        assert listed or p.function == "*", f"{p.id}: {p.function} is not in the contract"


def _cost_table_paragraph() -> str:
    section = _sections(_contract())["cnn_costs"]
    start = section.index("`input_shape` is")
    return section[start:section.index("\n\n", start)]


def test_every_layer_key_and_row_field_of_cost_table_has_a_promise():
    paragraph = _cost_table_paragraph()
    said = set().union(*(_words(p.text) for p in _promises_of("cnn_costs", "cost_table")))
    keys = {w for span in re.findall(r"`([^`]*)`", paragraph) for w in _words(span)
            if len(w) > 1}
    assert not keys - said, keys - said
    row = re.search(r"Each row is a dict with (.*?)\. ", paragraph, flags=re.S).group(1)
    fields = re.findall(r"`(\w+)`", row)
    assert fields == ["name", "type", "output_shape", "memory_kb", "params", "flops"]
    table = _promises_of("cnn_costs", "cost_table")
    for field in fields:
        kinds = {p.kind for p in table if field in _words(p.text)}
        assert "row_field" in kinds, field
        # the contract fixes the type of every field but name and type, which it leaves open
        if field not in ("name", "type"):
            assert "row_field_type" in kinds, field


# ---------------------------------------------------------------------------------------
# (d) cnn_costs: the table is what the checks do
# ---------------------------------------------------------------------------------------
#
# A breaker is the reference with one promise broken and every other kept. For a range, it
# lets through the first value past the range (stride 0, padding -1, a kernel one larger
# than the padded input) where that is the only thing wrong, and answers it with the bare
# formula; a check catches it only by calling just outside with nothing else wrong.

def _bound(name, args, kwargs) -> dict:
    bound = inspect.signature(getattr(ref, name)).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _stride(a):
    return a["kernel"] if a.get("stride", 1) is None else a.get("stride", 1)


def _out(size, a):
    return (size - a["kernel"] + 2 * a["padding"]) // _stride(a) + 1


def _sizes(a):
    return [a["size"]] if "size" in a else [a["height"], a["width"]]


def _over(a):
    """How far the kernel overshoots the padded input, in its worse dimension."""
    return max(a["kernel"] - (s + 2 * a["padding"]) for s in _sizes(a))


def _count(arg, low):
    return {arg: (lambda a: a[arg] < low, lambda a: a[arg] == low - 1)}


# rule -> (the reference raises for it, the argument is just outside)
_WINDOW = {
    "kernel": (lambda a: a["kernel"] < 1, lambda a: a["kernel"] == 0),
    "stride": (lambda a: _stride(a) < 1, lambda a: _stride(a) == 0),  # None: the kernel
    "padding": (lambda a: a["padding"] < 0, lambda a: a["padding"] == -1),
    "fit": (lambda a: _over(a) > 0, lambda a: _over(a) == 1),
}
_POOL = {"pool_padding": (lambda a: a["padding"] > a["kernel"] // 2,
                          lambda a: a["padding"] == a["kernel"] // 2 + 1)}
_HW = {**_count("height", 1), **_count("width", 1)}
RULES = {
    "conv_output_size": {**_count("size", 1), **_WINDOW},
    "pool_output_size": {**_count("size", 1), **_WINDOW, **_POOL},
    "conv_params": {**_count("in_channels", 1), **_count("out_channels", 1),
                    **_count("kernel", 1)},
    "conv_flops": {**_count("in_channels", 1), **_count("out_channels", 1), **_HW, **_WINDOW},
    "pool_flops": {**_count("channels", 1), **_HW, **_WINDOW, **_POOL},
    "fc_params": {**_count("in_features", 1), **_count("out_features", 1)},
    "fc_flops": {**_count("in_features", 1), **_count("out_features", 1)},
    "memory_kb": _count("num_elements", 0),
}

# The formulas with no argument checking at all (a ZeroDivisionError is a breach too).
BARE = {
    "conv_output_size": lambda a: _out(a["size"], a),
    "pool_output_size": lambda a: _out(a["size"], a),
    "conv_params": lambda a: a["out_channels"] * a["in_channels"] * a["kernel"] ** 2
    + (a["out_channels"] if a["bias"] else 0),
    "conv_flops": lambda a: a["out_channels"] * _out(a["height"], a) * _out(a["width"], a)
    * a["in_channels"] * a["kernel"] ** 2,
    "pool_flops": lambda a: a["channels"] * _out(a["height"], a) * _out(a["width"], a)
    * a["kernel"] ** 2,
    "fc_params": lambda a: a["in_features"] * a["out_features"]
    + (a["out_features"] if a["bias"] else 0),
    "fc_flops": lambda a: a["in_features"] * a["out_features"],
    "memory_kb": lambda a: a["num_elements"] * 4 / 1024,
}


def _student(name, body, signature=None):
    """A student's `name`: `body(arguments with defaults, args, kwargs)`."""
    signature = signature or inspect.signature(getattr(ref, name))

    def fn(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return body(dict(bound.arguments), args, kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__signature__ = signature
    return name, fn


def lets_through(name, rule):
    def body(a, args, kwargs):
        broken = [r for r, (raises, _) in RULES[name].items() if raises(a)]
        if broken == [rule] and RULES[name][rule][1](a):
            return BARE[name](a)
        return getattr(ref, name)(**a)
    return _student(name, body)


def on_valid(name, change):
    """The reference, with `change(value, arguments)` on what it returns."""
    return _student(name, lambda a, args, kwargs: change(getattr(ref, name)(**a), a))


def with_defaults(name, **defaults):
    signature = inspect.signature(getattr(ref, name))
    signature = signature.replace(parameters=[
        p.replace(default=defaults[p.name]) if p.name in defaults else p
        for p in signature.parameters.values()])
    return _student(name, lambda a, args, kwargs: getattr(ref, name)(**a), signature)


def vague_errors(name):
    def body(a, args, kwargs):
        try:
            return getattr(ref, name)(**a)
        except ValueError:
            raise ValueError("invalid arguments") from None
    return _student(name, body)


def truncating(name):
    """Truncation toward zero, a kernel that does not fit judged by the output being < 1."""
    def body(a, args, kwargs):
        if [r for r, (raises, _) in RULES[name].items() if raises(a)] == ["fit"]:
            out = int((a["size"] - a["kernel"] + 2 * a["padding"]) / _stride(a)) + 1
            if out >= 1:
                return out
            raise ValueError("the kernel is larger than the padded input")
        return getattr(ref, name)(**a)
    return _student(name, body)


def square_only(name):
    """W' computed from the height too."""
    return on_valid(name, lambda value, a: getattr(ref, name)(**{**a, "width": a["height"]}))


def stride_none_is_one(name):
    return on_valid(name, lambda value, a: value if a["stride"] is not None
                    else getattr(ref, name)(**{**a, "stride": 1}))


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _row(layer, shape, params, flops):
    return {"name": layer.get("name", layer.get("type")), "type": layer.get("type"),
            "output_shape": tuple(shape), "memory_kb": ref.memory_kb(_numel(shape)),
            "params": params, "flops": flops}


def table(rows=None, reading=None, instead=None):
    """A cost_table: the reference's rows through `rows(row, layer)`, or the reference
    reading each layer through `reading(layer copy) -> layer`, or `instead(input_shape,
    layers)` where it returns rows."""
    def cost_table(input_shape, layers):
        if instead:
            found = instead(input_shape, layers)
            if found is not None:
                return found
        read = [reading(dict(l)) for l in layers] if reading else layers
        table_rows = ref.cost_table(input_shape, read)
        if rows:
            for row, layer in zip(table_rows, layers):
                rows(row, layer)
        return table_rows
    return "cost_table", cost_table


def table_result(change):
    return "cost_table", lambda input_shape, layers: change(ref.cost_table(input_shape, layers))


def default(kind, key, value):
    return lambda l: {**l, key: l.get(key, value)} if l["type"] == kind else l


def forced(kind, key, value):
    return lambda l: {**l, key: value} if l["type"] == kind else l


def set_field(key, change):
    def rows(row, layer):
        row[key] = change(row[key])
    return rows


def fc_takes_channels(input_shape, layers):
    rows, shape = [], tuple(input_shape)
    for layer in layers:
        at = (shape[0],) if layer["type"] == "fc" and len(shape) == 3 else shape
        out, params, flops = ref.layer_costs(at, layer)
        rows.append(_row(layer, out, params, flops))
        shape = out
    return rows


def unknown_type_row(input_shape, layers):
    if all(l.get("type") in ref.LAYER_TYPES for l in layers):
        return None
    rows, shape = [], tuple(input_shape)
    for layer in layers:
        out, params, flops = (ref.layer_costs(shape, layer) if layer["type"] in ref.LAYER_TYPES
                              else (shape, 0, 0))
        rows.append(_row(layer, out, params, flops))
        shape = out
    return rows


def no_validation(input_shape, layers):
    """The formulas inline, no argument checking: a layer out of range gets a row."""
    rows, shape = [], tuple(input_shape)
    for layer in layers:
        kind = layer["type"]
        if kind in ("conv", "pool"):
            c, h, w = shape
            a = {"kernel": layer["kernel"], "padding": layer.get("padding", 0),
                 "stride": layer.get("stride", 1 if kind == "conv" else None)}
            size = (_out(h, a), _out(w, a))
            if kind == "conv":
                cout = layer["out_channels"]
                out = (cout, *size)
                params = cout * c * a["kernel"] ** 2 + (cout if layer.get("bias", True) else 0)
                flops = _numel(out) * c * a["kernel"] ** 2
            else:
                out, params = (c, *size), 0
                flops = _numel(out) * a["kernel"] ** 2
        elif kind == "flatten":
            out, params, flops = (_numel(shape),), 0, 0
        elif kind == "fc":
            n, cout = _numel(shape), layer["out_features"]
            out = (cout,)
            params, flops = n * cout + (cout if layer.get("bias", True) else 0), n * cout
        else:
            raise ValueError(f"unknown layer type {kind!r}")
        rows.append(_row(layer, out, params, flops))
        shape = out
    return rows


def fills_in_defaults(input_shape, layers):
    for layer in layers:
        if layer["type"] == "conv":
            layer.setdefault("stride", 1)
            layer.setdefault("padding", 0)
    return None


def off_on_the_lecture_nets(rows):
    if any(len(rows) == len(net) and all(r["name"] == l["name"] for r, l in zip(rows, net))
           for net in (ref.LENET5_LAYERS, ref.ALEXNET_LAYERS, ref.VGG16_LAYERS)):
        rows[-1]["params"] += 1
    return rows


def _int_when_whole(v):
    return int(v) if v == int(v) else v


BREAKERS = {}
for _name, _rules in RULES.items():
    for _rule in _rules:
        BREAKERS[f"{_name}.range_{_rule}"] = lets_through(_name, _rule)
    BREAKERS[f"{_name}.error_names_argument"] = vague_errors(_name)
    if _name != "memory_kb":
        BREAKERS[f"{_name}.value"] = on_valid(_name, lambda v, a: v + 1)
        BREAKERS[f"{_name}.returns_int"] = on_valid(_name, lambda v, a: float(v))
BREAKERS.update({
    "memory_kb.value": on_valid("memory_kb", lambda v, a: v * 1.001),
    "memory_kb.returns_float": on_valid("memory_kb", lambda v, a: _int_when_whole(v)),
    "conv_output_size.floor": truncating("conv_output_size"),
    "pool_output_size.floor": truncating("pool_output_size"),
    "conv_output_size.default_stride": with_defaults("conv_output_size", stride=2),
    "conv_output_size.default_padding": with_defaults("conv_output_size", padding=1),
    "pool_output_size.default_stride": with_defaults("pool_output_size", stride=1),
    "pool_output_size.stride_none_is_kernel": stride_none_is_one("pool_output_size"),
    "pool_output_size.default_padding": with_defaults("pool_output_size", padding=1),
    "conv_params.bias_flag": on_valid("conv_params", lambda v, a: ref.conv_params(
        a["in_channels"], a["out_channels"], a["kernel"])),
    "conv_params.default_bias": with_defaults("conv_params", bias=False),
    "conv_flops.separate_h_w": square_only("conv_flops"),
    "conv_flops.default_stride": with_defaults("conv_flops", stride=2),
    "conv_flops.default_padding": with_defaults("conv_flops", padding=1),
    "pool_flops.separate_h_w": square_only("pool_flops"),
    "pool_flops.default_stride": with_defaults("pool_flops", stride=1),
    "pool_flops.stride_none_is_kernel": stride_none_is_one("pool_flops"),
    "pool_flops.default_padding": with_defaults("pool_flops", padding=1),
    "fc_params.bias_flag": on_valid("fc_params", lambda v, a: ref.fc_params(
        a["in_features"], a["out_features"])),
    "fc_params.default_bias": with_defaults("fc_params", bias=False),
    "cost_table.returns_list": table_result(tuple),
    "cost_table.row_per_layer_in_order": table_result(lambda rows: rows[::-1]),
    "cost_table.worked_examples": table_result(off_on_the_lecture_nets),
    "cost_table.layer_types": table(instead=unknown_type_row),
    "cost_table.conv_default_stride": table(reading=default("conv", "stride", 2)),
    "cost_table.conv_default_padding": table(reading=default("conv", "padding", 1)),
    "cost_table.conv_default_bias": table(reading=default("conv", "bias", False)),
    "cost_table.conv_bias_flag": table(reading=forced("conv", "bias", True)),
    "cost_table.pool_default_stride": table(reading=default("pool", "stride", 1)),
    "cost_table.pool_default_padding": table(reading=default("pool", "padding", 1)),
    "cost_table.fc_default_bias": table(reading=default("fc", "bias", False)),
    "cost_table.fc_bias_flag": table(reading=forced("fc", "bias", True)),
    "cost_table.implicit_flatten": table(instead=fc_takes_channels),
    "cost_table.row_keys": table(rows=lambda row, layer: row.pop("flops")),
    "cost_table.row_name": table(rows=lambda row, layer: row.update(name=layer["type"])),
    "cost_table.row_type": table(rows=lambda row, layer: row.update(type=layer["type"].upper())),
    "cost_table.row_output_shape": table(rows=set_field(
        "output_shape", lambda s: (s[0], s[1] + 1, s[2]) if len(s) == 3 else (s[0] + 1,))),
    "cost_table.row_output_shape_tuple": table(rows=set_field("output_shape", list)),
    "cost_table.row_output_shape_ints": table(rows=set_field(
        "output_shape", lambda s: tuple(float(d) for d in s))),
    "cost_table.row_memory_kb": table(rows=set_field("memory_kb", lambda v: v * 1.001)),
    "cost_table.row_memory_kb_float": table(rows=set_field("memory_kb", _int_when_whole)),
    "cost_table.row_params": table(rows=set_field("params", lambda v: v + 1)),
    "cost_table.row_params_int": table(rows=set_field("params", float)),
    "cost_table.row_flops": table(rows=set_field("flops", lambda v: v + 1)),
    "cost_table.row_flops_int": table(rows=set_field("flops", float)),
    "cost_table.range_layer": table(instead=no_validation),
    "cost_table.no_in_place": table(instead=fills_in_defaults),
})

# A call on which each breaker no check catches visibly breaks its promise: the reference
# and the breaker answer it differently (another exception, value or type, or the layers
# come back changed).
_NET = [{"type": "conv", "out_channels": 4, "kernel": 3}, {"type": "pool", "kernel": 2},
        {"type": "fc", "out_features": 2}]
WITNESSES = {
    "pool_output_size.range_stride": ((10, 3, 0, 0), {}),
    "cost_table.row_output_shape_tuple": (((3, 8, 8), _NET), {}),
    "pool_flops.range_stride": ((3, 8, 8, 2, 0, 0), {}),
    "pool_flops.range_padding": ((3, 8, 8, 2, None, -1), {}),
    "pool_flops.range_kernel": ((3, 8, 8, 0, 1, 0), {}),
    "conv_output_size.range_size": ((0, 1, 1, 1), {}),
    "pool_output_size.range_size": ((0, 2, None, 1), {}),
    "conv_flops.range_height": ((3, 0, 8, 4, 1, 1, 1), {}),
    "conv_flops.range_width": ((3, 8, 0, 4, 1, 1, 1), {}),
    "conv_flops.range_fit": ((3, 4, 8, 4, 5, 1, 0), {}),
    "pool_flops.range_height": ((3, 0, 8, 2, None, 1), {}),
    "pool_flops.range_width": ((3, 8, 0, 2, None, 1), {}),
    "memory_kb.returns_float": ((256,), {}),
    "cost_table.returns_list": (((3, 8, 8), _NET), {}),
    "cost_table.row_memory_kb_float": (((1, 16, 16), [{"type": "conv", "out_channels": 1,
                                                        "kernel": 1}]), {}),
    "cost_table.range_layer": (((3, 8, 8), [{"type": "conv", "out_channels": 4,
                                             "kernel": 0}]), {}),
    "cost_table.no_in_place": (((3, 8, 8), _NET), {}),
}


def _outcome(fn, args, kwargs):
    """What a call gives: ("raised", exception type) or ("returned", value, its types), and
    the arguments as they came back."""
    args = copy.deepcopy(args)
    try:
        value = fn(*args, **kwargs)
        result = ("returned", repr(value), _types(value))
    except Exception as err:  # noqa: BLE001 - the exception's type is the answer
        result = ("raised", type(err).__name__)
    return result, repr(args)


def _types(value):
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_types(v) for v in value))
    if isinstance(value, dict):
        return tuple(sorted((k, _types(v)) for k, v in value.items()))
    return type(value).__name__


COST_PROMISES = [p for p in promises.for_assignment("cnn_costs") if p.lenient is None]


def _reference_env() -> dict:
    return {name: getattr(ref, name) for name in cost_checks.QUESTIONS}


def test_every_cnn_costs_promise_has_a_breaker():
    assert set(BREAKERS) == {p.id for p in COST_PROMISES}
    assert all(BREAKERS[p.id][0] == p.function for p in COST_PROMISES)


@pytest.mark.parametrize("promise", COST_PROMISES, ids=lambda p: p.id)
def test_cnn_costs_checks_that_catch_each_breach_are_the_listed_ones(promise):
    name, broken = BREAKERS[promise.id]
    env = _reference_env()
    env[name] = broken
    failing = {check.__name__ for check in cost_checks.QUESTIONS[name]
               if failure(check, env) is not None}
    assert failing == set(promise.checks)
    if not failing:  # a breaker nothing catches must visibly break its promise
        args, kwargs = WITNESSES[promise.id]
        assert _outcome(broken, args, kwargs) != _outcome(getattr(ref, name), args, kwargs)


@pytest.mark.parametrize("promise", [p for p in COST_PROMISES if p.mutants], ids=lambda p: p.id)
def test_cnn_costs_listed_mutants_fail_a_listed_check(promise):
    for mutant in promise.mutants:
        env = mutants.mutant_env({"assignment": "cnn_costs", "id": mutant})
        assert any(failure(getattr(cost_checks, check), env) is not None
                   for check in promise.checks), mutant
