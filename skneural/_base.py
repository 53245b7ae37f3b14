"""BaseNeural: the parameters, fitting and prediction shared by the estimators.

Data flow of ``fit``: parameter validation -> ``validate_data`` and label
encoding -> :func:`skneural._network.init` -> a solver: either a stepwise one,
run here epoch by epoch through the compiled
:func:`skneural.solvers._stepwise.run_epoch`, or a whole-batch one, handed the
compiled objective on a flat float64 vector -> numpy fitted attributes.
"""

import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    validate_data,
)

from . import _devices, _network, _sparse
from ._activations import (
    ACTIVATIONS,
    LAYER_ACTIVATIONS,
    STEP_FUNCTIONS,
    Activation,
    ActivationNames,
    resolve,
)
from ._batched import _prefitted
from ._checks import (
    check_hyperparams,
    check_transformation,
    compute_dtype,
)
from ._export import SklearnConversionMixin
from ._losses import LOSSES
from ._messages import did_you_mean, one_of
from ._objective import (
    Problem,
    precision,
    predict_output,
    ravel,
    shapes_of,
    unravel,
)
from ._progress import CallbackSupportMixin, FitReporter
from ._state import start_history, unchanged_on_error
from ._training import (
    StepwiseRun,
    _pad_rows,
    _to_device,
    bound_program_caches,
    fit_one,
)
from .solvers import (
    SOLVERS,
    OptaxSolver,
    Solver,
    StepwiseSolver,
    WholeBatchResult,
    WholeBatchSolver,
)
from .solvers._base import portable_state

#: Gradient diagnostics (see ``grad_norm_curve_``): a warning is emitted once
#: per fit when a layer's mean gradient norm in an epoch grows past
#: GRAD_NORM_EXPLODING times its value in the fit's first epoch, or when the
#: first layer's falls below GRAD_NORM_VANISHING times the output layer's.
GRAD_NORM_EXPLODING = 1e3
GRAD_NORM_VANISHING = 1e-4


def _output_dtype(X):
    """The dtype of predictions for ``X``: its own float dtype, else float64."""
    return X.dtype if X.dtype in (np.float32, np.float64) else np.float64


class GradientWarning(UserWarning):
    """Gradients vanish or explode during training."""


# Rows per compiled prediction call; smaller inputs are padded to a power of two
# (at least _MIN_PREDICT_ROWS), so repeated predictions reuse a few programs.
_PREDICT_CHUNK = 2**16
_MIN_PREDICT_ROWS = 32


def _check_representable(a, dtype, name):
    """Raise if float64 ``a`` holds finite values that overflow ``dtype``.

    Validation accepts any finite float64, but a float32 model casts its data
    to float32, where values beyond ~3.4e38 become infinite and the network's
    output NaN. Min and max rather than ``abs`` to avoid a copy of ``a``.
    """
    dtype = np.dtype(dtype)
    if a is None or a.dtype.kind != "f" or a.dtype.itemsize <= dtype.itemsize:
        return
    data = a.data if sp.issparse(a) else a
    if data.size == 0:
        return
    largest = max(float(data.max()), -float(data.min()))
    limit = float(np.finfo(dtype).max)
    if largest > limit:
        raise ValueError(
            f"{name} contains values too large for {dtype} (largest magnitude "
            f"{largest:.3g} > {limit:.3g}), the precision this "
            "model computes in. Scale the data (e.g. StandardScaler) or use "
            "dtype='float64'."
        )


def _float_array(a, dtype=None):
    """``a`` as a numpy float array (``dtype``, else its own float dtype or
    float64): weights set by hand may be lists or integer arrays."""
    a = np.asarray(a)
    if dtype is None:
        dtype = a.dtype if a.dtype.kind == "f" else np.float64
    return a.astype(dtype, copy=False)


def _name_error(est, param, expected, value, names):
    """scikit-learn's InvalidParameterError, with the closest name."""
    return InvalidParameterError(
        f"The {param!r} parameter of {type(est).__name__} must be {expected}. "
        f"Got {value!r} instead." + did_you_mean(value, names)
    )


def _check_names(est):
    """Raise for an unknown solver, activation, init or loss name, or a solver
    of another type, naming only public names."""
    solver = est.solver
    if isinstance(solver, str) and solver not in SOLVERS:
        raise _name_error(est, "solver", f"one of {one_of(SOLVERS)}", solver, SOLVERS)
    if not isinstance(solver, (str, Solver, optax.GradientTransformation)):
        raise _name_error(
            est, "solver", f"a name ({one_of(SOLVERS)}), a solver object from "
            "skneural.solvers or an optax.GradientTransformation", solver, (),
        )  # fmt: skip
    activations = est.activation
    if not isinstance(activations, (list, tuple)):
        activations = [activations]
    known = set(ACTIVATIONS) | set(LAYER_ACTIVATIONS) | set(STEP_FUNCTIONS)
    for a in activations:
        if isinstance(a, str) and a not in known:
            raise _name_error(
                est, "activation", f"one of {one_of(known)}, an "
                "skneural.Activation, a callable or a list of these", a, known,
            )  # fmt: skip
    for param in ("init", "loss"):
        options = est._parameter_constraints.get(param, [None])[0]
        value = getattr(est, param, None)
        if isinstance(options, StrOptions) and isinstance(value, str) and (
            value not in options.options
        ):
            raise _name_error(est, param, f"one of {one_of(options.options)}",
                              value, options.options)  # fmt: skip


def _warn_single_class(binarizer):
    """The warning of a classifier fitted on a single class."""
    if binarizer.y_type_ != "multilabel-indicator" and len(binarizer.classes_) < 2:
        warnings.warn(
            f"y contains a single class ({binarizer.classes_.tolist()[0]!r}). The "
            "model is "
            "fitted as scikit-learn's MLPClassifier fits it (one logistic output "
            "trained towards 'not this class') and predicts this class for every "
            "sample; predict_proba has two columns, the first close to 1.",
            RuntimeWarning,
            stacklevel=4,
        )


def _check_callable_activations(net):
    """A clear error for activation callables JAX cannot trace, or that are
    not elementwise (tried on an abstract array: nothing is computed)."""
    probe = jax.ShapeDtypeStruct((2, 3), jnp.float32)
    for fn in net.activations:
        if isinstance(fn, (str, Activation)):
            continue
        try:
            shape = jax.eval_shape(lambda x, fn=fn: fn(x), probe).shape
        except Exception as exc:  # noqa: BLE001 - any failure is the user's callable
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            raise TypeError(
                f"activation {fn!r} cannot be traced by JAX ({reason}). A callable "
                "activation must be an elementwise function of a jax array written "
                "with jax.numpy (e.g. jax.numpy.tanh, not numpy.tanh) and without "
                "Python control flow on the values (use jax.numpy.where)."
            ) from None
        if shape != probe.shape:
            raise ValueError(
                f"activation {fn!r} must be elementwise: it maps an array of shape "
                f"{probe.shape} to one of shape {shape}."
            )


class BaseNeural(SklearnConversionMixin, CallbackSupportMixin, BaseEstimator, ABC):
    """Shared parameters, fitting and prediction of the skneural estimators."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [
            ActivationNames(),
            callable,
            list,
            tuple,
        ],
        "solver": [StrOptions(set(SOLVERS)), Solver, optax.GradientTransformation],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), type, np.dtype, None],
        "device": [str, list, tuple, None],
        "init": [StrOptions({"glorot_uniform"} | set(_network.INITIALIZERS))],
        "dropout": [Interval(Real, 0, 1, closed="left"), list, tuple],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "input_noise": [Interval(Real, 0, None, closed="left")],
        "batch_norm": ["boolean"],
        "l1": [Interval(Real, 0, None, closed="left")],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        loss,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        dtype,
        device,
        init,
        dropout,
        input_dropout,
        input_noise,
        batch_norm,
        l1,
        clip_norm,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.device = device
        self.init = init
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.input_noise = input_noise
        self.batch_norm = batch_norm
        self.l1 = l1
        self.clip_norm = clip_norm

    def __getstate__(self):
        # A raw optax transformation (a closure) pickles by value.
        return portable_state(super().__getstate__(), "solver")

    def _validate_params(self):
        """scikit-learn's parameter validation, after a check of the names a
        user types (solver, activation, init, loss), whose errors list the
        valid names, sorted, and suggest the closest one."""
        _check_names(self)
        super()._validate_params()

    # ------------------------------------------------------------------ solver
    def _solver_object(self):
        """The solver as an object: named solvers take the MLP-style params."""
        solver = self.solver
        if isinstance(solver, str):
            if solver == "sgd":
                return SOLVERS["sgd"](
                    learning_rate=self.learning_rate_init,
                    momentum=self.momentum,
                    nesterov=self.nesterovs_momentum,
                )
            if solver == "adam":
                return SOLVERS["adam"](
                    learning_rate=self.learning_rate_init,
                    beta_1=self.beta_1,
                    beta_2=self.beta_2,
                    epsilon=self.epsilon,
                )
            return SOLVERS[solver]()
        if isinstance(solver, optax.GradientTransformation):
            return OptaxSolver(solver)
        return solver

    def _compute_dtype(self, solver):
        if self.dtype is not None:
            return compute_dtype(self.dtype)
        return np.dtype(np.float64 if isinstance(solver, WholeBatchSolver) else np.float32)

    def _check_solver(self):
        if not isinstance(self._solver_object(), StepwiseSolver):
            raise AttributeError(
                "partial_fit is only available for stepwise (minibatch) solvers. "
                f"{self.solver!r} is a whole-batch solver."
            )
        return True

    # --------------------------------------------------------------- fitting
    @property
    def _loss_name(self):
        return self.loss

    def _prepare(self, X, y, sample_weight, incremental):
        """Validate, initialise; the inputs and settings of the solver's run."""
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if not all(isinstance(h, Integral) for h in hidden_layer_sizes):
            raise ValueError(
                f"hidden_layer_sizes must be integers, got {hidden_layer_sizes}."
            )
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError(
                "hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes
            )
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        if not first_pass:
            self._derive_missing_state()
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True
            )
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        # Clear errors before any work.
        _check_callable_activations(self._net(len(hidden_layer_sizes)))
        _sparse.check_input_options(self._net(len(hidden_layer_sizes)), X)
        sample_weight = self._class_weighted(y, sample_weight, incremental)
        n_features = X.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [y.shape[1]]

        solver = self._solver_object()
        dtype = self._compute_dtype(solver)
        _check_representable(X, dtype, "X")
        _check_representable(y, dtype, "y")
        rng = check_random_state(self.random_state)
        if not first_pass:
            self._check_same_structure(layer_units, dtype)
        if self.clip_norm is not None and getattr(solver, "clip_norm", None) is not None:
            raise ValueError(
                f"clip_norm is set both on the estimator ({self.clip_norm}) and on "
                f"its solver ({solver.clip_norm}); both clip the same gradient. Set "
                "one of them."
            )
        if not isinstance(solver, (StepwiseSolver, WholeBatchSolver)):
            raise TypeError(
                "solver must be a name, a StepwiseSolver, a WholeBatchSolver or an "
                f"optax.GradientTransformation; got {type(solver).__name__}."
            )
        if isinstance(solver, StepwiseSolver):
            check_hyperparams(solver.optax_transformation()[1], dtype)
        if first_pass:
            self._initialize(y, layer_units, rng, dtype, X.dtype)
        self._fit_dtype = dtype.name  # the precision prediction computes in
        if isinstance(solver, OptaxSolver):
            params = _to_device(self._params(), dtype)
            check_transformation(solver.transformation, params)
        # Weights rescaled to mean 1 before the cast to the compute dtype where
        # one would underflow; the penalties are rescaled with them (they are
        # divided by the batch's total weight), which leaves the objective,
        # hence the optimum and loss_, unchanged.
        self._weight_scale = 1.0
        if sample_weight is not None:
            mean = float(np.mean(sample_weight))
            positive = sample_weight[sample_weight > 0]
            tiny = positive.size and positive.min() < np.finfo(dtype).tiny
            # Only where a weight would underflow: integer weights stay exactly
            # equivalent to repeated rows (batch normalisation counts them).
            if tiny and mean > 0 and np.isfinite(mean):
                self._weight_scale = 1.0 / mean
                sample_weight = sample_weight * self._weight_scale
            for name in ("alpha", "l1"):
                value = getattr(self, name) * self._weight_scale
                if value > float(np.finfo(dtype).max):
                    raise ValueError(
                        f"{name} / mean(sample_weight) = {value:.3g} is too large "
                        f"for {dtype}, the precision this model computes in (the "
                        "penalty is divided by the total sample weight). Use "
                        "larger sample weights, a smaller penalty or "
                        "dtype='float64'."
                    )
        _check_representable(sample_weight, dtype, "sample_weight")
        return X, y, sample_weight, solver, rng, dtype

    def _fit(self, X, y, sample_weight=None, incremental=False):
        try:
            with _devices.scope(_devices.resolve(self.device)):
                return self._fit_on_device(X, y, sample_weight, incremental)
        finally:
            bound_program_caches()

    def _fit_on_device(self, X, y, sample_weight, incremental):
        fit_data = dict(X=X, y=y, sample_weight=sample_weight)  # for callbacks
        X, y, sample_weight, solver, rng, dtype = self._prepare(
            X, y, sample_weight, incremental
        )
        # What prediction computes from here on (a failed call restores it).
        self._fitted_net = self._layer_activations
        stepwise = isinstance(solver, StepwiseSolver)
        # Progress display and scikit-learn callbacks (see _progress.py).
        with FitReporter(
            self,
            max_iter=1 if incremental else self.max_iter,
            verbose=self.verbose,
            early_stopping=self.early_stopping and stepwise,
            unit="epoch" if stepwise else "iteration",
            **fit_data,
        ) as reporter:
            if stepwise:
                fit_one(StepwiseRun(self, X, y, sample_weight, solver, rng, dtype,
                                    incremental, reporter))  # fmt: skip
            else:
                self._fit_whole_batch(X, y, sample_weight, solver, dtype, reporter)
        return self

    def _initialize(self, y, layer_units, rng, dtype, attr_dtype):
        """Fresh parameters, drawn in ``dtype`` (the computation's precision)
        and stored in ``attr_dtype`` (the input's float dtype, as
        scikit-learn's MLP stores them)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = LOSSES[self._loss_name].out_activation
        params, state = _network.init(
            rng, layer_units, self.activation, dtype, self.init,
            net=self._net(len(layer_units) - 2),
        )  # fmt: skip
        self._set_params_from(params, state, dtype=attr_dtype)
        start_history(self)
        if hasattr(self, "_optimizer_state"):
            del self._optimizer_state

    def _class_weighted(self, y, sample_weight, incremental):
        """Sample weights with the class weights folded in (classifier)."""
        return sample_weight

    def _net(self, n_hidden):
        """The architecture as a :class:`~skneural._network.Net` (static)."""
        dropout = self.dropout
        if isinstance(dropout, (list, tuple)):
            if len(dropout) != n_hidden:
                raise ValueError(
                    f"dropout has {len(dropout)} rates but there are {n_hidden} "
                    "hidden layers; give one rate, or one per hidden layer."
                )
            if not all(0 <= float(r) < 1 for r in dropout):
                raise ValueError(f"dropout rates must be in [0, 1), got {dropout}.")
            dropout = tuple(float(r) for r in dropout)
        else:
            dropout = (float(dropout),) * n_hidden
        return _network.Net(
            activations=resolve(self.activation, n_hidden),
            dropout=dropout,
            input_dropout=float(self.input_dropout),
            input_noise=float(self.input_noise),
            batch_norm=bool(self.batch_norm),
        )

    @property
    def _layer_activations(self):
        """The architecture training uses (the current parameters): a static
        argument of compiled code."""
        return self._net(len(self.coefs_) - 1)

    def _fitted_spec(self):
        """The architecture the fitted network was trained with.

        Stored at the end of every fit, so that ``set_params`` after a fit does
        not change what ``predict`` computes; for a model whose ``coefs_`` and
        ``intercepts_`` were set by hand (nothing stored), derived from the
        current parameters.
        """
        n_hidden = len(self.coefs_) - 1
        spec = getattr(self, "_fitted_net", None)
        if spec is not None and len(spec.activations) == n_hidden:
            return spec
        return self._net(n_hidden)

    def _check_same_structure(self, layer_units, dtype):
        """Raise if warm start / partial_fit would continue a network whose
        trainable parameters or state no longer match the parameters."""
        net = self._net(len(layer_units) - 2)
        params, state = _network.init(
            np.random.RandomState(0), layer_units, self.activation, dtype, net=net
        )

        def structure(params, state):
            return (
                [{k: np.shape(v) for k, v in p.items()} for p in params],
                [sorted(s) for s in state],
            )

        layer_params = getattr(self, "layer_params_", None) or [{}] * (
            len(self.coefs_) - 1
        )
        current = [{"W": W, "b": b, **extra} for W, b, extra in zip(
            self.coefs_, self.intercepts_, list(layer_params) + [{}])]  # fmt: skip
        layer_state = getattr(self, "layer_state_", None)
        if layer_state is None:
            layer_state = [{} for _ in layer_params]
        if structure(current, layer_state) == structure(params, state):
            return
        expected = [c.shape for c in self.coefs_]
        got = [p["W"].shape for p in params]
        fitted = self._fitted_spec() if len(expected) == len(got) else None
        changed = []
        if fitted is not None and fitted.activations != net.activations:
            changed.append("activation")
        if fitted is not None and fitted.batch_norm != net.batch_norm:
            changed.append("batch_norm")
        if expected != got and not changed:
            raise ValueError(
                "warm_start and partial_fit need the architecture of the "
                f"previous fit: layer shapes {expected}, now {got}."
            )
        what = " and ".join(changed) or "the architecture"
        raise ValueError(
            f"warm_start and partial_fit continue the fitted network, but {what} "
            "changed since the fit, which changes the network's trainable "
            "parameters or state. Set it back, or fit with warm_start=False to "
            "start afresh."
        )

    def _regularization(self, dtype):
        """Traced penalty strengths (and the clipping threshold)."""
        clip = np.inf if self.clip_norm is None else self.clip_norm
        scale = getattr(self, "_weight_scale", 1.0)  # see _prepare
        values = dict(alpha=self.alpha * scale, l1=self.l1 * scale,
                      entropy=self._entropy_reg, clip_norm=clip)  # fmt: skip
        return _devices.to_device(values, dtype)

    _entropy_reg = 0.0

    def _params(self):
        extras = getattr(self, "layer_params_", None)
        if extras is None:  # weights set by hand
            extras = self._initial_layer_extras()[0]
        return [
            {"W": W, "b": b, **extra}
            for W, b, extra in zip(self.coefs_, self.intercepts_, list(extras) + [{}])
        ]

    def _net_state(self):
        state = getattr(self, "layer_state_", None)
        return self._initial_layer_extras()[1] if state is None else state

    def _initial_layer_extras(self):
        """Initial ``layer_params_`` and ``layer_state_`` for the current
        ``coefs_`` (PReLU slopes at their initial value, batch-normalisation
        scales 1, shifts 0, running means 0, variances 1): what a model whose
        weights were set by hand, as scikit-learn's MLP allows, starts from."""
        coefs = [np.asarray(c) for c in self.coefs_]
        units = [c.shape[0] for c in coefs] + [coefs[-1].shape[1]]
        dtype = coefs[0].dtype if coefs[0].dtype.kind == "f" else np.float64
        params, state = _network.init(
            np.random.RandomState(0), units, self.activation, dtype,
            net=self._net(len(units) - 2),
        )  # fmt: skip
        extras = [{k: v for k, v in p.items() if k not in ("W", "b")} for p in params]
        return extras[:-1], state

    def _derive_missing_state(self):
        """Complete a model given only scikit-learn MLP's public attributes.

        ``coefs_`` and ``intercepts_`` may have been set by hand (as
        scikit-learn's MLP allows, e.g. to continue from chosen weights with
        ``partial_fit``); everything else skneural keeps is derived from them
        where it is missing: the layer counts, the output activation, the
        extra layer parameters and state at their initial values, and empty
        training history.
        """
        self.coefs_ = [_float_array(c) for c in self.coefs_]
        self.intercepts_ = [
            _float_array(b, c.dtype) for b, c in zip(self.intercepts_, self.coefs_)
        ]
        early = self.early_stopping
        defaults = {
            "n_features_in_": self.coefs_[0].shape[0],
            "n_layers_": len(self.coefs_) + 1,
            "n_outputs_": self.coefs_[-1].shape[1],
            "n_iter_": 0,
            "t_": 0,
            "loss_curve_": [],
            "grad_norm_curve_": [],
            "best_loss_": None if early else np.inf,
            "validation_scores_": [] if early else None,
            "validation_loss_curve_": [] if early else None,
            "best_validation_score_": -np.inf if early else None,
            "_no_improvement_count": 0,
        }
        for name, value in defaults.items():
            if not hasattr(self, name):
                setattr(self, name, value)
        if not hasattr(self, "out_activation_"):
            self.out_activation_ = LOSSES[self._loss_name].out_activation
        if getattr(self, "layer_params_", None) is None or (
            getattr(self, "layer_state_", None) is None
        ):
            extras, state = self._initial_layer_extras()
            if getattr(self, "layer_params_", None) is None:
                self.layer_params_ = extras
            if getattr(self, "layer_state_", None) is None:
                self.layer_state_ = state

    def _set_params_from(self, params, state=None, dtype=None):
        """Store ``params`` (and ``state``) as the fitted numpy attributes, in
        ``dtype``; None keeps the dtype of the current ``coefs_`` (a
        continued fit keeps its attributes' dtype, as scikit-learn's MLP)."""
        if dtype is None:
            dtype = np.asarray(self.coefs_[0]).dtype
        params = jax.tree_util.tree_map(lambda a: np.asarray(a, dtype=dtype), params)
        self.coefs_ = [p["W"] for p in params]
        self.intercepts_ = [p["b"] for p in params]
        self.layer_params_ = [
            {k: v for k, v in p.items() if k not in ("W", "b")} for p in params[:-1]
        ]
        if state is not None:
            self.layer_state_ = jax.tree_util.tree_map(
                lambda a: np.asarray(a, dtype=dtype), state
            )

    def _out_activation(self):
        stored = getattr(self, "out_activation_", None)
        return LOSSES[self._loss_name].out_activation if stored is None else stored

    def _predict_dtype(self):
        """The precision of the last fit's computation, which prediction uses
        too (derived from the parameters for weights set by hand)."""
        stored = getattr(self, "_fit_dtype", None)
        if stored is not None:
            return np.dtype(stored)
        return self._compute_dtype(self._solver_object())

    def _encode_targets(self, y, dtype):
        return np.asarray(y, dtype=dtype)

    def _check_gradients(self, norms, first, epoch=None):
        """Warn (once) about exploding or vanishing gradients; True if warned."""
        epoch = self.n_iter_ if epoch is None else epoch
        norms = np.asarray(norms, dtype=np.float64)
        if np.any(norms > GRAD_NORM_EXPLODING * np.asarray(first)):
            warnings.warn(
                f"Exploding gradients at epoch {epoch}: layer gradient norms "
                f"grew from {np.round(first, 4).tolist()} in the first epoch to "
                f"{np.round(norms, 4).tolist()} (more than {GRAD_NORM_EXPLODING:g} "
                "times). Lower the learning rate, scale the inputs or set clip_norm.",
                GradientWarning,
            )
            return True
        if norms[-1] > 0 and norms[0] < GRAD_NORM_VANISHING * norms[-1]:
            warnings.warn(
                f"Vanishing gradients at epoch {epoch}: the first layer's "
                f"gradient norm {norms[0]:.3g} is below {GRAD_NORM_VANISHING:g} times "
                f"the output layer's ({norms[-1]:.3g}). Try a ReLU-like activation, "
                "batch_norm=True or fewer layers.",
                GradientWarning,
            )
            return True
        return False

    @staticmethod
    def _solver_lr(solver):
        return solver.optax_transformation()[1]["learning_rate"]

    def _record_no_improvement(self, score):
        """MLP's stopping bookkeeping after an epoch whose validation score (with
        early stopping) is ``score``; True when these are the best parameters."""
        if self.early_stopping:
            self.validation_scores_.append(score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                return True
            return False
        if self.loss_curve_[-1] > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if self.loss_curve_[-1] < self.best_loss_:
            self.best_loss_ = self.loss_curve_[-1]
        return False

    def _fit_whole_batch(self, X, y, sample_weight, solver, dtype, reporter):
        net = self._layer_activations
        if net.stochastic:
            raise ValueError(
                f"solver={self.solver!r} minimises a fixed objective (with line "
                "searches or exact steps), but dropout, input_dropout, input_noise "
                "and 'rrelu' make the objective random. Use a stepwise solver such "
                "as 'adam' or 'sgd', or turn these options off."
            )
        if self.clip_norm is not None:
            raise ValueError(
                "clip_norm clips the steps of stepwise solvers; whole-batch solver "
                f"{self.solver!r} does not take gradient steps. Set clip_norm=None."
            )
        n_samples = X.shape[0]
        w = np.ones(n_samples, dtype=dtype) if sample_weight is None else sample_weight
        params = self._params()
        shapes = shapes_of(params)
        if sp.issparse(X):  # never densified: the objective takes its entries
            X = _sparse.chunk(X, n_samples, dtype, nnz=X.nnz).to_device(dtype)
        else:
            X = _pad_rows(X, n_samples, dtype)
        problem = Problem(
            X,
            self._encode_targets(y, dtype),
            w,
            self.alpha * getattr(self, "_weight_scale", 1.0),
            l1=self.l1 * getattr(self, "_weight_scale", 1.0),
            entropy=self._entropy_reg,
            shapes=shapes,
            activation=net,
            loss=self._loss_name,
            dtype=dtype,
            sharding=_devices.batch_sharding(_devices.resolve(self.device)),
        )
        x0 = np.asarray(ravel(params), dtype=np.float64)
        base_curve = list(getattr(self, "loss_curve_", None) or [])
        try:
            # The solvers' Progress reports to ``reporter`` in this block.
            with reporter.whole_batch(lambda x: unravel(np.asarray(x, dtype), shapes)):
                result = solver.minimize(
                    problem,
                    x0,
                    max_iter=self.max_iter,
                    max_fun=self.max_fun,
                    tol=self.tol,
                    verbose=self.verbose,
                )
        except KeyboardInterrupt:
            # Keep the last completed iteration (as the stepwise solvers keep
            # the last completed epoch).
            reporter.end("interrupted")
            warnings.warn("Training interrupted by user.")
            last = reporter.last_iterate
            if last is None or last[2] is None:
                last = (0, float(problem(x0)[0]), x0)
            result = WholeBatchResult(
                x=last[2], fun=last[1], n_iter=last[0],
                loss_curve=list(reporter.iteration_losses)[: last[0]],
            )  # fmt: skip
        x = np.asarray(result.x, dtype=np.float64)
        if not (np.isfinite(x).all() and np.isfinite(result.fun)):
            reporter.end("diverged")
            warnings.warn(
                "The solver produced non-finite parameters; the initial parameters "
                "were kept. Scale the inputs or lower the learning rate.",
                ConvergenceWarning,
            )
            # The objective of the parameters kept, so loss_ always exists.
            self.n_iter_ = 0
            self.loss_curve_ = base_curve
            self.loss_ = float(problem(x0)[0])
            return
        params = unravel(x.astype(dtype), shapes)
        state = self.layer_state_
        if net.batch_norm:
            # The objective normalised with the whole data's statistics: keep
            # exactly those for inference.
            with precision(dtype):
                state = _network.apply(
                    _to_device(params, dtype), _to_device(state, dtype), X, net,
                    train=True, weight=_to_device(w, dtype), bn_momentum=0.0,
                )[1]  # fmt: skip
        self._set_params_from(params, state)
        self.grad_norm_curve_ = list(getattr(self, "grad_norm_curve_", None) or [])
        _, grad = problem(x)
        self.grad_norm_curve_.append(
            np.array([
                np.sqrt(sum(np.sum(g**2) for g in layer.values()))
                for layer in unravel(grad, shapes)
            ])
        )  # fmt: skip
        self.n_iter_ = int(result.n_iter)
        self.loss_ = float(result.fun)
        self.t_ += n_samples * max(self.n_iter_, 1)
        self.loss_curve_ = base_curve + list(result.loss_curve)
        self.best_loss_ = min(self.loss_curve_, default=self.loss_)
        self.validation_scores_ = None
        self.validation_loss_curve_ = None
        self.best_validation_score_ = None

    # ------------------------------------------------------------ prediction
    def _output(self, X, params=None, state=None, dtype=None, logits=False):
        """Network output (after the output activation, before it with
        ``logits``) for validated ``X``, computed with the fitted architecture.

        Computed by the compiled forward pass in chunks of at most
        ``_PREDICT_CHUNK`` rows, each padded to a power of two so that repeated
        predictions on inputs of any size reuse a handful of programs. Returns
        a numpy array of shape (n_samples, n_outputs) in ``X``'s float dtype.
        """
        if dtype is None:
            dtype = self._predict_dtype()
        out_dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        n = X.shape[0]
        if sp.issparse(X):  # chunks of rows as padded coordinates, never dense
            X = sp.csr_matrix(X)
        with precision(dtype), _devices.scope(self._predict_devices()):
            if params is None:
                params = _to_device(self._params(), dtype)
            if state is None:
                state = _to_device(self._net_state(), dtype)
            chunks = []
            for start in range(0, n, _PREDICT_CHUNK):
                stop = min(start + _PREDICT_CHUNK, n)
                rows = max(_MIN_PREDICT_ROWS, 1 << (stop - start - 1).bit_length())
                if sp.issparse(X):
                    Xc = _sparse.chunk(X[start:stop], rows, dtype).to_device(dtype)
                else:
                    Xc = _to_device(_pad_rows(X[start:stop], rows, dtype))
                out = predict_output(
                    params,
                    Xc,
                    activation=self._fitted_spec(),
                    out_activation="identity" if logits else self._out_activation(),
                    state=state,
                )
                chunks.append(np.asarray(out)[: stop - start])
        if not chunks:
            return np.zeros((0, np.shape(self.coefs_[-1])[1]), dtype=out_dtype)
        return np.concatenate(chunks).astype(out_dtype, copy=False)

    def _predict_devices(self):
        """``device`` for prediction; JAX's default device where it is missing
        (a model fitted on a GPU, loaded on a machine without one)."""
        try:
            return _devices.resolve(self.device)
        except ValueError:
            return None

    def _validate_X_predict(self, X):
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            reset=False,
        )
        _check_representable(X, self._predict_dtype(), "X")
        return X

    @abstractmethod
    def _score_output(self, output, y, sample_weight):
        """Validation score (as ``score``) of a network output."""

    @property
    def _is_classifier(self):
        return isinstance(self, ClassifierMixin)

    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. Sparse input (CSR, CSC or COO) is never densified
            as a whole: the first layer's product is computed from the stored
            entries (see "Sparse input" in the user guide's scaling page).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights. They weight the loss of every batch
            and the validation score used by early stopping.

        Returns
        -------
        self : object
            The fitted estimator. A call that raises leaves the estimator as
            it was before the call.
        """
        fitted = _prefitted(self, X, y, sample_weight)
        if fitted is not None:  # trained together with others by a batched search
            self.__dict__.update(fitted)
            return self
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Sparse X is refused only with input noise (it would densify it).
        tags.input_tags.sparse = not (
            isinstance(self.input_noise, Real) and self.input_noise > 0
        )
        return tags
