"""The estimators' ``device`` parameter: which JAX devices a fit runs on."""

import contextlib

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._messages import did_you_mean, one_of

#: Platform names ``device`` accepts (each where JAX has such devices).
PLATFORMS = ("cpu", "gpu", "tpu")


def _available():
    return ", ".join(str(d) for d in jax.devices())


def _one(name):
    if not isinstance(name, str):
        raise TypeError(
            f"device entries must be strings such as 'cpu', 'gpu' or 'gpu:1' (a "
            f"jax Device cannot be cloned or pickled; pass str(device)); got "
            f"{type(name).__name__}."
        )
    platform, colon, index = name.strip().lower().partition(":")
    if not platform or (colon and not (index.isascii() and index.isdigit())):
        raise ValueError(
            f"device={name!r} is not a device name: use a platform ('cpu', 'gpu', "
            "'tpu') or a platform and a non-negative index ('gpu:1'). JAX sees "
            f"{_available()}."
        )
    try:
        devices = jax.devices(platform)
    except RuntimeError:
        hint = "" if platform in PLATFORMS else (
            f" Platforms: {one_of(PLATFORMS)}, optionally with ':index', or "
            "['all']." + did_you_mean(platform, PLATFORMS)
        )  # fmt: skip
        raise ValueError(
            f"device={name!r} is not available: JAX sees {_available()}." + hint
        ) from None
    if not index:
        return devices[0]
    try:
        return devices[int(index)]
    except (ValueError, IndexError):
        raise ValueError(
            f"device={name!r} is not available: JAX sees {_available()}."
        ) from None


def resolve(device):
    """The devices of an estimator's ``device`` parameter (None: default).

    Returns None for JAX's default device, else a list of distinct
    ``jax.Device`` of one platform (more than one: data-parallel).
    """
    if device is None:
        return None
    if isinstance(device, str):
        return [_one(device)]
    names = list(device)
    if not names:
        raise ValueError("device must not be an empty list.")
    if names == ["all"]:
        return jax.devices()
    devices = [_one(n) for n in names]
    if len(set(devices)) != len(devices):
        raise ValueError(f"device lists a device twice: {names}.")
    if len({d.platform for d in devices}) > 1:
        raise ValueError(f"device must list devices of one platform; got {names}.")
    return devices


def default():
    """JAX's default device: ``jax.default_device``'s, else the first device."""
    chosen = getattr(jax.config, "jax_default_device", None)
    if isinstance(chosen, str):
        return jax.devices(chosen)[0]
    return chosen if chosen is not None else jax.devices()[0]


def label(device):
    """``device`` as the ``device`` parameter names it ('gpu:0', 'cpu:0')."""
    try:
        index = jax.devices(device.platform).index(device)
    except (RuntimeError, ValueError):
        index = device.id
    return f"{device.platform}:{index}"


def describe(devices):
    """Names of ``devices`` (None: the default device) and their kind.

    For example ``'gpu:0 (NVIDIA H100 80GB HBM3)'``, ``'gpu:0, gpu:1 (...)'``,
    or ``'cpu:0'`` (a device kind that only repeats the platform is omitted).
    """
    devices = [default()] if devices is None else list(devices)
    kinds = sorted(
        {d.device_kind for d in devices if d.device_kind.lower() != d.platform}
    )
    text = ", ".join(label(d) for d in devices)
    return f"{text} ({', '.join(kinds)})" if kinds else text


def scope(devices):
    """Context making the first of ``devices`` JAX's default device."""
    if devices is None:
        return contextlib.nullcontext()
    return jax.default_device(devices[0])


def batch_sharding(devices):
    """Sharding that splits arrays' first axis across ``devices`` (None for one)."""
    if devices is None or len(devices) < 2:
        return None
    return NamedSharding(Mesh(np.array(devices), ("batch",)), PartitionSpec("batch"))


def replicated(sharding):
    """The replicated sharding on ``sharding``'s devices."""
    return NamedSharding(sharding.mesh, PartitionSpec())


def to_device(tree, dtype=None):
    """Every array of ``tree`` as a JAX array of ``dtype`` (default: its own)
    on the default device.

    The conversion is done by numpy on the host and the result placed with
    ``jax.device_put``: ``jax.numpy.asarray`` of a numpy array or a Python
    number compiles a small program for each new shape and dtype, which adds
    up in the first fits of a process.
    """

    def put(a):
        if isinstance(a, jax.Array) and (dtype is None or a.dtype == dtype):
            return a
        return jax.device_put(np.asarray(a, dtype=dtype))

    return jax.tree_util.tree_map(put, tree)

