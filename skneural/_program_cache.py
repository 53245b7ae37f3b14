"""Compiled programs kept across fits and across processes.

Every compiled function of skneural is declared with :func:`program` instead
of ``jax.jit``. A call looks its program up by a key made of the function, its
static arguments and the shapes and dtypes of its array arguments:

1. in memory (a bounded least-recently-used table of this process);
2. on disk, in the persistent cache directory, where a program compiled by an
   earlier process (or another worker of the same grid search) is loaded
   without tracing, lowering or compiling anything;
3. otherwise it is traced and compiled by JAX, used, and written to disk.

Where the cache lives: ``$SKNEURAL_CACHE_DIR`` if set (``off`` switches the
persistent cache off), else ``$XDG_CACHE_HOME/skneural``, else
``~/.cache/skneural``. Entries are keyed by everything that can change a
program: skneural's own source, the jax and jaxlib versions, the backend, its
device kind and platform version, the CPU's instruction-set flags,
``XLA_FLAGS``, the x64 mode and the default matmul precision. A program is only
stored when every static argument has a stable description (names, numbers,
skneural's own objects); a user's callable activation or optax transformation
is compiled by JAX as usual and kept in memory only.

Writers never block each other: an entry is written to a temporary file and
renamed into place, so concurrent writers of the same entry (``n_jobs``
workers) leave one complete file. A truncated, corrupt or unreadable entry is
ignored, removed and recompiled. A directory that cannot be written (read-only,
full) switches the disk cache off for the process with one warning. The
directory is kept under ``SKNEURAL_CACHE_MAX_BYTES`` (default 512 MiB) by
removing the least recently used entries.

JAX's own persistent compilation cache (``jax_compilation_cache_dir``) is not
touched: when a user has configured it, skneural's cache sits in front of it
(a hit here skips JAX entirely; a miss here compiles through JAX, which may
then serve the executable from its own cache).
"""

import collections
import hashlib
import os
import pathlib
import pickle
import platform
import tempfile
import threading
import warnings
from dataclasses import fields, is_dataclass

import jax
import numpy as np

#: Programs kept in memory by one process (each holds its compiled executable).
MEMORY_ENTRIES = 256
#: Default bound on the size of the cache directory.
DEFAULT_MAX_BYTES = 512 * 2**20

_FORMAT = b"skneural-program-1\n"
_lock = threading.RLock()
_memory = collections.OrderedDict()
#: Stable descriptions of static objects that have no value of their own (the
#: optax transformations skneural builds): id -> (object, description).
_named = {}
_state = {"dir": None, "resolved": False, "disabled_reason": None}
#: Counters per thread, read by the verbose summary of a fit.
_counts = threading.local()


class Unstable(Exception):
    """A static argument has no description that is the same in every process."""


def describe(obj, description):
    """Give ``obj`` (used as a static argument) a stable ``description``.

    For objects built by skneural from values alone, such as the optax
    transformation of a solver class and its structural options.
    """
    with _lock:
        _named[id(obj)] = (obj, str(description))
    return obj


def forget(obj):
    """Drop the description of ``obj`` (no longer used by skneural)."""
    with _lock:
        _named.pop(id(obj), None)


def _stable(obj):
    """A string that describes ``obj`` identically in every process."""
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return f"{type(obj).__name__}:{obj!r}"
    named = _named.get(id(obj))
    if named is not None and named[0] is obj:
        return f"named:{named[1]}"
    if isinstance(obj, np.dtype):
        return f"dtype:{obj.str}"
    if isinstance(obj, (tuple, list)):
        inner = ",".join(_stable(o) for o in obj)
        name = type(obj).__name__
        if hasattr(obj, "_fields"):  # a NamedTuple: its class must be ours
            _own(type(obj))
            name = f"{type(obj).__module__}.{type(obj).__qualname__}"
        return f"{name}({inner})"
    if isinstance(obj, dict):
        items = sorted((str(k), _stable(v)) for k, v in obj.items())
        return "dict(" + ",".join(f"{k}={v}" for k, v in items) + ")"
    cls = type(obj)
    if is_dataclass(obj):
        _own(cls)
        inner = ",".join(f"{f.name}={_stable(getattr(obj, f.name))}" for f in fields(obj))
        return f"{cls.__module__}.{cls.__qualname__}({inner})"
    if cls.__module__.startswith("skneural.") and hasattr(obj, "__reduce__"):
        # skneural's value objects (Activation) reduce to a constructor call
        # of plain values.
        rebuild, args = obj.__reduce__()[:2]
        return f"{cls.__module__}.{cls.__qualname__}{_stable(tuple(args))}"
    if callable(obj) and getattr(obj, "__module__", "") and (
        obj.__module__.split(".")[0] in ("skneural", "jax", "optax", "numpy")
    ):
        # Library functions (jax.numpy.tanh): their code is fixed by the
        # library versions, which are part of every key.
        qualname = getattr(obj, "__qualname__", "")
        if qualname and "<" not in qualname:
            return f"fn:{obj.__module__}.{qualname}"
    raise Unstable(repr(obj))


def _own(cls):
    if not cls.__module__.startswith("skneural."):
        raise Unstable(cls.__qualname__)


def _source_fingerprint():
    """A hash of skneural's own source files (a change recompiles)."""
    digest = hashlib.sha256()
    root = pathlib.Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cpu_flags():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}"


_environment = None


def _environment_key():
    """What every program depends on beyond its own arguments (computed once)."""
    global _environment
    if _environment is None:
        import jaxlib

        device = jax.devices()[0]
        parts = [
            _FORMAT.decode().strip(),
            _source_fingerprint(),
            f"jax {jax.__version__} jaxlib {jaxlib.__version__}",
            f"{device.platform} {device.device_kind}",
            getattr(device.client, "platform_version", ""),
            _cpu_flags(),
            os.environ.get("XLA_FLAGS", ""),
        ]
        _environment = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return _environment


def cache_dir():
    """The persistent cache directory, or None when it is switched off.

    ``$SKNEURAL_CACHE_DIR`` (``off``, ``0``, ``false`` or ``none``: no
    persistent cache), else ``$XDG_CACHE_HOME/skneural``, else
    ``~/.cache/skneural``.
    """
    with _lock:
        if not _state["resolved"]:
            _state["dir"] = _resolve_dir()
            _state["resolved"] = True
        return _state["dir"]


def _resolve_dir():
    value = os.environ.get("SKNEURAL_CACHE_DIR")
    if value is not None:
        if value.strip().lower() in ("off", "0", "false", "none", ""):
            return None
        return pathlib.Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = pathlib.Path(xdg).expanduser() if xdg else pathlib.Path.home() / ".cache"
    return base / "skneural"


def reset():
    """Forget the in-memory programs and re-read the cache settings."""
    global _environment
    with _lock:
        _memory.clear()
        _state.update(dir=None, resolved=False, disabled_reason=None)
        _environment = None


def clear():
    """Remove every entry of the persistent cache directory (and the memory)."""
    directory = cache_dir()
    with _lock:
        _memory.clear()
    if directory is not None and directory.is_dir():
        for path in directory.glob("*.prog"):
            try:
                path.unlink()
            except OSError:
                pass


def _disable(reason):
    with _lock:
        if _state["disabled_reason"] is None:
            _state["disabled_reason"] = reason
            warnings.warn(
                f"skneural's program cache is off for this process: {reason}. "
                "Set SKNEURAL_CACHE_DIR to a writable directory, or to 'off' to "
                "silence this warning.",
                RuntimeWarning,
                stacklevel=4,
            )


def _count(what):
    setattr(_counts, what, getattr(_counts, what, 0) + 1)


def counts():
    """Programs found in memory, loaded from disk and compiled, in this thread."""
    return {k: getattr(_counts, k, 0) for k in ("memory", "disk", "compiled")}


def _leaf_signature(leaf):
    if isinstance(leaf, jax.core.Tracer):
        # Called inside another transformation (jit, vmap, grad): JAX's own
        # jit composes with it, a compiled executable does not.
        raise Unstable("traced argument")
    if isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
        weak = bool(getattr(leaf, "weak_type", False))
        return (tuple(leaf.shape), leaf.dtype.str, weak)
    if isinstance(leaf, (bool, int, float, complex)):
        return ((), type(leaf).__name__, True)
    raise Unstable(type(leaf).__name__)


def _single_device():
    """Whether calls run on the only device of the default backend (programs
    compiled for other placements are left to JAX's own caches)."""
    devices = jax.devices()
    if len(devices) != 1:
        return False
    default = jax.config.jax_default_device
    return default is None or default == devices[0]


class _Program:
    """A function compiled per static arguments and argument shapes."""

    def __init__(self, fun, static_argnames):
        self.fun = fun
        self.static_argnames = tuple(static_argnames)
        self.jitted = jax.jit(fun, static_argnames=self.static_argnames)
        self.name = f"{fun.__module__}.{fun.__qualname__}"
        self.__wrapped__ = fun
        self.__doc__ = fun.__doc__
        self.__name__ = fun.__name__
        self.__qualname__ = fun.__qualname__
        self.__module__ = fun.__module__

    def lower(self, *args, compiler_options=None, **kwargs):
        """``jax.jit``'s lowering (``compiler_options`` go to its ``compile``)."""
        return self.jitted.lower(*args, **kwargs)

    def clear_cache(self):
        """Drop this function's programs from memory (the disk keeps them)."""
        with _lock:
            for key in [k for k in _memory if k[0] == self.name]:
                del _memory[key]
        self.jitted.clear_cache()

    def _cache_size(self):
        """Programs of this function held in memory (here and in JAX's jit)."""
        with _lock:
            mine = sum(1 for key in _memory if key[0] == self.name)
        return mine + self.jitted._cache_size()

    def __call__(self, *args, compiler_options=None, **kwargs):
        """Call the program. ``compiler_options`` (XLA options, a dict; part
        of the key) are passed to the compilation of a new program."""
        statics = {k: kwargs.pop(k) for k in self.static_argnames if k in kwargs}
        if not _single_device():
            return self.jitted(*args, **kwargs, **statics)
        try:
            static_key = _stable(tuple(sorted(statics.items())))
            leaves, treedef = jax.tree_util.tree_flatten((args, kwargs))
            signature = tuple(_leaf_signature(leaf) for leaf in leaves)
        except Unstable:
            return self.jitted(*args, **kwargs, **statics)
        key = (
            self.name,
            static_key,
            str(treedef),
            signature,
            bool(jax.config.jax_enable_x64),
            str(jax.config.jax_default_matmul_precision),
            _stable(compiler_options or {}),
        )
        with _lock:
            compiled = _memory.get(key)
            if compiled is not None:
                _memory.move_to_end(key)
        if compiled is not None:
            _count("memory")
        else:
            compiled = self._load_or_compile(key, args, kwargs, statics,
                                             compiler_options)  # fmt: skip
            with _lock:
                _memory[key] = compiled
                while len(_memory) > MEMORY_ENTRIES:
                    _memory.popitem(last=False)
        return compiled(*args, **kwargs)

    def _load_or_compile(self, key, args, kwargs, statics, options=None):
        directory = cache_dir()
        path = None
        if directory is not None and _state["disabled_reason"] is None:
            digest = hashlib.sha256(
                (_environment_key() + repr(key)).encode()
            ).hexdigest()
            path = directory / f"{digest}.prog"
            compiled = _read(path)
            if compiled is not None:
                _count("disk")
                return compiled
        lowered = self.jitted.lower(*args, **kwargs, **statics)
        compiled = lowered.compile(compiler_options=dict(options) if options else None)
        _count("compiled")
        if path is not None and not _calls_library_kernels(lowered):
            _write(path, compiled)
        return compiled


def _calls_library_kernels(lowered):
    """Whether a program calls kernels of jaxlib's own libraries (custom
    calls: LAPACK's solvers and decompositions on a CPU).

    Such a program is not stored: a new process registers those kernels only
    when it lowers a program that uses them, and running an executable
    loaded from disk before that crashes the process. They are compiled in
    each process (the linear solves of the second-order solvers).
    """
    try:
        return "custom_call" in lowered.as_text()
    except Exception:  # noqa: BLE001 - unknown: do not store it
        return True


def _read(path):
    """The program stored at ``path``; None if missing, corrupt or unloadable."""
    from jax.experimental import serialize_executable

    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        header, digest, payload = blob[: len(_FORMAT)], blob[len(_FORMAT):][:32], (
            blob[len(_FORMAT) + 32:]
        )
        if header != _FORMAT or hashlib.sha256(payload).digest() != digest:
            raise ValueError("corrupt entry")
        serialized, in_tree, out_tree = pickle.loads(payload)
        compiled = serialize_executable.deserialize_and_load(
            serialized, in_tree, out_tree
        )
    except Exception:  # noqa: BLE001 - any unreadable entry is recompiled
        try:
            path.unlink()
        except OSError:
            pass
        return None
    try:
        os.utime(path)  # least recently used is evicted first
    except OSError:
        pass
    return compiled


def _write(path, compiled):
    from jax.experimental import serialize_executable

    try:
        payload = pickle.dumps(serialize_executable.serialize(compiled))
    except Exception:  # noqa: BLE001 - a program that cannot be serialised
        return
    blob = _FORMAT + hashlib.sha256(payload).digest() + payload
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as exc:
        _disable(f"cannot write to {directory} ({exc.strerror or exc})")
        return
    _evict(directory)


def max_bytes():
    """The size bound of the cache directory (``SKNEURAL_CACHE_MAX_BYTES``)."""
    try:
        return int(os.environ.get("SKNEURAL_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))
    except ValueError:
        return DEFAULT_MAX_BYTES


def _evict(directory):
    """Remove least recently used entries until the directory fits its bound."""
    limit = max_bytes()
    try:
        entries = []
        for path in directory.glob("*.prog"):
            stat = path.stat()
            entries.append((stat.st_mtime, stat.st_size, path))
    except OSError:
        return
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        try:
            path.unlink()
            total -= size
        except OSError:
            pass


def program(fun=None, *, static_argnames=()):
    """``jax.jit`` with skneural's program cache (see the module docstring).

    Used as ``@program`` or ``@program(static_argnames=(...))``; the result is
    called as the jitted function would be.
    """
    if fun is None:
        return lambda f: _Program(f, static_argnames)
    return _Program(fun, static_argnames)
