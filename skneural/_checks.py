"""Checks of parameters shared by the estimators (beyond their constraints)."""

import numpy as np
from sklearn.utils.validation import check_array, check_non_negative


def check_class_weight(class_weight):
    """Raise unless a dict ``class_weight``'s values are finite and >= 0.

    The errors are those of ``sample_weight`` (which the class weights
    multiply): scikit-learn's for NaN, infinite and negative values.
    """
    if not isinstance(class_weight, dict) or not class_weight:
        return
    values = check_array(
        np.asarray(list(class_weight.values()), dtype=np.float64),
        ensure_2d=False,
        input_name="class_weight",
    )
    check_non_negative(values, "`class_weight`")


def compute_dtype(dtype):
    """The ``dtype`` parameter as a numpy dtype: 'float32', 'float64', a numpy
    dtype or a type object (``np.float64``); None stays None."""
    if dtype is None:
        return None
    try:
        value = np.dtype(dtype)
    except TypeError:
        value = None
    if value not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            "dtype must be 'float32', 'float64' (a string, a numpy dtype or "
            f"type such as np.float64) or None; got {dtype!r}."
        )
    return value


#: Hyperparameters below 1 whose distance to 1 is what matters (``1 - beta``
#: weights the newest gradient): they must not round to 1.
_BELOW_ONE = {"beta_1", "beta_2", "b1", "b2", "rho", "rho_step", "momentum", "decay"}


def check_hyperparams(hyper, dtype):
    """Raise if a solver hyperparameter changes meaning in ``dtype``.

    The numeric hyperparameters of stepwise solvers live in the optimizer
    state in the compute dtype: in float32, ``beta_2=1 - 1e-12`` becomes 1
    (and Adam's bias correction divides by 0) and ``epsilon=1e-50`` becomes 0.
    """
    dtype = np.dtype(dtype)
    for name, value in hyper.items():
        value = float(value)
        cast = float(np.asarray(value, dtype=dtype))
        if (value != 0 and cast == 0) or (name in _BELOW_ONE and value < 1 == cast):
            raise ValueError(
                f"{name}={value!r} rounds to {cast!r} in {dtype}, the precision "
                "this model computes in, which changes its meaning. Use "
                "dtype='float64' or a value that float32 can tell from "
                f"{'0' if cast == 0 else '1'}."
            )


def check_transformation(tx, params):
    """Raise a clear error for an optax solver that cannot train the network.

    ``tx`` is tried on abstract values (nothing is computed): an object whose
    ``init`` and ``update`` are not functions, and transformations whose
    ``update`` needs more than the gradient (``optax.lbfgs``,
    ``optax.polyak_sgd``: the objective's value and function, for line
    searches on a fixed objective), are refused.
    """
    import jax

    functions = [getattr(tx, name, None) for name in ("init", "update")]
    if not all(callable(f) for f in functions):
        raise TypeError(
            "solver must be a working optax.GradientTransformation, whose init "
            f"and update are functions; got {tx!r}."
        )
    try:
        state = jax.eval_shape(tx.init, params)
        jax.eval_shape(lambda g, s, p: tx.update(g, s, p), params, state, params)
    except TypeError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "missing" in message and "argument" in message:
            raise TypeError(
                "This optax transformation needs more than the gradient in its "
                f"update ({message}): it is a line-search method for a fixed "
                "objective, which minibatch training does not have. Use "
                "solver='lbfgs' (L-BFGS on the whole data) or another whole-batch "
                "solver instead."
            ) from None
        raise TypeError(
            f"The optax transformation given as solver failed on the network's "
            f"parameters: {message}"
        ) from None
