#!/usr/bin/python3
"""Convert PyTorch weights into libdsmooth model checkpoints (docs/checkpoints.md).

Two source layouts are supported:

pixelcnnpp -- a PixelCNN++ trained with pixel-cnn-pp (github.com/pclucas14/pixel-cnn-pp, the
    PyTorch port the method's official code builds on): its `PixelCNN` module's state_dict,
    keys u_init.*, ul_init.{0,1}.*, up_layers.{i}.{u,ul}_stream.{j}.{conv_input,nin_skip,
    conv_out}.*, downsize_{u,ul}_stream.{i}.*, down_layers.*, upsize_{u,ul}_stream.{i}.*,
    nin_out.*, with weight-normalised convolutions (weight_g/weight_v, or the newer
    parametrizations.weight.original0/original1), which are folded: W = g v / ||v||.
    nr_filters, nr_resnet, nr_logistic_mix and input_channels (1 or 3) are read from the
    shapes; the image size is not stored in a state_dict: give --height and --width
    (multiples of 4, as pixel-cnn-pp needs). The network is libdsmooth's DS_ARCH_PIXELCNNPP
    unconditional model (lib/model/arch_pixelcnnpp.c), the head the 256-bin discretized logistic
    mixture over [-1, 1] (pixel-cnn-pp's loss) or, with --head continuous, the logistic
    mixture density (models of smoothed data). Dropout is a training-time operation and is
    not part of the checkpoint.

made -- a MADE of masked linear layers (Germain et al. 2015; e.g. Karpathy's pytorch-made):
    the 2-D `weight` (out, in), `bias` and optional `mask` tensors of every layer, in module
    order, with inputs [x (D values), c (C values, stage-2 models)] and a logistic mixture of
    K components per dimension as output: 3K outputs per dimension, [logits, means,
    log-scales], ordered dimension-major (output o is dimension o // 3K) or, with
    --output-order param-major, parameter-major as pytorch-made orders its outputs (o is
    dimension o % D). The autoregressive order must be the natural one (x_0, x_1, ...); the
    hidden units may have any degrees: each is moved to a slot of libdsmooth's fixed degree
    pattern with the same connectivity (layers get wider, the extra units have zero weights;
    a unit that sees no input is a constant and is folded into the next layer's biases).
    Log-scales are clamped below at -7 as libdsmooth (and pixel-cnn-pp) do.

Sources: a .npz of named arrays, or (with torch installed) a .pt/.pth file holding a
state_dict, {"state_dict": ...}, or a module.

    convert_torch.py pixelcnnpp model.pth --height 32 --width 32 --out model.dsm
    convert_torch.py made made.pt --output-order param-major --out made.dsm

Only numpy is needed for .npz sources (tests/torch_convert checks the conversion against
PyTorch's log-probabilities without torch).
"""
import argparse
import struct
import sys
import zlib

import numpy as np

ARCH_MADE, ARCH_PIXELCNNPP = 0, 1
HEADS = {"continuous": 0, "discretized": 1}
ACTIVATIONS = {"relu": 0, "tanh": 1, "elu": 2}


class ConversionError(Exception):
    """The source does not have the layout this converter reads."""


# ---- loading --------------------------------------------------------------------------------


def load_state(path):
    """name -> float64 numpy array, in the source's order."""
    if path.endswith(".npz"):
        with np.load(path) as z:
            return {k: np.asarray(z[k], dtype=np.float64) for k in z.files}
    try:
        import torch
    except ImportError:
        raise ConversionError("%s: reading .pt/.pth needs torch (or save the state_dict as "
                              ".npz: np.savez(f, **{k: v.numpy() for k, v in sd.items()}))" % path)
    obj = torch.load(path, map_location="cpu")
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    state = {}
    for k, v in obj.items():
        if hasattr(v, "detach"):
            state[k[7:] if k.startswith("module.") else k] = v.detach().cpu().double().numpy()
    return state


def fold_weight_norm(g, v):
    """W = g v / ||v||, the norm over every dimension but the one g spans (torch's dim)."""
    if g.ndim == 0 or g.size == 1 and v.ndim > 0 and v.shape[0] != 1:
        return v * (g.reshape(()) / np.sqrt(np.sum(v * v)))
    dims = [d for d in range(v.ndim) if g.shape[d] == 1 or g.shape[d] != v.shape[d]]
    keep = [d for d in range(v.ndim) if d not in dims]
    if len(keep) != 1:
        raise ConversionError("weight_g of shape %s does not match weight_v %s" % (g.shape, v.shape))
    norm = np.sqrt(np.sum(v * v, axis=tuple(dims), keepdims=True))
    return v * (g / norm)


def weight(state, prefix):
    """The effective weight of module `prefix` (weight-normalised or plain)."""
    for gk, vk in ((prefix + ".weight_g", prefix + ".weight_v"),
                   (prefix + ".parametrizations.weight.original0",
                    prefix + ".parametrizations.weight.original1")):
        if gk in state and vk in state:
            return fold_weight_norm(state[gk], state[vk])
    if prefix + ".weight" in state:
        return state[prefix + ".weight"]
    raise ConversionError("no weight for %s (looked for %s.weight_g/weight_v and %s.weight)"
                          % (prefix, prefix, prefix))


# ---- checkpoints -----------------------------------------------------------------------------


def model_payload(arch, dim, cond_dim, K, head, bins, bin_lo, bin_hi, activation, residual,
                  hidden, section, params):
    out = struct.pack("<IQQIIIffIII", arch, dim, cond_dim, K, head, bins, bin_lo, bin_hi,
                      activation, residual, len(hidden))
    out += b"".join(struct.pack("<Q", w) for w in hidden) + section
    params = np.ascontiguousarray(params, dtype="<f4")
    if not np.all(np.isfinite(params)):
        raise ConversionError("a converted weight is not finite")
    return out + struct.pack("<Q", params.size) + params.tobytes()


def write_checkpoint(path, payload):
    """Format version 2, record kind 1 (model), CRC-32 over everything before it."""
    body = b"DSMOOTH\x1a" + struct.pack("<IIQ", 2, 1, len(payload)) + payload
    with open(path, "wb") as f:
        f.write(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))


# ---- PixelCNN++ ------------------------------------------------------------------------------


def count(state, prefix):
    n = 0
    while any(k.startswith("%s.%d." % (prefix, n)) for k in state):
        n += 1
    return n


def pixelcnnpp_params(state):
    """Flat parameters in libdsmooth's order (the order the forward pass uses them) and the
    network's sizes."""
    flat, used = [], set()

    def conv(prefix, nin=False):
        w = weight(state, prefix)
        if nin:  # a Linear over channels is a 1x1 convolution
            w = w.reshape(w.shape[0], w.shape[1], 1, 1)
        flat.append(w.reshape(-1))
        flat.append(state[prefix + ".bias"].reshape(-1))
        used.update(k for k in state if k.startswith(prefix + "."))
        return w

    def resnet(prefix, skip):
        conv(prefix + ".conv_input.conv")
        if skip:
            conv(prefix + ".nin_skip.lin_a", nin=True)
        conv(prefix + ".conv_out.conv")

    w0 = conv("u_init.conv")
    filters, channels = w0.shape[0], w0.shape[1] - 1
    if w0.shape[2:] != (2, 3) or channels not in (1, 3):
        raise ConversionError("u_init.conv has shape %s: expected (F, C + 1, 2, 3), C = 1 or 3" % (w0.shape,))
    conv("ul_init.0.conv")
    conv("ul_init.1.conv")
    resnets = count(state, "up_layers.0.u_stream")
    if resnets < 1 or count(state, "up_layers") != 3 or count(state, "down_layers") != 3:
        raise ConversionError("expected 3 up_layers and 3 down_layers with u_stream resnets (pixel-cnn-pp's PixelCNN)")
    for level in range(3):
        for j in range(resnets):
            resnet("up_layers.%d.u_stream.%d" % (level, j), False)
            resnet("up_layers.%d.ul_stream.%d" % (level, j), True)
        if level < 2:
            conv("downsize_u_stream.%d.conv" % level)
            conv("downsize_ul_stream.%d.conv" % level)
    for i in range(3):
        depth = count(state, "down_layers.%d.u_stream" % i)
        if depth != (resnets if i == 0 else resnets + 1):
            raise ConversionError("down_layers.%d has %d resnets; pixel-cnn-pp has nr_resnet, "
                                  "then nr_resnet + 1 twice" % (i, depth))
        for j in range(depth):
            resnet("down_layers.%d.u_stream.%d" % (i, j), True)
            resnet("down_layers.%d.ul_stream.%d" % (i, j), True)
        if i < 2:
            conv("upsize_u_stream.%d.deconv" % i)
            conv("upsize_ul_stream.%d.deconv" % i)
    head = conv("nin_out.lin_a", nin=True)
    per_pixel = 3 if channels == 1 else 10
    if head.shape[0] % per_pixel:
        raise ConversionError("nin_out has %d outputs, not a multiple of %d" % (head.shape[0], per_pixel))
    unused = sorted(k for k in state if k not in used and not k.endswith("init_padding"))
    if unused:
        raise ConversionError("unexpected tensors (not pixel-cnn-pp's PixelCNN?): %s" % ", ".join(unused[:5]))
    return np.concatenate(flat), channels, filters, resnets, head.shape[0] // per_pixel


def convert_pixelcnnpp(state, height, width, head="discretized"):
    """Checkpoint payload of a pixel-cnn-pp state_dict."""
    params, channels, filters, resnets, K = pixelcnnpp_params(state)
    for name, v in (("height", height), ("width", width)):
        if not 4 <= v <= 4096:
            raise ConversionError("--%s %d: must be in 4..4096" % (name, v))
    section = struct.pack("<IQQIIfII", channels, height, width, filters, resnets, 0.0, 0, 0)
    dim = channels * height * width
    payload = model_payload(ARCH_PIXELCNNPP, dim, 0, K, HEADS[head], 256, -1.0, 1.0, 0, 0,
                            [64, 64], section, params)
    return payload, dict(channels=channels, filters=filters, resnets=resnets, components=K,
                         params=params.size)


# ---- MADE -------------------------------------------------------------------------------------


def made_layers(state):
    """[(W, b, mask or None)] in module order: every 2-D `*.weight` with its bias."""
    layers = []
    for k in state:
        if k.endswith(".weight") and state[k].ndim == 2:
            prefix = k[: -len(".weight")]
            if prefix + ".bias" not in state:
                raise ConversionError("%s has no bias" % prefix)
            mask = state.get(prefix + ".mask")
            layers.append((state[k], state[prefix + ".bias"], mask))
    if len(layers) < 2:
        raise ConversionError("a MADE needs at least one hidden layer (found %d linear layers)" % len(layers))
    return layers


def act_fn(name):
    return {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
            "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0)))}[name]


def convert_made(state, cond_dim=0, output_order="dim-major", activation="relu",
                 head="continuous", bins=256, bin_lo=-1.0, bin_hi=1.0):
    layers = made_layers(state)
    weights = [(W * M if M is not None else W, b) for W, b, M in layers]
    n_in = weights[0][0].shape[1]
    D = n_in - cond_dim
    n_out = weights[-1][0].shape[0]
    if D < 1 or n_out % (3 * D):
        raise ConversionError("%d inputs (C = %d) and %d outputs: not 3K outputs per dimension"
                              % (n_in, cond_dim, n_out))
    K = n_out // (3 * D)
    act = act_fn(activation)
    # output rows into libdsmooth's order: dimension d, then [logits, means, log-scales]
    Wl, bl = weights[-1]
    if output_order == "param-major":
        order = [p * D + d for d in range(D) for p in range(3 * K)]
    else:
        order = list(range(n_out))
    weights[-1] = (Wl[order], bl[order])

    lo = 0 if (cond_dim > 0 or D == 1) else 1
    span = D - lo
    # degrees (libdsmooth's convention): x_d has d + 1, c has 0; a hidden unit the largest
    # degree it sees; output d may see degrees <= d
    degree = np.concatenate([np.arange(1, D + 1), np.zeros(cond_dim, dtype=int)])
    constant = np.zeros(n_in, dtype=bool)  # inputs are never constant
    value = np.zeros(n_in)
    out_layers = []  # (W, b) per libdsmooth layer, before slotting
    prev_slots = None  # libdsmooth column of each previous unit (-1: dropped)
    prev_width = n_in
    for li, (W, b) in enumerate(weights):
        W = W.copy()
        b = b.copy()
        # fold the constant units of the previous layer into the biases
        if constant.any():
            b = b + W[:, constant] @ value[constant]
            W[:, constant] = 0
        last = li == len(weights) - 1
        connected = W != 0
        if last:
            for o in range(W.shape[0]):
                d = o // (3 * K)
                seen = degree[connected[o]]
                if seen.size and seen.max() > d:
                    raise ConversionError("output of dimension %d depends on x_%d: not a MADE in the "
                                          "natural order" % (d, seen.max() - 1))
            new_degree = None
        else:
            new_degree = np.array([degree[connected[o]].max() if connected[o].any() else 0
                                   for o in range(W.shape[0])])
        # columns in libdsmooth's slot order
        if prev_slots is not None:
            cols = np.zeros((W.shape[0], prev_width))
            for u, slot in enumerate(prev_slots):
                if slot >= 0:
                    cols[:, slot] = W[:, u]
            W = cols
        if last:
            out_layers.append((W, b))
            break
        # this layer's units: constants (degree 0 in an unconditional model) are folded,
        # degree D units reach no output and are dropped, the rest get slots
        const_now = (new_degree == 0) & (lo == 1)
        value_now = np.zeros(W.shape[0])
        if const_now.any():
            # only biases (and folded constants) feed them
            value_now[const_now] = act(b[const_now])
        dropped = new_degree >= D
        slots = -np.ones(W.shape[0], dtype=int)
        used = {}
        for u in range(W.shape[0]):
            if const_now[u] or dropped[u]:
                continue
            m = int(new_degree[u])
            j = used.get(m, 0)
            used[m] = j + 1
            slots[u] = (m - lo) + span * j
        width = span * max(used.values()) if used else span
        if width > 65536:
            raise ConversionError("layer %d would need %d units (at most 65536)" % (li, width))
        Ws = np.zeros((width, W.shape[1]))
        bs = np.zeros(width)
        for u in range(W.shape[0]):
            if slots[u] >= 0:
                Ws[slots[u]] = W[u]
                bs[slots[u]] = b[u]
        out_layers.append((Ws, bs))
        degree = new_degree  # of this layer's units, in their original order
        constant = const_now
        value = value_now
        prev_slots = slots
        prev_width = width
    hidden = [W.shape[0] for W, _ in out_layers[:-1]]
    params = np.concatenate([np.concatenate([W.reshape(-1), b]) for W, b in out_layers])
    payload = model_payload(ARCH_MADE, D, cond_dim, K, HEADS[head], bins, bin_lo, bin_hi,
                            ACTIVATIONS[activation], 0, hidden, b"", params)
    return payload, dict(dim=D, cond_dim=cond_dim, components=K, hidden=hidden, params=params.size)


# ---- command line -----------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert PyTorch weights (pixel-cnn-pp PixelCNN++, "
                                 "or a MADE) into a libdsmooth checkpoint.")
    sub = ap.add_subparsers(dest="layout", required=True)
    p = sub.add_parser("pixelcnnpp", help="a pixel-cnn-pp PixelCNN state_dict")
    p.add_argument("source", help=".npz of the state_dict's arrays, or .pt/.pth (needs torch)")
    p.add_argument("--height", type=int, required=True, help="image height the model is for")
    p.add_argument("--width", type=int, required=True, help="image width")
    p.add_argument("--head", choices=sorted(HEADS), default="discretized",
                   help="discretized (pixel-cnn-pp's 256-bin loss, default) or continuous")
    p.add_argument("--out", required=True, help="the checkpoint to write")
    m = sub.add_parser("made", help="a MADE of masked linear layers")
    m.add_argument("source")
    m.add_argument("--cond-dim", type=int, default=0, help="conditioning inputs after x (stage 2: C = D)")
    m.add_argument("--output-order", choices=["dim-major", "param-major"], default="dim-major",
                   help="dim-major: output o belongs to dimension o // 3K; param-major "
                        "(pytorch-made): dimension o %% D")
    m.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    m.add_argument("--head", choices=sorted(HEADS), default="continuous")
    m.add_argument("--bins", type=int, default=256, help="discretized head: number of bins")
    m.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    try:
        state = load_state(a.source)
        if a.layout == "pixelcnnpp":
            payload, info = convert_pixelcnnpp(state, a.height, a.width, a.head)
        else:
            payload, info = convert_made(state, a.cond_dim, a.output_order, a.activation, a.head, a.bins)
        write_checkpoint(a.out, payload)
    except (ConversionError, OSError, KeyError) as e:
        print("convert_torch: %s" % e, file=sys.stderr)
        return 1
    print("wrote %s: %s %s" % (a.out, a.layout, ", ".join("%s %s" % kv for kv in info.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
