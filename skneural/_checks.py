"""Checks of parameters shared by the estimators (beyond their constraints)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.sparse as sp
from sklearn.utils._param_validation import InvalidParameterError, StrOptions
from sklearn.utils.validation import check_array, check_non_negative

from ._activations import ACTIVATIONS, LAYER_ACTIVATIONS, STEP_FUNCTIONS, Activation
from ._messages import did_you_mean, one_of
from .solvers import SOLVERS, Solver


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


def check_representable(a, dtype, name):
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




def _name_error(est, param, expected, value, names):
    """scikit-learn's InvalidParameterError, with the closest name."""
    return InvalidParameterError(
        f"The {param!r} parameter of {type(est).__name__} must be {expected}. "
        f"Got {value!r} instead." + did_you_mean(value, names)
    )


def check_names(est):
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


def warn_single_class(binarizer):
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


def check_callable_activations(net):
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
