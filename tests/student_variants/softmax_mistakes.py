"""Realistic mistakes in `softmax_backprop`, as edits of the reference's source or of the
explicit-style solution: (id, question whose checks must fail, module, [(old, new)], a phrase
the feedback must contain)."""

REF = "solutions.softmax_backprop"
EXPLICIT = "student_variants.softmax_explicit"

MISTAKES = [
    ("no_max_shift", "softmax_loss", EXPLICIT,
     [("shifted = scores - scores.max(dim=1, keepdim=True)[0]", "shifted = scores")],
     "subtract each row's maximum"),
    ("dscores_not_divided_by_n", "softmax_loss", EXPLICIT,
     [("    dscores /= N\n", "")], "divide by N"),
    ("dscores_without_minus_one", "softmax_loss", EXPLICIT,
     [("    dscores[range(N), y] -= 1\n", "")], "subtract 1 at each row's correct class"),
    ("loss_summed_not_mean", "softmax_loss", EXPLICIT,
     [("loss = -log_probs[torch.arange(N), y].sum() / N",
       "loss = -log_probs[torch.arange(N), y].sum()")], "mean over the N rows"),
    ("softmax_in_place_on_scores", "softmax_loss", EXPLICIT,
     [("shifted = scores - scores.max(dim=1, keepdim=True)[0]",
       "shifted = scores.sub_(scores.max(dim=1, keepdim=True)[0])")], "in place"),
    ("l2_with_half", "two_layer_forward_backward", REF,
     [("loss = data_loss + reg * ((W1 * W1).sum() + (W2 * W2).sum())",
       "loss = data_loss + 0.5 * reg * ((W1 * W1).sum() + (W2 * W2).sum())"),
      ("dW2 = hidden.T @ dscores + 2 * reg * W2", "dW2 = hidden.T @ dscores + reg * W2"),
      ("dW1 = X.T @ dhidden + 2 * reg * W1", "dW1 = X.T @ dhidden + reg * W1")],
     "without 1/2"),
    ("forgot_2_in_dW", "two_layer_forward_backward", REF,
     [("dW2 = hidden.T @ dscores + 2 * reg * W2", "dW2 = hidden.T @ dscores + reg * W2")],
     "grads['W2'] is wrong"),
    ("db_summed_over_wrong_axis", "two_layer_forward_backward", REF,
     [("db2 = dscores.sum(dim=0)", "db2 = dscores.sum(dim=1)")], "sum over the batch"),
    ("relu_mask_missing", "two_layer_forward_backward", REF,
     [("dhidden = (dscores @ W2.T) * (hidden_pre > 0)", "dhidden = dscores @ W2.T")],
     "ReLU's gradient"),
    ("no_relu_in_forward", "two_layer_forward_backward", REF,
     [("hidden = hidden_pre.clamp(min=0)", "hidden = hidden_pre")], "ReLU"),
    ("regularized_biases", "two_layer_forward_backward", REF,
     [("loss = data_loss + reg * ((W1 * W1).sum() + (W2 * W2).sum())",
       "loss = data_loss + reg * ((W1 * W1).sum() + (W2 * W2).sum() + (b1 * b1).sum()"
       " + (b2 * b2).sum())")], "not the biases"),
    ("uses_backward", "two_layer_forward_backward", REF,
     [("    W1, b1, W2, b2 = params[\"W1\"], params[\"b1\"], params[\"W2\"], params[\"b2\"]\n",
       "    W1, b1, W2, b2 = params[\"W1\"], params[\"b1\"], params[\"W2\"], params[\"b2\"]\n"
       "    if y is not None:\n"
       "        leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}\n"
       "        h = (X @ leaves['W1'] + leaves['b1']).clamp(min=0)\n"
       "        s = h @ leaves['W2'] + leaves['b2']\n"
       "        loss = torch.nn.functional.cross_entropy(s, y) + reg * ((leaves['W1'] ** 2).sum()"
       " + (leaves['W2'] ** 2).sum())\n"
       "        loss.backward()\n"
       "        return loss.detach(), {k: v.grad for k, v in leaves.items()}\n")],
     "uses autograd"),
    ("softmax_uses_autograd_grad", "softmax_loss", EXPLICIT,
     [("    N = scores.shape[0]\n",
       "    N = scores.shape[0]\n"
       "    leaf = scores.detach().clone().requires_grad_()\n"
       "    l = torch.nn.functional.cross_entropy(leaf, y)\n"
       "    return l.detach(), torch.autograd.grad(l, leaf)[0]\n")],
     "uses autograd"),
    ("train_global_rng", "train_two_layer", EXPLICIT,
     [("idx = torch.randint(X.shape[0], (batch_size,), generator=gen, device=X.device)",
       "idx = torch.randint(X.shape[0], (batch_size,), device=X.device)")],
     "same seed gave different results"),
    ("train_accuracy_on_training_set", "train_two_layer", EXPLICIT,
     [("scores = two_layer_forward_backward(params, X_val)\n"
       "    val_accuracy = float((torch.argmax(scores, dim=1) == y_val).sum()) / len(y_val)",
       "scores = two_layer_forward_backward(params, X)\n"
       "    val_accuracy = float((torch.argmax(scores, dim=1) == y).sum()) / len(y)")],
     "initial parameters"),
    ("train_history_of_tensors", "train_two_layer", EXPLICIT,
     [("loss_history.append(float(loss))", "loss_history.append(loss)")],
     "list of Python floats"),
    ("train_gradient_ascent", "train_two_layer", EXPLICIT,
     [("params[name] -= learning_rate * grads[name]", "params[name] += learning_rate * grads[name]")],
     "loss"),
    ("train_hardcoded_accuracy", "train_two_layer", EXPLICIT,
     [("return {\"loss_history\": loss_history, \"val_accuracy\": val_accuracy}",
       "return {\"loss_history\": loss_history, \"val_accuracy\": 0.97}")],
     "initial parameters"),
    # Found by review. In a sandbox the checks' tensors reach the student as copies, so an
    # in-place change is only visible where the student's code runs (probe_call compares).
    ("softmax_shifts_scores_in_place", "softmax_loss", REF,
     [("shifted = scores - scores.max(dim=1, keepdim=True).values",
       "scores -= scores.max(dim=1, keepdim=True).values\n    shifted = scores")],
     "changed its argument `scores` in place; work on a copy"),
    ("grads_written_into_params", "two_layer_forward_backward", REF,
     [('return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
       "params.update(W1=dW1, b1=db1, W2=dW2, b2=db2)\n    return loss, params")],
     "changed its arguments `params['W1']`"),
    ("l2_grad_scales_W2_in_place", "two_layer_forward_backward", REF,
     [("dW2 = hidden.T @ dscores + 2 * reg * W2", "dW2 = hidden.T @ dscores + W2.mul_(2 * reg)")],
     "changed its argument `params['W2']` in place"),
    # Training loops that reach a good accuracy on the digits all the same.
    ("train_on_val", "train_two_layer", REF,
     [("batch = torch.randint(0, X.shape[0], (batch_size,)",
       "batch = torch.randint(0, X_val.shape[0], (batch_size,)"),
      ("two_layer_forward_backward(params, X[batch], y[batch], reg)",
       "two_layer_forward_backward(params, X_val[batch], y_val[batch], reg)")],
     "departs from plain minibatch SGD"),
    ("train_on_train_plus_val", "train_two_layer", REF,
     [("    loss_history = []\n",
       "    loss_history = []\n    X, y = torch.cat([X, X_val]), torch.cat([y, y_val])\n")],
     "departs from plain minibatch SGD"),
    ("train_full_batch", "train_two_layer", REF,
     [("two_layer_forward_backward(params, X[batch], y[batch], reg)",
       "two_layer_forward_backward(params, X, y, reg)")],
     "mean loss over the whole training set"),
    ("train_epochs", "train_two_layer", EXPLICIT,
     [("""    for it in range(num_iters):
        idx = torch.randint(X.shape[0], (batch_size,), generator=gen, device=X.device)
        loss, grads = two_layer_forward_backward(params, X[idx], y[idx], reg=reg)
        loss_history.append(float(loss))
        for name in params:
            params[name] -= learning_rate * grads[name]""",
       """    for epoch in range(num_iters):
        order = torch.randperm(X.shape[0], generator=gen, device=X.device)
        losses = []
        for start in range(0, X.shape[0], batch_size):
            idx = order[start:start + batch_size]
            loss, grads = two_layer_forward_backward(params, X[idx], y[idx], reg=reg)
            losses.append(float(loss))
            for name in params:
                params[name] -= learning_rate * grads[name]
        loss_history.append(sum(losses) / len(losses))""")],
     "departs from plain minibatch SGD"),
    ("train_ignores_reg", "train_two_layer", EXPLICIT,
     [("two_layer_forward_backward(params, X[idx], y[idx], reg=reg)",
       "two_layer_forward_backward(params, X[idx], y[idx])")],
     "ignores `reg`"),
    ("train_history_without_l2", "train_two_layer", EXPLICIT,
     [("loss_history.append(float(loss))",
       "loss_history.append(float(softmax_loss(two_layer_forward_backward(params, X[idx]), "
       "y[idx])[0]))")],
     "L2 term included"),
    ("train_weights_only", "train_two_layer", EXPLICIT,
     [("for name in params:", 'for name in ("W1", "W2"):')],
     "the biases b1 and b2 take an SGD step too"),
    ("train_ignores_seed", "train_two_layer", EXPLICIT,
     [("gen = torch.Generator(device=X.device).manual_seed(seed)",
       "gen = torch.Generator(device=X.device).manual_seed(0)")],
     "differ only in `seed`"),
    ("train_never_shuffles", "train_two_layer", EXPLICIT,
     [("idx = torch.randint(X.shape[0], (batch_size,), generator=gen, device=X.device)",
       "idx = torch.arange(it * batch_size, (it + 1) * batch_size, device=X.device) "
       "% X.shape[0]")],
     "differ only in `seed`"),
    ("train_lr_decay", "train_two_layer", EXPLICIT,
     [("loss_history.append(float(loss))",
       "loss_history.append(float(loss))\n        learning_rate *= 0.99")],
     "at a constant learning_rate"),
]

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
