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
    ("log_of_underflowed_softmax", "softmax_loss", EXPLICIT,
     [("loss = -log_probs[torch.arange(N), y].sum() / N",
       "loss = -torch.log(probs[torch.arange(N), y]).sum() / N")], "log-probabilities"),
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
]

# Equivalent ways to write it: must pass.
HARMLESS = [
    ("mask_on_post_activation", REF,
     [("dhidden = (dscores @ W2.T) * (hidden_pre > 0)", "dhidden = (dscores @ W2.T) * (hidden > 0)")]),
    ("relu_via_torch_relu", REF,
     [("hidden = hidden_pre.clamp(min=0)", "hidden = torch.relu(hidden_pre)")]),
]
