"""The fitted state of the estimators: what the trailing-underscore attributes hold.

:class:`FittedStateMixin` is the one place that writes the network's fitted
attributes: a fresh initialisation (:meth:`~FittedStateMixin._initialize`),
the result of a fit (:meth:`~FittedStateMixin._apply_result`), parameters
converted back from a pytree (:meth:`~FittedStateMixin._set_params_from`), and
the state a model whose ``coefs_`` and ``intercepts_`` were set by hand lacks
(:meth:`~FittedStateMixin._derive_missing_state`). All of it is plain numpy
arrays and Python scalars, so a fitted model pickles and loads anywhere.
"""

import jax
import numpy as np

from . import _network
from ._losses import LOSSES
from ._state import read_history, start_history, write_history


def _float_array(a, dtype=None):
    """``a`` as a numpy float array (``dtype``, else its own float dtype or
    float64): weights set by hand may be lists or integer arrays."""
    a = np.asarray(a)
    if dtype is None:
        dtype = a.dtype if a.dtype.kind == "f" else np.float64
    return a.astype(dtype, copy=False)


class FittedStateMixin:
    """Fitted attributes of BaseNeural: parameters, network state, history."""

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


    def _apply_result(self, result):
        """Store a :class:`~skneural._driver.TrainingResult` as the fitted
        attributes."""
        if result.params is not None:
            self._set_params_from(result.params, result.net_state)
        if result.opt_state is not None:
            self._optimizer_state = result.opt_state
        write_history(self, result.history)

    def _history(self):
        """The training history the next fit continues from."""
        return read_history(self)
