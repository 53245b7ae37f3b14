"""
Exercise: the price of a coffee
===============================

A regression exercise: predict the price of a coffee from
the cup size, the number of add-ons (0 to 3: syrup, extra shot, ...) and
whether it is taken away. The data are generated here from a made-up price
list with a few nonlinear rules, and :class:`skneural.NeuralRegressor` with
a small funnel-shaped architecture -- ``hidden_layer_sizes=(16, 8, 4)``, ReLU, Adam,
``batch_size=64`` -- learns it back from noisy receipts.
"""

# %%
# The price list and the receipts
# -------------------------------
# Small, medium and large cups (250, 350 and 450 ml) cost 2.50, 3.10 and
# 3.60. Add-ons cost 0.45 each, but the third is free. Taking the coffee away
# adds a 0.20 cup fee, except for large cups, which are 10% cheaper to go.
# Receipts are rounded to 5 cents and carry a little noise (staff discounts,
# mistakes).
import numpy as np

rng = np.random.RandomState(0)
SIZES_ML = np.array([250, 350, 450])
BASE = {250: 2.50, 350: 3.10, 450: 3.60}


def list_price(size_ml, add_ons, take_away):
    base = np.vectorize(BASE.get)(size_ml)
    extras = 0.45 * np.minimum(add_ons, 2)
    price = base + extras
    large_to_go = (size_ml == 450) & (take_away == 1)
    return np.where(large_to_go, 0.9 * price, price + 0.20 * take_away)


n = 400
size_ml = rng.choice(SIZES_ML, size=n, p=[0.3, 0.45, 0.25])
add_ons = rng.randint(0, 4, size=n)
take_away = rng.randint(0, 2, size=n)
X = np.c_[size_ml, add_ons, take_away].astype(float)
price = list_price(size_ml, add_ons, take_away) + rng.normal(scale=0.05, size=n)
y = np.round(price * 20) / 20

for row, p in zip(X[:5].astype(int), y[:5]):
    print(f"size {row[0]} ml, {row[1]} add-ons, take-away {row[2]}: {p:.2f}")

# %%
# Fit the network
# ---------------
# The inputs are standardised in a pipeline, and the prices too, through
# :class:`~sklearn.compose.TransformedTargetRegressor`: a network trains best
# when its targets are of order one. With the default ``tol`` training would
# stop after about 130 epochs, when the loss improves only slowly; here it
# runs the full ``max_iter=1000`` epochs, which takes a second or two.
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import NeuralRegressor

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)

network = TransformedTargetRegressor(
    regressor=make_pipeline(
        StandardScaler(),
        NeuralRegressor(
            hidden_layer_sizes=(16, 8, 4),
            activation="relu",
            solver="adam",
            random_state=42,
            max_iter=1000,
            batch_size=64,
            tol=0.0,  # train all 1000 epochs: do not stop when progress slows
            n_iter_no_change=1000,
        ),
    ),
    transformer=StandardScaler(),
).fit(X_train, y_train)
linear = LinearRegression().fit(X_train, y_train)

for name, model in [("NeuralRegressor", network), ("LinearRegression", linear)]:
    mae = mean_absolute_error(y_test, model.predict(X_test))
    print(
        f"{name:>16}: R2 {model.score(X_test, y_test):.3f}, mean error {100 * mae:.1f} cents"
    )
print("epochs:", network.regressor_[-1].n_iter_)

# %%
# The learned price list
# ----------------------
# Predicted prices for every order, against the list price (lines). The
# linear model cannot represent the free third add-on or the take-away rule
# for large cups; the network can.
import matplotlib.pyplot as plt

grid_add_ons = np.arange(4)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, to_go in zip(axes, [0, 1]):
    for size, color in zip(SIZES_ML, ["tab:blue", "tab:orange", "tab:green"]):
        orders = np.c_[np.full(4, size), grid_add_ons, np.full(4, to_go)].astype(float)
        ax.plot(
            grid_add_ons,
            list_price(orders[:, 0], orders[:, 1], orders[:, 2]),
            color=color,
            label=f"{size} ml: list price",
        )
        ax.plot(
            grid_add_ons,
            network.predict(orders),
            "o",
            color=color,
            label=f"{size} ml: network",
        )
        ax.plot(grid_add_ons, linear.predict(orders), "x", color=color, alpha=0.6)
    ax.set_xticks(grid_add_ons)
    ax.set_xlabel("add-ons")
    ax.set_title("take-away" if to_go else "to drink in")
axes[0].set_ylabel("price")
axes[0].legend(fontsize="small")
fig.suptitle("Dots: NeuralRegressor, crosses: LinearRegression")
fig.tight_layout()
plt.show()
