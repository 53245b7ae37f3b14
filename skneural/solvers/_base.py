"""The solver protocol.

A solver is a small scikit-learn-style object (constructor arguments are its
hyperparameters, visible to ``get_params`` so that ``GridSearchCV`` can search
``solver__learning_rate``). There are two kinds, told apart by their base class:

* :class:`StepwiseSolver` -- minibatch methods. They hand the estimator an
  ``optax.GradientTransformation`` and their numeric hyperparameters; the
  estimator runs whole epochs as one compiled ``lax.scan`` over minibatches.
* :class:`WholeBatchSolver` -- methods that see the whole objective at once
  (quasi-Newton, conjugate gradient, ...). They get a
  :class:`skneural._problem.Problem` -- the objective, its gradient and exact
  Hessian-vector products on a flat float64 parameter vector, compiled by
  JAX -- and return a :class:`WholeBatchResult`.
"""

import inspect
import pickle
from abc import ABC
from collections import OrderedDict
from numbers import Integral, Real

import optax
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from .._program_cache import describe, forget

# Compiled programs are keyed by the transformation object; building it once per
# (class, static options) lets every fit with the same structure reuse them.
# Least recently used first; at most MAX_TRANSFORMATIONS are kept (an evicted
# one is rebuilt, and its programs compiled again, when needed).
_TRANSFORMATIONS = OrderedDict()
MAX_TRANSFORMATIONS = 64

#: The constraint of every ``clip_norm``: a positive threshold, or None.
CLIP_NORM = [Interval(Real, 0, None, closed="neither"), None]


class Solver(BaseEstimator, ABC):
    """Base class of every skneural solver.

    ``_parameter_constraints`` (scikit-learn's constraints, from
    :mod:`sklearn.utils._param_validation`) lists the valid values of the
    constructor arguments; an estimator checks them when it fits with the
    solver (:meth:`sklearn.base.BaseEstimator._validate_params`) and raises
    :class:`~sklearn.utils._param_validation.InvalidParameterError` naming the
    solver's parameter. Arguments without an entry are not checked.
    """

    _parameter_constraints: dict = {}

    #: Whether the solver minimises the whole-data objective (its loss curve
    #: has one entry per iteration rather than per epoch).
    whole_batch = False


def as_given(value):
    """A structural argument used as it is given (see ``_static_params``)."""
    return value


def _cached(key, build, label=None):
    """The transformation cached under ``key`` (built by ``build()`` if new;
    ``key=None``: not cached), marked most recently used."""
    tx = None if key is None else _TRANSFORMATIONS.get(key)
    if tx is None:
        tx = build()
        if key is None:
            return tx
        _TRANSFORMATIONS[key] = tx
        if label is not None:
            describe(tx, label)
        while len(_TRANSFORMATIONS) > MAX_TRANSFORMATIONS:
            forget(_TRANSFORMATIONS.popitem(last=False)[1])
    _TRANSFORMATIONS.move_to_end(key)
    return tx


def _clip_norm(solver, clip_norm):
    """The one clipping threshold: the estimator's ``clip_norm`` or the
    solver's own (None: no clipping)."""
    own = getattr(solver, "clip_norm", None)
    if clip_norm is not None and own is not None:
        raise ValueError(
            f"clip_norm is set both on the estimator ({clip_norm}) and on its "
            f"solver ({own}); both clip the same gradient. Set one of them."
        )
    return own if clip_norm is None else clip_norm


def _injected(factory, static, hyper, clip_norm):
    """``optax.inject_hyperparams(factory)`` with its ``static`` and numeric
    ``hyper`` arguments, preceded by the clipping link when ``clip_norm`` is
    not None (then ``hyper`` gains ``clip_norm``, traced like the others)."""
    if clip_norm is not None:
        hyper["clip_norm"] = float(clip_norm)
        factory = _with_clipping(factory)
    return optax.inject_hyperparams(factory, static_args=tuple(static))(
        **static, **hyper
    )


class StepwiseSolver(Solver):
    """Base class of minibatch solvers built on optax.

    A subclass declares its hyperparameters once, as the arguments of
    ``__init__`` (which only stores them, as scikit-learn's estimators do),
    and implements :meth:`_factory`, a function that takes them by name and
    returns an ``optax.GradientTransformation``. The arguments named in
    ``_static_params`` are structural (compile-time; each maps to the
    function that normalises or checks its value); every other argument but
    ``clip_norm`` is numeric and traced (built with
    ``optax.inject_hyperparams``), so changing it does not recompile.
    ``_parameter_constraints`` gives the valid values of every argument.

    A ``clip_norm`` constructor argument is gradient clipping: when it is not
    None, the gradient ``g`` of every step is replaced by
    ``g * clip_norm / ||g||`` where its global norm ``||g||`` exceeds
    ``clip_norm`` (``optax.clip_by_global_norm``), before the algorithm sees
    it. The estimator's ``clip_norm`` is the same link (see
    :meth:`optax_transformation`); ``clip_norm`` is traced like the other
    numeric hyperparameters.

    The transformation's ``init`` runs with the hyperparameters of the first
    instance built for a given structure (the transformation is cached), so a
    subclass must not let its *initial state* depend on a numeric
    hyperparameter; make such an argument static instead, or set the state up
    in the first ``update``.

    ``_estimator_params`` maps constructor arguments to the estimator's
    MLP-style parameters they take when the solver is given by its name
    (:func:`skneural.solvers.named_solver`); arguments not listed keep their
    defaults.
    """

    #: Whether the estimator's ``learning_rate`` schedule ('invscaling',
    #: 'adaptive') applies to this solver (True for plain SGD, as in
    #: scikit-learn's MLP).
    uses_lr_schedule = False

    #: Structural constructor arguments: name -> function of the value giving
    #: the static argument of :meth:`_factory` (it may raise for a bad value).
    _static_params = {}

    #: Constructor argument -> the estimator parameter it takes when the
    #: solver is named (``solver='sgd'``).
    _estimator_params = {}

    _parameter_constraints = {"clip_norm": CLIP_NORM}

    @staticmethod
    def _factory(**kwargs):
        """Build the optax transformation from static and numeric arguments."""
        raise TypeError("StepwiseSolver subclasses define _factory")

    def _hyperparams(self):
        """The numeric (traced) arguments of :meth:`_factory`: the
        constructor arguments except the structural ones and ``clip_norm``."""
        params = self.get_params(deep=False)
        return {
            name: value for name, value in params.items()
            if name not in self._static_params and name != "clip_norm"
        }  # fmt: skip

    def _static(self):
        """The structural arguments of :meth:`_factory`."""
        return {name: cast(getattr(self, name))
                for name, cast in self._static_params.items()}  # fmt: skip

    def optax_transformation(self, clip_norm=None):
        """The optax transformation and the values of its hyperparameters.

        Parameters
        ----------
        clip_norm : float or None, default=None
            The estimator's ``clip_norm``. Gradient clipping (the estimator's
            or this solver's own ``clip_norm``; setting both is an error) is
            one link, ``optax.clip_by_global_norm``, before the algorithm, its
            threshold an injected hyperparameter ``clip_norm``: fits that
            differ only in its value share the compiled program. Without
            clipping there is no link.

        Returns
        -------
        tx : optax.GradientTransformation
            Built with ``optax.inject_hyperparams``, so its state holds the
            numeric hyperparameters (``state.hyperparams``).
        hyperparams : dict of str -> float
            Values to place in the state after ``tx.init``.
        """
        clip_norm = _clip_norm(self, clip_norm)
        hyper = {k: float(v) for k, v in self._hyperparams().items()}
        static = self._static()
        names = sorted(hyper) + ([] if clip_norm is None else ["clip_norm"])
        key = (type(self), tuple(sorted(static.items())), tuple(sorted(names)))
        cls = type(self)
        # The program depends on the class, its structural options and which
        # hyperparameters are injected (their values are traced).
        label = (f"{cls.__module__}.{cls.__qualname__}{key[1:]!r}"
                 if cls.__module__.startswith("skneural.") else None)  # fmt: skip
        tx = _cached(key, lambda: _injected(cls._factory, static, dict(hyper),
                                            clip_norm), label)  # fmt: skip
        if clip_norm is not None:
            hyper["clip_norm"] = float(clip_norm)
        return tx, hyper


def _with_clipping(factory):
    """``factory``'s transformation preceded by global-norm gradient clipping.

    The wrapper has ``factory``'s parameters plus ``clip_norm`` in its
    signature, which :func:`optax.inject_hyperparams` reads.
    """

    def clipped(clip_norm, **kwargs):
        return optax.chain(optax.clip_by_global_norm(clip_norm), factory(**kwargs))

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("clip_norm", keyword)] + [
        p.replace(kind=keyword) for p in inspect.signature(factory).parameters.values()
    ]
    clipped.__signature__ = inspect.Signature(params)
    return clipped


class _ByValue:
    """Pickles a user's optax transformation by value, with cloudpickle.

    optax transformations are closures, which the standard :mod:`pickle`
    cannot serialise; cloudpickle (a dependency of joblib, which vendored it
    before version 1.6) serialises them with
    their code, and the result loads with plain :func:`pickle.loads` (in any
    process where skneural and optax import). The loaded value is the
    transformation itself, not this holder. skops, whose point is to load
    without running code from the file, refuses it at ``dump`` time.
    """

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        try:  # joblib >= 1.6 depends on cloudpickle; older ones vendor it
            import cloudpickle
        except ImportError:  # pragma: no cover
            from joblib.externals import cloudpickle

        return (pickle.loads, (cloudpickle.dumps(self.value),))

    def __getstate__(self):  # what skops calls; pickle uses __reduce__
        raise TypeError(
            "This model's solver is an optax transformation, a function closure "
            "that skops cannot store without storing code. Use "
            "skneural.solvers.Optax (e.g. Optax(optax.adamw, learning_rate=1e-3)), "
            "which skops stores as the optax function's name and its arguments, "
            "or save the model with pickle or joblib."
        )


def portable_state(state, *names):
    """``state`` (a ``__getstate__`` dict) with the optax transformations
    under ``names`` wrapped to pickle by value (:class:`_ByValue`)."""
    wrapped = {
        name: _ByValue(state[name])
        for name in names
        if isinstance(state.get(name), optax.GradientTransformation)
    }
    return dict(state, **wrapped) if wrapped else state


class OptaxSolver(StepwiseSolver):
    """Any ``optax.GradientTransformation`` used as a minibatch solver.

    Parameters
    ----------
    transformation : optax.GradientTransformation
        Used as it is: the update it returns is added to the parameters. Its
        hyperparameters are whatever it was built with (build it with
        ``optax.inject_hyperparams`` to be able to change them without
        recompiling). Reusing the same object across fits reuses the compiled
        training program.

    Notes
    -----
    optax transformations are closures, which the standard :mod:`pickle`
    cannot serialise: an estimator holding one pickles it (with pickle, joblib
    or :func:`copy.deepcopy`) by value with cloudpickle (which joblib
    installs), and the pickle loads with plain :func:`pickle.loads`. skops refuses
    to store such a closure; :class:`Optax` (an optax function and its
    arguments) stores with skops too, and its arguments are searchable
    parameters.

    Examples
    --------
    >>> import optax
    >>> from skneural import NeuralClassifier
    >>> from skneural.solvers import OptaxSolver
    >>> clf = NeuralClassifier(solver=OptaxSolver(optax.lion(1e-4)))
    """

    _parameter_constraints = {"transformation": "no_validation"}

    def __init__(self, transformation):
        self.transformation = transformation

    def optax_transformation(self, clip_norm=None):
        """The transformation (see :meth:`StepwiseSolver.optax_transformation`).

        Without ``clip_norm`` it is the transformation itself, with no
        hyperparameters; with it, the transformation preceded by the
        clipping link, in ``optax.inject_hyperparams`` (hyperparameter
        ``clip_norm``), one per transformation object.
        """
        tx = self.transformation
        if clip_norm is None:
            return tx, {}
        try:
            key = (OptaxSolver, tx)
            hash(key)
        except TypeError:  # pragma: no cover - an unhashable transformation
            key = None
        clipped = _cached(key, lambda: _injected(lambda: tx, {}, {}, clip_norm))
        return clipped, {"clip_norm": float(clip_norm)}

    def __getstate__(self):
        return portable_state(super().__getstate__(), "transformation")


class Optax(StepwiseSolver):
    """An optax optimizer given as its function and arguments.

    ``Optax(optax.adamw, learning_rate=1e-3, weight_decay=1e-4)`` trains with
    ``optax.adamw(learning_rate=1e-3, weight_decay=1e-4)``. Unlike a ready
    transformation (:class:`OptaxSolver`), the arguments are parameters of
    this object: ``get_params`` lists them, so ``GridSearchCV`` can search
    ``solver__learning_rate``, and the model stores as a function name and
    plain values, which pickle, joblib and skops all save and load.

    Float arguments are traced (built with ``optax.inject_hyperparams``):
    changing them reuses the compiled training program. Other arguments
    (integers, booleans, strings, callables) are structural.

    Parameters
    ----------
    factory : callable
        A function returning an ``optax.GradientTransformation``, importable
        by name (``optax.adam``, ``optax.adamw``, ``optax.lion``, ... or a
        module-level function of your own).
    **kwargs
        Its arguments.

    Examples
    --------
    >>> import optax
    >>> from skneural import NeuralClassifier
    >>> from skneural.solvers import Optax
    >>> clf = NeuralClassifier(solver=Optax(optax.adamw, learning_rate=1e-3))
    >>> clf.get_params()["solver__learning_rate"]
    0.001
    """

    def __init__(self, factory, **kwargs):
        self.factory = factory
        self._arg_names = tuple(kwargs)
        for name, value in kwargs.items():
            setattr(self, name, value)

    def get_params(self, deep=True):
        """The factory and its arguments (see :meth:`set_params`)."""
        return {"factory": self.factory,
                **{name: getattr(self, name) for name in self._arg_names}}  # fmt: skip

    def set_params(self, **params):
        """Set the factory or any of its arguments (also ones not given yet).

        Returns
        -------
        self : Optax
        """
        if "factory" in params:
            self.factory = params.pop("factory")
        accepted = _argument_names(self.factory)
        for name, value in params.items():
            if accepted is not None and name not in accepted:
                raise ValueError(
                    f"Invalid parameter {name!r} for {self.factory!r}; its "
                    f"arguments are {sorted(accepted)}."
                )
            if name not in self._arg_names:
                self._arg_names = self._arg_names + (name,)
            setattr(self, name, value)
        return self

    def __repr__(self, N_CHAR_MAX=700):
        name = getattr(self.factory, "__qualname__", repr(self.factory))
        module = getattr(self.factory, "__module__", "")
        if module.startswith("optax"):
            name = "optax." + name
        args = "".join(f", {k}={getattr(self, k)!r}" for k in self._arg_names)
        return f"Optax({name}{args})"

    def _arguments(self):
        return {name: getattr(self, name) for name in self._arg_names}

    def optax_transformation(self, clip_norm=None):
        """The transformation (see :meth:`StepwiseSolver.optax_transformation`;
        the clipping link applies the estimator's ``clip_norm``)."""
        if clip_norm is not None:
            _clip_norm(self, clip_norm)  # a factory argument of that name too
        kwargs = self._arguments()
        hyper = {
            k: float(v) for k, v in kwargs.items()
            if isinstance(v, Real) and not isinstance(v, (bool, Integral))
        }  # fmt: skip
        static = {k: v for k, v in kwargs.items() if k not in hyper}
        names = sorted(hyper) + ([] if clip_norm is None else ["clip_norm"])
        try:
            key = (self.factory, tuple(sorted(static.items())), tuple(sorted(names)))
            hash(key)
        except TypeError:  # unhashable structural arguments: no reuse
            key = None
        tx = _cached(key, lambda: _injected(self.factory, static, dict(hyper),
                                            clip_norm))  # fmt: skip
        if clip_norm is not None:
            hyper["clip_norm"] = float(clip_norm)
        return tx, hyper


def _argument_names(factory):
    """Names ``factory`` accepts, or None when it takes ``**kwargs``."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}
