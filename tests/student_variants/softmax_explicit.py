"""A correct `softmax_backprop` written the long way, as many students do: explicit max
shift, exp and sum, a boolean mask, numpy-style indexing, and an in-place update."""
import torch


def softmax_loss(scores, y):
    N = scores.shape[0]
    shifted = scores - scores.max(dim=1, keepdim=True)[0]
    exp = torch.exp(shifted)
    probs = exp / exp.sum(dim=1, keepdim=True)
    log_probs = shifted - torch.log(exp.sum(dim=1, keepdim=True))
    loss = -log_probs[torch.arange(N), y].sum() / N
    dscores = probs.clone()
    dscores[range(N), y] -= 1
    dscores /= N
    return loss, dscores


def two_layer_forward_backward(params, X, y=None, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z = X.mm(W1) + b1
    a = z.clone()
    a[z < 0] = 0
    scores = a.mm(W2) + b2
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    loss += reg * torch.sum(W1 * W1) + reg * torch.sum(W2 * W2)
    grads = {}
    grads["W2"] = a.t().mm(dscores) + reg * 2 * W2
    grads["b2"] = torch.sum(dscores, dim=0)
    da = dscores.mm(W2.t())
    da[z <= 0] = 0
    grads["W1"] = X.t().mm(da) + reg * 2 * W1
    grads["b1"] = torch.sum(da, 0)
    return loss, grads


def train_two_layer(params, X, y, X_val, y_val, learning_rate, reg, num_iters, batch_size,
                    seed=0):
    gen = torch.Generator(device=X.device).manual_seed(seed)
    loss_history = []
    for it in range(num_iters):
        idx = torch.randint(X.shape[0], (batch_size,), generator=gen, device=X.device)
        loss, grads = two_layer_forward_backward(params, X[idx], y[idx], reg=reg)
        loss_history.append(float(loss))
        for name in params:
            params[name] -= learning_rate * grads[name]
    scores = two_layer_forward_backward(params, X_val)
    val_accuracy = float((torch.argmax(scores, dim=1) == y_val).sum()) / len(y_val)
    return {"loss_history": loss_history, "val_accuracy": val_accuracy}
