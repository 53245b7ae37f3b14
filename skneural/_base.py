"""BaseNeural: the parameters, fitting and prediction shared by the estimators.

Data flow of ``fit``: parameter validation -> ``validate_data`` and label
encoding -> :func:`skneural._network.init` -> a frozen description of the fit
(:func:`skneural._config.stepwise_config`, or the objective as a
:class:`skneural._problem.Problem` for a whole-batch solver) -> the driver
(:func:`skneural._driver.train`, :func:`skneural._whole_batch.train_whole_batch`),
which returns a result -> numpy fitted attributes
(:meth:`~skneural._fitted.FittedStateMixin._apply_result`).
"""

from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import optax
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from . import _devices, _network, _sparse
from ._activations import ActivationNames, resolve
from ._batched import _prefitted
from ._checks import (
    check_callable_activations,
    check_hyperparams,
    check_names,
    check_representable,
    check_transformation,
    compute_dtype,
)
from ._config import pad_rows, stepwise_config, to_numpy
from ._driver import bound_program_caches, train
from ._export import SklearnConversionMixin
from ._fitted import FittedStateMixin
from ._losses import LOSSES
from ._objective import precision, ravel, shapes_of
from ._problem import Problem
from ._predict import network_output
from ._progress import CallbackSupportMixin, FitReporter
from ._state import unchanged_on_error
from ._stopping import GradientWarning
from ._whole_batch import train_whole_batch
from .solvers import (
    SOLVERS,
    OptaxSolver,
    Solver,
    StepwiseSolver,
    WholeBatchSolver,
    named_solver,
)
from .solvers._base import portable_state

__all__ = ["BaseNeural", "GradientWarning"]

_to_device = _devices.to_device


def _output_dtype(X):
    """The dtype of predictions for ``X``: its own float dtype, else float64."""
    return X.dtype if X.dtype in (np.float32, np.float64) else np.float64




class BaseNeural(FittedStateMixin, SklearnConversionMixin, CallbackSupportMixin,
                 BaseEstimator, ABC):  # fmt: skip
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
        check_names(self)
        super()._validate_params()

    # ------------------------------------------------------------------ solver
    def _solver_object(self):
        """The solver as an object: named solvers take the MLP-style params."""
        solver = self.solver
        if isinstance(solver, str):
            return named_solver(solver, vars(self))
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
        check_callable_activations(self._net(len(hidden_layer_sizes)))
        _sparse.check_input_options(self._net(len(hidden_layer_sizes)), X)
        sample_weight = self._class_weighted(y, sample_weight, incremental)
        n_features = X.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [y.shape[1]]

        solver = self._solver_object()
        dtype = self._compute_dtype(solver)
        check_representable(X, dtype, "X")
        check_representable(y, dtype, "y")
        rng = check_random_state(self.random_state)
        if not first_pass:
            self._check_same_structure(layer_units, dtype)
        if not isinstance(solver, (StepwiseSolver, WholeBatchSolver)):
            raise TypeError(
                "solver must be a name, a StepwiseSolver, a WholeBatchSolver or an "
                f"optax.GradientTransformation; got {type(solver).__name__}."
            )
        solver._validate_params()
        if isinstance(solver, StepwiseSolver):
            # (raises if clip_norm is set both here and on the solver)
            tx_hyper = solver.optax_transformation(clip_norm=self.clip_norm)[1]
            check_hyperparams(tx_hyper, dtype)
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
        check_representable(sample_weight, dtype, "sample_weight")
        return X, y, sample_weight, solver, rng, dtype

    def _fit(self, X, y, sample_weight=None, incremental=False):
        try:
            with _devices.scope(_devices.resolve(self.device)):
                return self._fit_on_device(X, y, sample_weight, incremental)
        finally:
            bound_program_caches()
    def _fit_on_device(self, X, y, sample_weight, incremental):
        fit_data = dict(X=X, y=y, sample_weight=sample_weight)  # for callbacks
        prepared = self._prepare(X, y, sample_weight, incremental)
        solver = prepared[3]
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
                (result,) = train([self._stepwise_config(*prepared, incremental)],
                                  [reporter])  # fmt: skip
            else:
                result = self._train_whole_batch(*prepared[:4], prepared[5], reporter)
            # Before the reporter closes: the callbacks' last fitted_estimator
            # is the fitted estimator.
            self._apply_result(result)
        return self

    def _stepwise_config(self, X, y, sample_weight, solver, rng, dtype, incremental):
        """The :class:`~skneural._config.StepwiseConfig` of this fit."""
        Y = self._encode_targets(y, dtype)
        with precision(dtype):
            reg = to_numpy(self._regularization(dtype))
        return stepwise_config(
            X, Y, sample_weight,
            labels=self._decode_targets(y) if self.early_stopping else None,
            stratify=y if self._is_classifier and y.shape[1] == 1 else None,
            solver=solver, clip_norm=self.clip_norm, net=self._layer_activations,
            loss=self._loss_name, out_activation=self.out_activation_, dtype=dtype,
            rng=rng, params=self._params(), net_state=self.layer_state_,
            opt_leaves=getattr(self, "_optimizer_state", None) if incremental else None,
            reg=reg, history=self._history(), device=self.device,
            batch_size=self.batch_size, shuffle=self.shuffle,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            score=self._validation_scorer(), learning_rate=self.learning_rate,
            power_t=self.power_t, tol=self.tol, n_iter_no_change=self.n_iter_no_change,
            max_iter=self.max_iter, incremental=incremental,
        )  # fmt: skip

    def _train_whole_batch(self, X, y, sample_weight, solver, dtype, reporter):
        """Validate and describe a whole-batch fit; train it."""
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
            X = pad_rows(X, n_samples, dtype)
        scale = getattr(self, "_weight_scale", 1.0)  # see _prepare
        problem = Problem(
            X, self._encode_targets(y, dtype), w, self.alpha * scale,
            l1=self.l1 * scale, entropy=self._entropy_reg, shapes=shapes,
            activation=net, loss=self._loss_name, dtype=dtype,
            sharding=_devices.batch_sharding(_devices.resolve(self.device)),
        )  # fmt: skip
        return train_whole_batch(
            problem, solver, np.asarray(ravel(params), dtype=np.float64), X=X, w=w,
            net=net, net_state=self.layer_state_, dtype=dtype,
            history=self._history(), n_samples=n_samples, max_iter=self.max_iter,
            max_fun=self.max_fun, tol=self.tol, verbose=self.verbose,
            reporter=reporter,
        )  # fmt: skip

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

    def _regularization(self, dtype):
        """Traced penalty strengths."""
        scale = getattr(self, "_weight_scale", 1.0)  # see _prepare
        values = dict(alpha=self.alpha * scale, l1=self.l1 * scale,
                      entropy=self._entropy_reg)  # fmt: skip
        return _devices.to_device(values, dtype)

    _entropy_reg = 0.0

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

    def _output(self, X, params=None, state=None, dtype=None, logits=False):
        """Network output (after the output activation, before it with
        ``logits``) for validated ``X``, computed with the fitted architecture
        in chunks of rows (see :func:`skneural._predict.network_output`).
        Returns a numpy array of shape (n_samples, n_outputs) in ``X``'s
        float dtype.
        """
        if dtype is None:
            dtype = self._predict_dtype()
        devices = self._predict_devices()
        with precision(dtype), _devices.scope(devices):
            if params is None:
                params = _to_device(self._params(), dtype)
            if state is None:
                state = _to_device(self._net_state(), dtype)
            out = network_output(
                X, params, state, net=self._fitted_spec(), dtype=dtype,
                out_activation="identity" if logits else self._out_activation(),
                devices=devices,
            )  # fmt: skip
        return out.astype(_output_dtype(X), copy=False)

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
        check_representable(X, self._predict_dtype(), "X")
        return X

    def _decode_targets(self, y):
        """The targets the validation score compares (class labels for a
        classifier) from the validated ``y``."""
        return y

    @abstractmethod
    def _validation_scorer(self):
        """``score(output, y, sample_weight)``: the estimator's ``score`` on a
        network output (the validation score of early stopping)."""

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
