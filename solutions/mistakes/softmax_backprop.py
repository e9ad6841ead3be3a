"""The catalogued mistakes in `solutions/softmax_backprop.py`: each an edit of the reference's
source (solutions/mistakes/edits.py), graded by `cnnlab mutants`, quoted by the public hints
and the checks' feedback (`mistaken_grads` names its gradients' mistakes by these ids), and
made by the checks' own tests, which require the feedback of `question` to contain `phrase`."""
from __future__ import annotations

from solutions.mistakes.mistake import Mistake

ASSIGNMENT = "softmax_backprop"


def _m(id, question, description, *edits, phrase=None, needs=None) -> Mistake:
    return Mistake(id, ASSIGNMENT, question, description, edits=edits, phrase=phrase,
                   needs=needs)


MISTAKES: list[Mistake] = [
    _m("softmax_no_max_shift", "softmax_loss",
       "softmax without subtracting the row max (overflows)",
       ("shifted = scores - scores.max(dim=1, keepdim=True).values",
        "shifted = scores"),
       ("log_probs = shifted - torch.logsumexp(shifted, dim=1, keepdim=True)",
        "log_probs = torch.log(shifted.exp() / shifted.exp().sum(dim=1, keepdim=True))"),
       phrase="subtract each row's maximum"),
    _m("softmax_grad_not_divided_by_n", "softmax_loss",
       "forgot to divide by N (dscores is (softmax - onehot) / N)",
       ("return loss, dscores / n",
        "return loss, dscores"),
       phrase="divide by N"),
    _m("softmax_loss_sum_not_mean", "softmax_loss",
       "the loss summed over the batch, not averaged",
       ("loss = -log_probs[rows, y].mean()",
        "loss = -log_probs[rows, y].sum()"),
       phrase="mean over the N rows"),
    _m("softmax_grad_sign", "softmax_loss",
       "dscores adds 1 at the true class instead of subtracting it",
       ("dscores[rows, y] -= 1",
        "dscores[rows, y] += 1")),
    _m("l2_with_half", "two_layer_forward_backward",
       "the L2 term with a 1/2 the contract does not have",
       ("loss = data_loss + reg * ((W1 * W1).sum() + (W2 * W2).sum())",
        "loss = data_loss + 0.5 * reg * ((W1 * W1).sum() + (W2 * W2).sum())"),
       ("dW2 = hidden.T @ dscores + 2 * reg * W2",
        "dW2 = hidden.T @ dscores + reg * W2"),
       ("dW1 = X.T @ dhidden + 2 * reg * W1",
        "dW1 = X.T @ dhidden + reg * W1"),
       phrase="without 1/2"),
    _m("dw2_reg_without_2", "two_layer_forward_backward",
       "forgot the factor 2 in the L2 gradient: d/dW of reg*sum(W**2) is 2*reg*W (the "
       "contract's L2 term has no 1/2)",
       ("dW2 = hidden.T @ dscores + 2 * reg * W2",
        "dW2 = hidden.T @ dscores + reg * W2"),
       phrase="grads['W2'] is wrong"),
    _m("dw1_no_reg", "two_layer_forward_backward", "forgot the L2 gradient 2*reg*W",
       ("dW1 = X.T @ dhidden + 2 * reg * W1",
        "dW1 = X.T @ dhidden")),
    _m("db2_wrong_axis", "two_layer_forward_backward",
       "db2 summed over classes instead of over the batch",
       ("db2 = dscores.sum(dim=0)",
        "db2 = dscores.sum(dim=1)"),
       phrase="sum over the batch"),
    _m("relu_mask_missing", "two_layer_forward_backward",
       "forgot the ReLU's gradient: multiply by the mask (hidden_pre > 0)",
       ("dhidden = (dscores @ W2.T) * (hidden_pre > 0)",
        "dhidden = dscores @ W2.T"),
       phrase="ReLU's gradient"),
    _m("forward_no_relu", "two_layer_forward_backward", "the forward pass has no ReLU",
       ("hidden = hidden_pre.clamp(min=0)",
        "hidden = hidden_pre"),
       phrase="ReLU"),
    _m("forward_no_b2", "two_layer_forward_backward", "the scores forget b2",
       ("scores = hidden @ W2 + b2",
        "scores = hidden @ W2")),
    _m("train_ascends", "train_two_layer", "SGD steps up the gradient",
       ("params[name] -= learning_rate * grads[name]",
        "params[name] += learning_rate * grads[name]"),
       phrase="loss"),
    _m("train_ignores_learning_rate", "train_two_layer",
       "training ignores learning_rate (a fixed 1e-4)",
       ("params[name] -= learning_rate * grads[name]",
        "params[name] -= 1e-4 * grads[name]")),
    # Found by review: an in-place shift of the caller's scores (invisible to a comparison
    # made outside a sandbox), gradients written into the caller's params dict, and training
    # loops that still reach a good accuracy on the digits.
    _m("softmax_shifts_scores_in_place", "softmax_loss",
       "softmax_loss subtracts the row max from the caller's scores in place (scores -= max)",
       ("shifted = scores - scores.max(dim=1, keepdim=True).values",
        "scores -= scores.max(dim=1, keepdim=True).values\n"
        "    shifted = scores"),
       phrase="changed its argument `scores` in place; work on a copy"),
    _m("grads_written_into_params", "two_layer_forward_backward",
       "two_layer_forward_backward stores the gradients in the caller's params dict and "
       "returns it as grads",
       ('return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
        "params.update(W1=dW1, b1=db1, W2=dW2, b2=db2)\n"
        "    return loss, params"),
       phrase="changed its arguments `params['W1']`"),
    _m("train_on_val", "train_two_layer",
       "train_two_layer trains on X_val, y_val instead of X, y",
       ("batch = torch.randint(0, X.shape[0], (batch_size,)",
        "batch = torch.randint(0, X_val.shape[0], (batch_size,)"),
       ("two_layer_forward_backward(params, X[batch], y[batch], reg)",
        "two_layer_forward_backward(params, X_val[batch], y_val[batch], reg)"),
       phrase="departs from plain minibatch SGD"),
    _m("train_on_train_plus_val", "train_two_layer",
       "train_two_layer trains on torch.cat([X, X_val])",
       ("    loss_history = []\n",
        "    loss_history = []\n"
        "    X, y = torch.cat([X, X_val]), torch.cat([y, y_val])\n"),
       phrase="departs from plain minibatch SGD"),
    _m("train_full_batch", "train_two_layer",
       "full-batch gradient descent (batch_size ignored)",
       ("two_layer_forward_backward(params, X[batch], y[batch], reg)",
        "two_layer_forward_backward(params, X, y, reg)"),
       phrase="mean loss over the whole training set"),
    _m("train_epochs", "train_two_layer",
       "num_iters taken as epochs of shuffled minibatches; loss_history holds one mean "
       "loss per epoch",
       ("    for _ in range(num_iters):\n"
        "        batch = torch.randint(0, X.shape[0], (batch_size,), generator=generator,\n"
        "                              device=X.device)\n"
        "        loss, grads = two_layer_forward_backward(params, X[batch], y[batch], reg)\n"
        "        for name in params:\n"
        "            params[name] -= learning_rate * grads[name]\n"
        "        loss_history.append(float(loss))",
        "    for _ in range(num_iters):\n"
        "        order = torch.randperm(X.shape[0], generator=generator, device=X.device)\n"
        "        epoch = []\n"
        "        for start in range(0, X.shape[0], batch_size):\n"
        "            batch = order[start:start + batch_size]\n"
        "            loss, grads = two_layer_forward_backward(params, X[batch], y[batch], "
        "reg)\n"
        "            for name in params:\n"
        "                params[name] -= learning_rate * grads[name]\n"
        "            epoch.append(float(loss))\n"
        "        loss_history.append(sum(epoch) / len(epoch))"),
       phrase="departs from plain minibatch SGD"),
    _m("train_ignores_reg", "train_two_layer",
       "train_two_layer does not pass reg on (trains with reg=0)",
       ("two_layer_forward_backward(params, X[batch], y[batch], reg)",
        "two_layer_forward_backward(params, X[batch], y[batch])"),
       phrase="ignores `reg`"),
    _m("train_history_without_l2", "train_two_layer",
       "loss_history records the data loss, without the L2 term",
       ("loss, grads = two_layer_forward_backward(params, X[batch], y[batch], reg)\n",
        "loss, grads = two_layer_forward_backward(params, X[batch], y[batch], reg)\n"
        "        data_loss = softmax_loss(two_layer_forward_backward(params, X[batch]), "
        "y[batch])[0]\n"),
       ("loss_history.append(float(loss))",
        "loss_history.append(float(data_loss))"),
       phrase="L2 term included"),
    _m("train_weights_only", "train_two_layer",
       "SGD updates W1 and W2 only; the biases never move",
       ("        for name in params:\n"
        "            params[name] -= learning_rate * grads[name]",
        '        for name in ("W1", "W2"):\n'
        "            params[name] -= learning_rate * grads[name]"),
       phrase="the biases b1 and b2 take an SGD step too"),
    _m("train_ignores_seed", "train_two_layer",
       "the minibatch generator is seeded with 0, not with seed",
       ("generator = torch.Generator(device=X.device).manual_seed(seed)",
        "generator = torch.Generator(device=X.device).manual_seed(0)"),
       phrase="differ only in `seed`"),
    _m("train_lr_decay", "train_two_layer",
       "a learning-rate decay the contract does not have (learning_rate *= 0.99 every "
       "iteration)",
       ("        loss_history.append(float(loss))",
        "        loss_history.append(float(loss))\n"
        "        learning_rate *= 0.99"),
       phrase="at a constant learning_rate"),
    # Issue 17: a mistake for every promise of the contract (autograder/promises.py): a return
    # form, autograd, a change to the caller's data, the device.
    _m("softmax_uses_autograd_grad", "softmax_loss",
       "softmax_loss takes dscores from torch.autograd.grad",
       ("    n = scores.shape[0]\n",
        "    n = scores.shape[0]\n"
        "    leaf = scores.detach().clone().requires_grad_()\n"
        "    loss = torch.nn.functional.cross_entropy(leaf, y)\n"
        "    return loss.detach(), torch.autograd.grad(loss, leaf)[0]\n"),
       phrase="uses autograd"),
    _m("softmax_returns_dict", "softmax_loss",
       "softmax_loss returns a dict, not the pair (loss, dscores)",
       ("return loss, dscores / n",
        'return {"loss": loss, "dscores": dscores / n}')),
    _m("softmax_loss_shape_1", "softmax_loss",
       "softmax_loss returns the loss with shape (1,), not 0-dim",
       ("loss = -log_probs[rows, y].mean()",
        "loss = -log_probs[rows, y].mean().reshape(1)")),
    _m("softmax_dscores_flat", "softmax_loss",
       "softmax_loss returns dscores flattened to (N*C,)",
       ("return loss, dscores / n",
        "return loss, (dscores / n).reshape(-1)")),
    _m("softmax_float64_ones", "softmax_loss",
       "softmax_loss sums each row with a matmul by a float64 column of ones, so float32 "
       "scores fail",
       ("log_probs = shifted - torch.logsumexp(shifted, dim=1, keepdim=True)",
        "log_probs = shifted - (shifted.exp() @ torch.ones(shifted.shape[1], 1, "
        "dtype=torch.float64)).log()")),
    _m("uses_backward", "two_layer_forward_backward",
       "two_layer_forward_backward computes its gradients with .backward()",
       ('    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]\n',
        '    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]\n'
        "    if y is not None:\n"
        "        leaves = {k: v.detach().clone().requires_grad_(True) for k, v in "
        "params.items()}\n"
        "        h = (X @ leaves['W1'] + leaves['b1']).clamp(min=0)\n"
        "        s = h @ leaves['W2'] + leaves['b2']\n"
        "        loss = torch.nn.functional.cross_entropy(s, y) + reg * ((leaves['W1'] ** "
        "2).sum() + (leaves['W2'] ** 2).sum())\n"
        "        loss.backward()\n"
        "        return loss.detach(), {k: v.grad for k, v in leaves.items()}\n"),
       phrase="uses autograd"),
    _m("scores_as_pair", "two_layer_forward_backward",
       "with y=None, two_layer_forward_backward returns (scores, None)",
       ("    if y is None:\n"
        "        return scores\n",
        "    if y is None:\n"
        "        return scores, None\n")),
    _m("two_layer_returns_grads_first", "two_layer_forward_backward",
       "two_layer_forward_backward returns (grads, loss)",
       ('return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
        'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, loss')),
    _m("grads_keyed_dW1", "two_layer_forward_backward",
       "grads keyed dW1, db1, dW2, db2 instead of like params",
       ('return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
        'return loss, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}')),
    _m("two_layer_default_reg", "two_layer_forward_backward",
       "two_layer_forward_backward's reg defaults to 1e-3",
       ("                               reg: float = 0.0):",
        "                               reg: float = 1e-3):")),
    _m("train_uses_autograd", "train_two_layer",
       "train_two_layer takes its gradients from torch.autograd.grad, not from "
       "two_layer_forward_backward",
       ("        loss, grads = two_layer_forward_backward(params, X[batch], y[batch], reg)\n"
        "        for name in params:",
        "        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}\n"
        "        loss = "
        "torch.nn.functional.cross_entropy(two_layer_forward_backward(leaves, X[batch]), "
        "y[batch]) + reg * ((leaves['W1'] ** 2).sum() + (leaves['W2'] ** 2).sum())\n"
        "        grads = dict(zip(leaves, torch.autograd.grad(loss, list(leaves.values()))))\n"
        "        loss = loss.detach()\n"
        "        for name in params:")),
    _m("train_global_rng", "train_two_layer",
       "train_two_layer draws its minibatches from torch's global random state, not from a "
       "generator seeded with seed",
       ("batch = torch.randint(0, X.shape[0], (batch_size,), generator=generator,\n"
        "                              device=X.device)",
        "batch = torch.randint(0, X.shape[0], (batch_size,), device=X.device)"),
       phrase="same seed gave different results"),
    _m("train_accuracy_on_training_set", "train_two_layer",
       "val_accuracy computed on X, y instead of X_val, y_val",
       ('"val_accuracy": accuracy(X_val, y_val),',
        '"val_accuracy": accuracy(X, y),'),
       phrase="initial parameters"),
    _m("train_history_of_tensors", "train_two_layer",
       "loss_history holds the loss tensors, not Python floats",
       ("loss_history.append(float(loss))",
        "loss_history.append(loss)"),
       phrase="list of Python floats"),
    _m("train_returns_losses_key", "train_two_layer",
       "train_two_layer returns its losses under 'losses', not 'loss_history'",
       ('"loss_history": loss_history,',
        '"losses": loss_history,')),
    _m("train_shuffles_data_in_place", "train_two_layer",
       "train_two_layer shuffles the caller's X and y in place (X[:] = X[order])",
       ("    generator = torch.Generator(device=X.device).manual_seed(seed)\n",
        "    generator = torch.Generator(device=X.device).manual_seed(seed)\n"
        "    order = torch.randperm(X.shape[0], generator=generator, device=X.device)\n"
        "    X[:], y[:] = X[order], y[order]\n")),
    _m("train_default_seed_1", "train_two_layer", "train_two_layer's seed defaults to 1",
       ("batch_size: int, seed: int = 0) -> dict:",
        "batch_size: int, seed: int = 1) -> dict:")),
    _m("train_moves_data_to_cpu", "train_two_layer",
       "train_two_layer moves the data to the CPU and trains there, whatever X's device",
       ("    params = {k: v.detach().clone().to(X.device) for k, v in params.items()}\n",
        "    X, y, X_val, y_val = X.cpu(), y.cpu(), X_val.cpu(), y_val.cpu()\n"
        "    params = {k: v.detach().clone().to(X.device) for k, v in params.items()}\n"),
       needs="cuda"),
    # The checks' own tests' mistakes (tests/student_variants until issue 14).
    _m("dscores_without_minus_one", "softmax_loss",
       "dscores without subtracting 1 at each row's correct class",
       ("    dscores[rows, y] -= 1\n",
        ""),
       phrase="subtract 1 at each row's correct class"),
    _m("regularized_biases", "two_layer_forward_backward",
       "regularized the bias: the L2 term covers W1 and W2 only",
       ("loss = data_loss + reg * ((W1 * W1).sum() + (W2 * W2).sum())",
        "loss = data_loss + reg * ((W1 * W1).sum() + (W2 * W2).sum() + (b1 * b1).sum() + "
        "(b2 * b2).sum())"),
       phrase="not the biases"),
    _m("train_hardcoded_accuracy", "train_two_layer",
       "train_two_layer returns a fixed val_accuracy (0.97) instead of measuring it",
       ('"val_accuracy": accuracy(X_val, y_val),',
        '"val_accuracy": 0.97,'),
       phrase="initial parameters"),
    _m("l2_grad_scales_W2_in_place", "two_layer_forward_backward",
       "dW2's L2 gradient scales the caller's W2 in place (W2.mul_(2 * reg))",
       ("dW2 = hidden.T @ dscores + 2 * reg * W2",
        "dW2 = hidden.T @ dscores + W2.mul_(2 * reg)"),
       phrase="changed its argument `params['W2']` in place"),
    _m("train_never_shuffles", "train_two_layer",
       "the minibatches are taken in order, never drawn at random, so seed changes nothing",
       ("for _ in range(num_iters):",
        "for it in range(num_iters):"),
       ("batch = torch.randint(0, X.shape[0], (batch_size,), generator=generator,\n"
        "                              device=X.device)",
        "batch = torch.arange(it * batch_size, (it + 1) * batch_size, device=X.device) % "
        "X.shape[0]"),
       phrase="differ only in `seed`"),
]
