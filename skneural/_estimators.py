"""NeuralClassifier and NeuralRegressor: scikit-learn's MLP surface on JAX.

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
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import _devices, _network, _sparse
from ._activations import (
    ACTIVATIONS,
    LAYER_ACTIVATIONS,
    STEP_FUNCTIONS,
    Activation,
    resolve,
)
from ._batched import _prefitted
from ._checks import (
    check_class_weight,
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
    _to_numpy,
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
            StrOptions(set(ACTIVATIONS) | set(LAYER_ACTIVATIONS) | set(STEP_FUNCTIONS)),
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


_COMMON_PARAMS_DOC = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.

    activation : str, Activation, callable or list, default='relu'
        Activation of the hidden layers: a name ('identity', 'logistic',
        'tanh', 'relu' as in scikit-learn, and 'leaky_relu', 'elu', 'selu',
        'gelu', 'swish'/'silu', 'softplus', 'mish', 'softsign', 'hard_tanh',
        'hard_sigmoid', 'hard_swish', 'tanh_shrink', 'soft_shrink',
        'hard_shrink', 'piecewise_linear', 'linear', 'sigmoid', and the layer
        activations 'prelu' (learned slopes), 'rrelu' (random slopes in
        training) and 'maxout' (max of 2 linear pieces)), an
        :class:`~skneural.Activation` for non-default arguments (e.g. the
        slope of 'leaky_relu'), any jax-traceable elementwise callable, or a
        list with one of these per hidden layer. The step functions
        'heaviside' and 'sign' have no gradient and are rejected: use
        :class:`~skneural.Perceptron`.

    solver : str, solver object or optax.GradientTransformation, default='adam'
        The training algorithm. Names: 'adam', 'sgd', 'lbfgs' as in
        scikit-learn, built from this estimator's MLP-style parameters
        (``learning_rate_init``, ``momentum``, ``nesterovs_momentum``,
        ``beta_1``, ``beta_2``, ``epsilon``), and the other keys of
        :data:`skneural.solvers.SOLVERS` ('momentum', 'nesterov', 'adagrad',
        'adadelta', 'rmsprop', 'adamw', 'nadam', 'rprop', 'quickprop', 'bfgs',
        'cg', 'newton-cg', 'trust-ncg', 'trust-krylov', 'lm',
        'least-squares'), built with their defaults. A solver object from
        :mod:`skneural.solvers` carries its own hyperparameters (searchable as
        ``solver__learning_rate`` etc.); any ``optax.GradientTransformation``
        is used as a minibatch solver, except those whose update needs the
        objective's value or function (``optax.lbfgs``, ``optax.polyak_sgd``:
        line searches on a fixed objective), which are refused in favour of
        the whole-batch solvers such as 'lbfgs'.

    alpha : float, default=0.0001
        Strength of the L2 penalty, divided by the number (or total weight) of
        the samples in the batch, as in scikit-learn.

    batch_size : int or 'auto', default='auto'
        Minibatch size of stepwise solvers; 'auto' is ``min(200, n_samples)``.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule of the SGD solver, as in scikit-learn:
        'invscaling' sets ``lr = lr0 / (t + 1) ** power_t`` after each epoch
        (``t`` samples seen), 'adaptive' divides it by 5 each time training
        stalls for ``n_iter_no_change`` epochs.

    learning_rate_init : float, default=0.001
        Initial learning rate of the named solvers 'sgd' and 'adam'.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Epochs for stepwise solvers, iterations for whole-batch solvers.

    shuffle : bool, default=True
        Shuffle the samples every epoch (stepwise solvers).

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights (drawn exactly as scikit-learn's MLP draws
        them), the early-stopping split and the shuffling.

    tol : float, default=1e-4
        Training stops when the loss (or validation score) does not improve by
        ``tol`` for ``n_iter_no_change`` epochs; gradient tolerance of 'lbfgs'.

    verbose : bool or int, default=False
        Show the training progress. 0/False: nothing. 1/True: in a terminal,
        one self-updating line (epoch out of ``max_iter``, loss, validation
        score with early stopping, elapsed time); otherwise (log files,
        notebooks) one line per epoch or iteration in scikit-learn's format,
        ``Iteration 3, loss = 0.41234567 (0.004 s)``, followed by
        ``Validation score: 0.950000`` with early stopping. 2 or more: those
        lines even in a terminal, and a summary at the end (why training
        stopped, time, the device it ran on, compilation time). See
        :ref:`progress`, which also covers scikit-learn's callbacks
        (``set_callbacks``, scikit-learn >= 1.9).

    warm_start : bool, default=False
        Start from the previous solution.

    momentum : float, default=0.9
        Momentum of 'sgd'.

    nesterovs_momentum : bool, default=True
        Nesterov momentum for 'sgd'.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for
        single-output classification), stop when the validation score stalls
        and keep the best parameters.

    validation_fraction : float, default=0.1
        Fraction held out for early stopping.

    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Parameters of 'adam'.

    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.

    max_fun : int, default=15000
        Most objective evaluations of 'lbfgs'.

    dtype : {'float32', 'float64'}, numpy dtype or type, or None, default=None
        Precision of the computation on the device (``np.float64`` and
        ``np.dtype('float32')`` are accepted too). None means float32 for
        stepwise solvers (fast; the fitted arrays are float32) and float64 for
        whole-batch solvers, whose line searches need it. Predictions are
        returned in the input's float dtype, as scikit-learn does.

    device : str, list of str or None, default=None
        Where the computation runs: None for JAX's default device (the first
        GPU or TPU if there is one, else the CPU), a platform ('cpu', 'gpu',
        'tpu') or one device of it by its index from 0 ('gpu:1'). A list of
        devices (``['gpu:0', 'gpu:1']``, or ``['all']`` for every device of the
        default platform) trains data-parallel: each minibatch (for
        whole-batch solvers, the whole data) is split across the devices,
        the parameters are replicated and the gradients summed across them,
        with the same result as on one device up to rounding. Fitted attributes are numpy arrays whatever the device, so
        a model trained on a GPU predicts on a machine without one.

    dropout : float or list of float, default=0.0
        Dropout rate of the hidden layers' outputs (one rate for all, or one
        per hidden layer). Inverted dropout: during training each unit is
        zeroed with this probability and the others are scaled by
        ``1 / (1 - rate)``; prediction uses all units. The masks are drawn from
        ``random_state``. Needs a stepwise solver.

    input_dropout : float, default=0.0
        Dropout rate of the inputs (feature dropout for noisy or collinear
        inputs). Needs a stepwise solver.

    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs at every
        training step (data augmentation by noise injection). Needs a stepwise
        solver.

    batch_norm : bool, default=False
        Batch normalisation of every hidden layer's pre-activation: normalised
        with the batch's (weighted) mean and variance in training, then scaled
        by a learned ``gamma`` and shifted by a learned ``beta``; inference
        uses running estimates (momentum 0.9, variance with the ``m/(m-1)``
        correction), kept in ``layer_state_``. Whole-batch solvers normalise
        with the statistics of all the data and keep exactly those.

    l1 : float, default=0.0
        Strength of an L1 penalty ``l1 * sum |W|`` on the weights, divided
        like ``alpha``'s by the number (or total weight) of the samples.

    clip_norm : float or None, default=None
        Clip each minibatch gradient to this global norm before the solver's
        update (``g <- g * clip_norm / ||g||`` when ``||g|| > clip_norm``).
        Stepwise solvers only. The solver objects' own ``clip_norm`` does the
        same; setting both is an error.

    init : {'glorot_uniform', 'glorot_normal', 'he_uniform', 'he_normal', \
'lecun_normal', 'orthogonal'}, default='glorot_uniform'
        Weight initialisation. 'glorot_uniform' is scikit-learn's scheme (the
        same draws as its MLP for the same ``random_state``); the others are
        ``jax.nn.initializers`` (He for ReLU-like activations, LeCun normal
        for SELU) with zero biases.
"""

_COMMON_ATTRS_DOC = """
    loss_ : float
        Loss (with the L2 penalty) at the end of training: the last epoch's
        (or iteration's); after a divergence in the first epoch, the
        objective of the parameters kept.

    best_loss_ : float or None
        Lowest loss seen; None with early stopping.

    loss_curve_ : list of float
        Loss after every epoch (stepwise) or iteration (whole-batch).

    validation_scores_ : list of float or None
        Validation score after every epoch with early stopping, else None.

    best_validation_score_ : float or None
        Best validation score with early stopping, else None.

    t_ : int
        Training samples seen by the solver.

    coefs_ : list of ndarray of shape (n_units[i], n_units[i + 1])
        Weight matrices.

    intercepts_ : list of ndarray of shape (n_units[i + 1],)
        Bias vectors.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when X has string column names.

    n_iter_ : int
        Epochs (or iterations) run by the last fit.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation.

    layer_params_ : list of dict
        Trainable parameters of each hidden layer beyond its weights and
        biases: ``'a'`` (PReLU slopes), ``'gamma'`` and ``'beta'`` (batch
        normalisation). Empty dicts for plain layers.

    layer_state_ : list of dict
        Batch-normalisation running statistics of each hidden layer
        (``'mean'``, ``'var'``); empty dicts without batch normalisation.

    grad_norm_curve_ : list of ndarray of shape (`n_layers_` - 1,)
        Per epoch, the mean over the minibatches of each layer's gradient
        norm (before clipping); for whole-batch solvers one entry, at the
        solution. A :class:`~skneural.GradientWarning` is emitted (once per
        fit) when a layer's norm grows past 1e3 times its first-epoch value
        (exploding) or the first layer's falls below 1e-4 times the output
        layer's (vanishing).

    validation_loss_curve_ : list of float or None
        With early stopping, the objective on the held-out data after every
        epoch (inference mode); else None.
"""


class NeuralClassifier(ClassifierMixin, BaseNeural):
    __doc__ = (
        """Multilayer perceptron classifier trained by compiled JAX code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    same parameters, methods and fitted attributes. It minimises the log-loss
    (softmax for multiclass, one sigmoid unit for binary targets, one sigmoid
    per label for a multilabel indicator matrix) with gradients from
    ``jax.grad``; a stepwise solver runs each epoch as one compiled program.

    Parameters
    ----------"""
        + _COMMON_PARAMS_DOC
        + """
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplying the sample weights: a dict
        ``{label: weight}`` or 'balanced' (``n_samples / (n_classes *
        count(label))``, computed on the data given to ``fit``; not available
        for ``partial_fit``). Not supported for multilabel targets.

    entropy_reg : float, default=0.0
        Entropy regularisation ``lambda``: the regularised loss
        ``L - lambda * sum_k p_k log p_k`` adds ``lambda`` times the entropy of
        the predicted probabilities to the loss, favouring confident
        predictions (a negative value penalises confidence instead, as the
        "confidence penalty" does).

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels.
"""
        + _COMMON_ATTRS_DOC
        + """
    See Also
    --------
    NeuralRegressor : The regressor.
    sklearn.neural_network.MLPClassifier : The scikit-learn original.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skneural import NeuralClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(),
    ...                     NeuralClassifier(max_iter=500, random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """
    )

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        device=None,
        init="glorot_uniform",
        dropout=0.0,
        input_dropout=0.0,
        input_noise=0.0,
        batch_norm=False,
        l1=0.0,
        clip_norm=None,
        class_weight=None,
        entropy_reg=0.0,
    ):
        self.class_weight = class_weight
        self.entropy_reg = entropy_reg
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss="log_loss",
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dtype=dtype,
            device=device,
            init=init,
            dropout=dropout,
            input_dropout=input_dropout,
            input_noise=input_noise,
            batch_norm=batch_norm,
            l1=l1,
            clip_norm=clip_norm,
        )

    _parameter_constraints: dict = {
        **BaseNeural._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "entropy_reg": [Real],
    }

    @property
    def _entropy_reg(self):
        return self.entropy_reg

    def _class_weighted(self, y, sample_weight, incremental):
        if self.class_weight is None:
            return sample_weight
        check_class_weight(self.class_weight)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets.")
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit: the "
                "class frequencies of the whole data are unknown. Pass a dict of "
                "class weights, e.g. from sklearn.utils.class_weight."
                "compute_class_weight('balanced', classes=..., y=y_all)."
            )
        labels = self._label_binarizer.inverse_transform(
            y.astype(float).ravel() if y.shape[1] == 1 else y.astype(float)
        )
        weights = compute_class_weight(self.class_weight, classes=self.classes_, y=labels)
        per_sample = weights[np.searchsorted(self.classes_, labels)]
        if sample_weight is None:
            return per_sample
        return sample_weight * per_sample

    @property
    def _loss_name(self):
        # One sigmoid unit (binary) or one per label (multilabel): binary log-loss.
        if getattr(self, "_label_binarizer", None) is not None:
            if self._label_binarizer.y_type_ != "multiclass":
                return "binary_log_loss"
        return "log_loss"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
            _warn_single_class(self._label_binarizer)
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _derive_missing_state(self):
        if getattr(self, "_label_binarizer", None) is None and hasattr(
            self, "classes_"
        ):
            self._label_binarizer = self._binarizer()
        super()._derive_missing_state()

    def _binarizer(self):
        """The label binarizer; for weights and ``classes_`` set by hand, one
        derived from ``classes_`` and the output layer (one logistic unit:
        binary; a softmax: multiclass; several logistic units: multilabel)."""
        binarizer = getattr(self, "_label_binarizer", None)
        if binarizer is not None:
            return binarizer
        n_outputs = np.asarray(self.coefs_[-1]).shape[1]
        if n_outputs > 1 and getattr(self, "out_activation_", None) == "logistic":
            return LabelBinarizer().fit(np.eye(n_outputs, dtype=int))
        return LabelBinarizer().fit(self.classes_)

    def _score_output(self, output, y, sample_weight):
        if not np.isfinite(output).all():
            return np.nan
        return accuracy_score(y, self._labels(output), sample_weight=sample_weight)

    def _labels(self, output):
        if output.shape[1] == 1:
            output = output.ravel()
        return self._binarizer().inverse_transform(output)

    def predict(self, X):
        """Predict using the multilayer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        check_is_fitted(self)
        return self._labels(self._output(self._validate_X_predict(X)))

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first
            call, ignored afterwards.

        Returns
        -------
        self : object
            The updated estimator. A call that raises leaves the estimator as
            it was before the call.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            _warn_single_class(self._label_binarizer)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = self._validate_X_predict(X)
        # exp of the float64 log-probabilities, so that predict_log_proba is
        # log(predict_proba) to rounding (and 1 - p keeps its digits near 1).
        return np.exp(self._log_proba(X)).astype(_output_dtype(X), copy=False)

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, computed in float64 from the network's
            output before the output activation (a log-softmax, or a
            log-sigmoid for one unit), so it stays finite where the
            probability rounds to 0.
        """
        check_is_fitted(self)
        X = self._validate_X_predict(X)
        log_prob = self._log_proba(X)
        # log(predict_proba(X)) exactly where the probability is representable
        # (so that both rank the classes alike, ties included); the float64
        # log-probability where it underflows to 0.
        prob = np.exp(log_prob)
        with np.errstate(divide="ignore"):
            log_prob = np.where(prob > 0, np.log(prob), log_prob)
        return log_prob.astype(_output_dtype(X), copy=False)

    def _log_proba(self, X):
        """float64 log-probabilities of validated ``X`` from the network's
        output before the output activation."""
        z = self._output(X, logits=True).astype(np.float64)
        if z.shape[1] > 1 and self._out_activation() == "softmax":
            return z - logsumexp(z, axis=1, keepdims=True)
        # logistic: log p = -log(1 + exp(-z)), log(1 - p) = -log(1 + exp(z))
        log_prob = -np.logaddexp(0.0, -z)
        if z.shape[1] == 1:
            log_prob = np.hstack([-np.logaddexp(0.0, z), log_prob])
        return log_prob

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NeuralRegressor(RegressorMixin, BaseNeural):
    __doc__ = (
        """Multilayer perceptron regressor trained by compiled JAX code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    same parameters, methods and fitted attributes, identity output (exp for
    the Poisson loss), one or several outputs, gradients from ``jax.grad``.

    Parameters
    ----------
    loss : {'squared_error', 'absolute_error', 'huber', 'poisson'}, \
default='squared_error'
        The loss: half squared error (as scikit-learn), absolute error, Huber
        with threshold 1 (quadratic within 1 of the target, linear beyond), or
        half Poisson deviance with an exp output (targets must be
        non-negative)."""
        + _COMMON_PARAMS_DOC
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRS_DOC
        + """
    See Also
    --------
    NeuralClassifier : The classifier.
    sklearn.neural_network.MLPRegressor : The scikit-learn original.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skneural import NeuralRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = NeuralRegressor(solver="lbfgs", max_iter=500, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.9
    True
    """
    )

    _parameter_constraints: dict = {
        **BaseNeural._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        device=None,
        init="glorot_uniform",
        dropout=0.0,
        input_dropout=0.0,
        input_noise=0.0,
        batch_norm=False,
        l1=0.0,
        clip_norm=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dtype=dtype,
            device=device,
            init=init,
            dropout=dropout,
            input_dropout=input_dropout,
            input_noise=input_noise,
            batch_norm=batch_norm,
            l1=l1,
            clip_norm=clip_norm,
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for "
                "Poisson regression."
            )
        return X, y

    def _score_output(self, output, y, sample_weight):
        if not np.isfinite(output).all():
            return np.nan
        if output.shape[1] == 1:
            output = output.ravel()
        return r2_score(y, output, sample_weight=sample_weight)

    def predict(self, X):
        """Predict using the multilayer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        check_is_fitted(self)
        y_pred = self._output(self._validate_X_predict(X))
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    @unchanged_on_error
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : object
            The updated estimator. A call that raises leaves the estimator as
            it was before the call.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
