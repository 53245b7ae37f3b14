"""Docstring fragments shared by NeuralClassifier and NeuralRegressor.

The lists of names in them (activations, layer types, step functions,
solvers) are built from the registries when this module is imported, and so
are the reStructuredText tables of the user guide (:func:`registry_rst`, used
by the ``skneural-registry`` directive in ``docs/sphinxext``).
"""

import textwrap

from ._activations import ACTIVATIONS, LAYER_ACTIVATIONS, STEP_FUNCTIONS
from ._losses import LOSSES
from .solvers import SOLVERS

#: scikit-learn's MLP activations, listed first.
SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
#: scikit-learn's MLP solvers, built from the MLP-style parameters.
SKLEARN_SOLVERS = ("adam", "sgd", "lbfgs")

_INDENT = " " * 8


def _quoted(names):
    return [f"'{n}'" for n in names]


def _and(items):
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _fill(text):
    return textwrap.fill(
        text, width=78, initial_indent=_INDENT, subsequent_indent=_INDENT,
        break_long_words=False, break_on_hyphens=False,
    )  # fmt: skip


def activation_groups(registry=None):
    """Names of the elementwise activations grouped by entry (aliases share
    one), in registry order.

    Parameters
    ----------
    registry : dict or None
        Name -> entry; None for :data:`skneural._activations.ACTIVATIONS`.

    Returns
    -------
    list of list of str
    """
    registry = ACTIVATIONS if registry is None else registry
    groups = {}
    for name, entry in registry.items():
        groups.setdefault(id(entry), []).append(name)
    return list(groups.values())


def activation_param_doc():
    """The ``activation`` parameter's entry, built from the registries."""
    groups = activation_groups()
    sklearn = [n for n in SKLEARN_ACTIVATIONS if n in ACTIVATIONS]
    others, aliases = [], []
    for group in groups:
        if any(n in sklearn for n in group):
            aliases += [n for n in group if n not in sklearn]
        else:
            others.append("/".join(_quoted(group)))
    names = ", ".join(_quoted(sklearn)) + " as in scikit-learn"
    if others or aliases:
        names += ", and " + ", ".join(others + _quoted(aliases))
    layers = [
        f"'{name}'" + (f" ({entry.summary})" if entry.summary else "")
        for name, entry in LAYER_ACTIVATIONS.items()
    ]
    text = f"Activation of the hidden layers: a name ({names}"
    if layers:
        text += ", and the layer activations " + _and(layers)
    text += (
        "), an :class:`~skneural.Activation` for non-default arguments (e.g. "
        "the slope of 'leaky_relu'), any jax-traceable elementwise callable, "
        "or a list with one of these per hidden layer."
    )
    if STEP_FUNCTIONS:
        text += (
            f" The step functions {_and(_quoted(STEP_FUNCTIONS))} have no "
            "gradient and are rejected: use :class:`~skneural.Perceptron`."
        )
    return (
        "    activation : str, Activation, callable or list, default='relu'\n"
        + _fill(text)
        + "\n\n"
    )


def solver_param_doc():
    """The ``solver`` parameter's entry, built from
    :data:`skneural.solvers.SOLVERS`."""
    sklearn = ", ".join(_quoted(n for n in SKLEARN_SOLVERS if n in SOLVERS))
    others = ", ".join(_quoted(n for n in SOLVERS if n not in SKLEARN_SOLVERS))
    text = (
        f"The training algorithm. Names: {sklearn} as in scikit-learn, built "
        "from this estimator's MLP-style parameters (``learning_rate_init``, "
        "``momentum``, ``nesterovs_momentum``, ``beta_1``, ``beta_2``, "
        "``epsilon``), and the other keys of :data:`skneural.solvers.SOLVERS` "
        f"({others}), built with their defaults. A solver object from "
        ":mod:`skneural.solvers` carries its own hyperparameters (searchable as "
        "``solver__learning_rate`` etc.); any ``optax.GradientTransformation`` "
        "is used as a minibatch solver, except those whose update needs the "
        "objective's value or function (``optax.lbfgs``, ``optax.polyak_sgd``: "
        "line searches on a fixed objective), which are refused in favour of "
        "the whole-batch solvers such as 'lbfgs'."
    )
    return (
        "    solver : str, solver object or optax.GradientTransformation, "
        "default='adam'\n" + _fill(text) + "\n\n"
    )


_COMMON_PARAMS_DOC = (
    """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.

"""
    + activation_param_doc()
    + solver_param_doc()
    + """    alpha : float, default=0.0001
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
)

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


def _arguments_rst(entry):
    """``name`` :math:`symbol` (default), ... for an activation entry."""
    symbols = getattr(entry, "symbols", {})
    cells = []
    for name, default in getattr(entry, "defaults", {}).items():
        symbol = f" :math:`{symbols[name]}`" if name in symbols else ""
        cells.append(f"``{name}``{symbol} ({default!r})")
    return ", ".join(cells)


def _first_line(obj):
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _cell(text, first=False):
    prefix = "   * -" if first else "     -"
    return f"{prefix} {text}" if text else prefix


def _activations_rst():
    """The list-table of the elementwise activations (aliases on one row)."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 22 44 18 16",
        "",
        _cell("name", first=True),
        _cell(":math:`g(x)`"),
        _cell("arguments (default)"),
        _cell("reference"),
    ]
    for group in activation_groups():
        entry = ACTIVATIONS[group[0]]
        lines += [
            _cell(", ".join(f'``"{n}"``' for n in group), first=True),
            _cell(getattr(entry, "formula", "") or _first_line(entry)),
            _cell(_arguments_rst(entry)),
            _cell(getattr(entry, "reference", "")),
        ]
    return lines


def _layer_activations_rst():
    """A definition list of the layer activations."""
    lines = []
    for name, entry in LAYER_ACTIVATIONS.items():
        text = entry.description or entry.summary
        if entry.reference:
            text += f" See {entry.reference}."
        lines += [f'``"{name}"``', "    " + text]
    return lines


def registry_names(kind):
    """Names of one registry, for the inline lists of the documentation.

    Parameters
    ----------
    kind : str
        'activations', 'layer-activations', 'step-functions', 'solvers',
        'solvers-other' (those not in scikit-learn), 'solvers-whole-batch',
        'solvers-stepwise', 'losses',
        'losses-regression' (identity or exp output) or 'losses-classification'.

    Returns
    -------
    list of str
    """
    if kind == "activations":
        return list(ACTIVATIONS)
    if kind == "layer-activations":
        return list(LAYER_ACTIVATIONS)
    if kind == "step-functions":
        return list(STEP_FUNCTIONS)
    if kind == "solvers":
        return list(SOLVERS)
    if kind == "solvers-other":
        return [n for n in SOLVERS if n not in SKLEARN_SOLVERS]
    if kind == "solvers-whole-batch":
        return [n for n, cls in SOLVERS.items() if cls.whole_batch]
    if kind == "solvers-stepwise":
        return [n for n, cls in SOLVERS.items() if not cls.whole_batch]
    if kind == "losses":
        return list(LOSSES)
    regression = [n for n, loss in LOSSES.items()
                  if loss.out_activation in ("identity", "exp")]  # fmt: skip
    if kind == "losses-regression":
        return regression
    if kind == "losses-classification":
        return [n for n in LOSSES if n not in regression]
    raise ValueError(f"Unknown registry {kind!r}.")


def registry_rst(kind):
    """reStructuredText lines rendering a registry in the user guide.

    Parameters
    ----------
    kind : {'activations', 'layer-activations'}
        The elementwise activations (a table of formulas, arguments and
        references) or the layer activations (a definition list).

    Returns
    -------
    list of str
    """
    if kind == "activations":
        return _activations_rst()
    if kind == "layer-activations":
        return _layer_activations_rst()
    raise ValueError(f"Unknown registry table {kind!r}.")
