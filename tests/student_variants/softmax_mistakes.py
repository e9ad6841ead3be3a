"""The catalogue's mistakes in `softmax_backprop` (solutions/mistakes/softmax_backprop.py) as
the checks' tests make them: (id, question whose checks must fail, module, edits, a phrase the
feedback must contain), each entry made in the reference; and the same mistakes made in the
explicit-style solution (student_variants/softmax_explicit.py), whose feedback must name
them too. Then correct variations, which must pass."""
from solutions import mistakes

REF = "solutions.softmax_backprop"
EXPLICIT = "student_variants.softmax_explicit"

# Catalogue id -> (the same mistake as edits of the explicit-style solution, the phrase its
# feedback must contain).
IN_EXPLICIT_STYLE = {
    "softmax_no_max_shift": (
        [("shifted = scores - scores.max(dim=1, keepdim=True)[0]",
          "shifted = scores")],
        "subtract each row's maximum"),
    "softmax_grad_not_divided_by_n": (
        [("    dscores /= N\n",
          "")],
        "divide by N"),
    "dscores_without_minus_one": (
        [("    dscores[range(N), y] -= 1\n",
          "")],
        "subtract 1 at each row's correct class"),
    "softmax_loss_sum_not_mean": (
        [("loss = -log_probs[torch.arange(N), y].sum() / N",
          "loss = -log_probs[torch.arange(N), y].sum()")],
        "mean over the N rows"),
    "softmax_shifts_scores_in_place": (
        [("shifted = scores - scores.max(dim=1, keepdim=True)[0]",
          "shifted = scores.sub_(scores.max(dim=1, keepdim=True)[0])")],
        "in place"),
    "softmax_uses_autograd_grad": (
        [("    N = scores.shape[0]\n",
          "    N = scores.shape[0]\n"
          "    leaf = scores.detach().clone().requires_grad_()\n"
          "    l = torch.nn.functional.cross_entropy(leaf, y)\n"
          "    return l.detach(), torch.autograd.grad(l, leaf)[0]\n")],
        "uses autograd"),
    "train_global_rng": (
        [("idx = torch.randint(X.shape[0], (batch_size,), generator=gen, device=X.device)",
          "idx = torch.randint(X.shape[0], (batch_size,), device=X.device)")],
        "same seed gave different results"),
    "train_accuracy_on_training_set": (
        [("scores = two_layer_forward_backward(params, X_val)\n"
          "    val_accuracy = float((torch.argmax(scores, dim=1) == y_val).sum()) / len(y_val)",
          "scores = two_layer_forward_backward(params, X)\n"
          "    val_accuracy = float((torch.argmax(scores, dim=1) == y).sum()) / len(y)")],
        "initial parameters"),
    "train_history_of_tensors": (
        [("loss_history.append(float(loss))",
          "loss_history.append(loss)")],
        "list of Python floats"),
    "train_ascends": (
        [("params[name] -= learning_rate * grads[name]",
          "params[name] += learning_rate * grads[name]")],
        "loss"),
    "train_hardcoded_accuracy": (
        [('return {"loss_history": loss_history, "val_accuracy": val_accuracy}',
         'return {"loss_history": loss_history, "val_accuracy": 0.97}')],
        "initial parameters"),
    "train_epochs": (
        [("    for it in range(num_iters):\n"
          "        idx = torch.randint(X.shape[0], (batch_size,), generator=gen, "
          "device=X.device)\n"
          "        loss, grads = two_layer_forward_backward(params, X[idx], y[idx], reg=reg)\n"
          "        loss_history.append(float(loss))\n"
          "        for name in params:\n"
          "            params[name] -= learning_rate * grads[name]",
          "    for epoch in range(num_iters):\n"
          "        order = torch.randperm(X.shape[0], generator=gen, device=X.device)\n"
          "        losses = []\n"
          "        for start in range(0, X.shape[0], batch_size):\n"
          "            idx = order[start:start + batch_size]\n"
          "            loss, grads = two_layer_forward_backward(params, X[idx], y[idx], reg=reg)\n"
          "            losses.append(float(loss))\n"
          "            for name in params:\n"
          "                params[name] -= learning_rate * grads[name]\n"
          "        loss_history.append(sum(losses) / len(losses))")],
        "departs from plain minibatch SGD"),
    "train_ignores_reg": (
        [("two_layer_forward_backward(params, X[idx], y[idx], reg=reg)",
          "two_layer_forward_backward(params, X[idx], y[idx])")],
        "ignores `reg`"),
    "train_history_without_l2": (
        [("loss_history.append(float(loss))",
          "loss_history.append(float(softmax_loss(two_layer_forward_backward(params, X[idx]), "
          "y[idx])[0]))")],
        "L2 term included"),
    "train_weights_only": (
        [("for name in params:",
         'for name in ("W1", "W2"):')],
        "the biases b1 and b2 take an SGD step too"),
    "train_ignores_seed": (
        [("gen = torch.Generator(device=X.device).manual_seed(seed)",
          "gen = torch.Generator(device=X.device).manual_seed(0)")],
        "differ only in `seed`"),
    "train_never_shuffles": (
        [("idx = torch.randint(X.shape[0], (batch_size,), generator=gen, device=X.device)",
          "idx = torch.arange(it * batch_size, (it + 1) * batch_size, device=X.device) "
          "% X.shape[0]")],
        "differ only in `seed`"),
    "train_lr_decay": (
        [("loss_history.append(float(loss))",
          "loss_history.append(float(loss))\n"
          "        learning_rate *= 0.99")],
        "at a constant learning_rate"),
}

MISTAKES = [(m.id, m.question, REF, m.edits, m.phrase)
            for m in mistakes.of("softmax_backprop") if m.phrase]
MISTAKES += [(f"{id}.explicit", mistakes.BY_ID[id].question, EXPLICIT, edits, phrase)
             for id, (edits, phrase) in IN_EXPLICIT_STYLE.items()]

# Equivalent ways to write softmax_loss: every check of softmax_loss must pass. The log of
# the max-shifted probabilities (CS231n's and EECS 498's own code) is stable within the
# contract's promise (the correct class within 50 of its row's maximum).
SOFTMAX_HARMLESS = [
    ("log_of_shifted_probabilities", EXPLICIT,
     [("loss = -log_probs[torch.arange(N), y].sum() / N",
       "loss = -torch.log(probs[torch.arange(N), y]).sum() / N")]),
]

# Equivalent ways to write two_layer_forward_backward: must pass.
HARMLESS = [
    ("mask_on_post_activation", REF,
     [("dhidden = (dscores @ W2.T) * (hidden_pre > 0)", "dhidden = (dscores @ W2.T) * (hidden > 0)")]),
    ("relu_via_torch_relu", REF,
     [("hidden = hidden_pre.clamp(min=0)", "hidden = torch.relu(hidden_pre)")]),
]

# Correct training loops in other styles: every check of train_two_layer must pass.
TRAIN_HARMLESS = [
    ("global_manual_seed", REF,
     [("generator = torch.Generator(device=X.device).manual_seed(seed)",
       "torch.manual_seed(seed)\n    generator = None")]),
    ("randperm_without_replacement", REF,
     [("""batch = torch.randint(0, X.shape[0], (batch_size,), generator=generator,
                              device=X.device)""",
       "batch = torch.randperm(X.shape[0], generator=generator, device=X.device)"
       "[:batch_size]")]),
    ("multinomial", REF,
     [("""batch = torch.randint(0, X.shape[0], (batch_size,), generator=generator,
                              device=X.device)""",
       "batch = torch.multinomial(torch.ones(X.shape[0], device=X.device), batch_size, "
       "replacement=True, generator=generator)")]),
    ("numpy_rng", REF,
     [("generator = torch.Generator(device=X.device).manual_seed(seed)",
       "import numpy as np\n    rng = np.random.default_rng(seed)"),
      ("""batch = torch.randint(0, X.shape[0], (batch_size,), generator=generator,
                              device=X.device)""",
       "batch = torch.as_tensor(rng.choice(X.shape[0], batch_size), device=X.device)")]),
    ("updates_after_computing_all", REF,
     [("""        for name in params:
            params[name] -= learning_rate * grads[name]""",
       """        new = {name: params[name] - learning_rate * grads[name] for name in params}
        params = new""")]),
    ("float64_inside", REF,
     [("params = {k: v.detach().clone().to(X.device) for k, v in params.items()}",
       "params = {k: v.detach().clone().to(X.device).double() for k, v in params.items()}\n"
       "    X, X_val = X.double(), X_val.double()")]),
    ("loss_recorded_first_extra_keys", EXPLICIT,
     [('return {"loss_history": loss_history, "val_accuracy": val_accuracy}',
       'return {"loss_history": loss_history, "val_accuracy": val_accuracy, '
       '"params": params, "note": "sgd"}')]),
]
