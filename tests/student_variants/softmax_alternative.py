"""A correct `softmax_backprop` in another style than the reference: log_softmax, explicit
one-hot, einsum gradients, the ReLU mask taken on the post-activation (equivalent), and
minibatches drawn as shuffled epochs."""
import torch


def softmax_loss(scores, y):
    n = scores.shape[0]
    log_p = torch.log_softmax(scores, dim=1)
    onehot = torch.nn.functional.one_hot(y, scores.shape[1]).to(scores.dtype)
    loss = -(log_p * onehot).sum() / n
    return loss, (log_p.exp() - onehot) / n


def two_layer_forward_backward(params, X, y=None, reg=0.0):
    h = torch.relu(torch.einsum("nd,dh->nh", X, params["W1"]) + params["b1"])
    scores = torch.einsum("nh,hc->nc", h, params["W2"]) + params["b2"]
    if y is None:
        return scores
    loss, ds = softmax_loss(scores, y)
    loss = loss + reg * (params["W1"].pow(2).sum() + params["W2"].pow(2).sum())
    dh = torch.einsum("nc,hc->nh", ds, params["W2"])
    dh = torch.where(h > 0, dh, torch.zeros_like(dh))
    grads = {
        "W2": torch.einsum("nh,nc->hc", h, ds) + 2 * reg * params["W2"],
        "b2": torch.einsum("nc->c", ds),
        "W1": torch.einsum("nd,nh->dh", X, dh) + 2 * reg * params["W1"],
        "b1": torch.einsum("nh->h", dh),
    }
    return loss, grads


def train_two_layer(params, X, y, X_val, y_val, learning_rate, reg, num_iters, batch_size,
                    seed=0):
    params = {k: v.clone() for k, v in params.items()}
    g = torch.Generator(device=X.device)
    g.manual_seed(seed)
    order, pos, history = torch.randperm(len(X), generator=g, device=X.device), 0, []
    for _ in range(num_iters):
        if pos + batch_size > len(X):
            order, pos = torch.randperm(len(X), generator=g, device=X.device), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        loss, grads = two_layer_forward_backward(params, X[idx], y[idx], reg)
        for k in params:
            params[k] = params[k] - learning_rate * grads[k]
        history.append(loss.item())
    pred = two_layer_forward_backward(params, X_val).argmax(1)
    return {"loss_history": history, "val_accuracy": (pred == y_val).float().mean().item()}
